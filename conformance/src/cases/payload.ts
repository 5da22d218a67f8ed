// Payload-layer cases (server role): the four payload types, a payload version the
// endpoint must refuse, and the switch to 48-bit offsets above 0xFFFFFF.
import { bitField, spec } from '@qotp/spec';
import { encodePayload, type Payload } from '@qotp/reference';
import type { CaseContext, CaseDefinition } from './case.js';
import { expectDropped } from './encryption.js';
import { ackDatagrams, acksSeen, expectAlive, onConnection, type Open, pattern, probePayload, REPLY_MS, text, waitUntil, WINDOW } from './helpers.js';

const PAYLOAD_VERSION = bitField(spec.payload.header, 'version');
const WIDE = bitField(spec.payload.header, 'wideOffsets');
const NARROW_MAX = spec.payload.offsetWidths.narrowMax;

const ackOf = (open: Open, streamId: number, offset: number, length: number) =>
  ackDatagrams(open, streamId).find((d) => d.decoded?.payload?.ack?.offset === offset && d.decoded.payload.ack.length === length);

export const payloadCases: CaseDefinition[] = [
  onConnection(
    {
      id: 'payload.types',
      title: 'Segments of each payload type (DATA and CLOSE, with and without ACK) are accepted and acknowledged',
      clauses: ['payload.types', 'payload.header.layout', 'ack.segment'],
    },
    async (ctx: CaseContext, open: Open) => {
      // An ACK section that acknowledges nothing new (stream 0 holds no data of the endpoint yet).
      const ack = { streamId: 0, offset: 0, length: 0, window: WINDOW };
      const variants: [string, number, Payload][] = [
        ['DATA with ACK (type 0)', 11, { isClose: false, ack, stream: { streamId: 11, offset: 0, data: text('type 0') } }],
        ['DATA (type 1)', 12, { isClose: false, ack: null, stream: { streamId: 12, offset: 0, data: text('type 1') } }],
        ['CLOSE with ACK (type 2)', 13, { isClose: true, ack, stream: { streamId: 13, offset: 0, data: text('type 2') } }],
        ['CLOSE (type 3)', 14, { isClose: true, ack: null, stream: { streamId: 14, offset: 0, data: text('type 3') } }],
      ];
      for (const [what, , payload] of variants) open.peer.send(open.conn.data(payload), what);
      await waitUntil(open.peer, () => variants.every(([, id]) => ackOf(open, id, 0, 6) !== undefined), REPLY_MS);
      for (const [what, id] of variants) ctx.expect('payload.types', ackOf(open, id, 0, 6) !== undefined, `the ${what} segment on stream ${id} was not acknowledged (expected an ACK of stream ${id}, offset 0, length 6; ${acksSeen(open, id)})`, { expected: `ACK stream ${id} offset 0 length 6`, observed: acksSeen(open, id) });
    },
  ),
  onConnection(
    {
      id: 'payload.version',
      title: 'An authentic packet whose payload version is not 0 is dropped',
      clauses: ['payload.header.version', 'crypto.receive.no-crash'],
    },
    async (ctx: CaseContext, open: Open) => {
      const plaintext = encodePayload(probePayload(40));
      plaintext[0] = (plaintext[0] as number) | (1 << PAYLOAD_VERSION.shift);
      await expectDropped(ctx, open, open.conn.data(plaintext), 'Data whose payload header says version 1', 'payload.header.version');
      await expectAlive(ctx, open, 'crypto.receive.no-crash', 'a payload of version 1');
    },
  ),
  onConnection(
    {
      id: 'payload.offset-width',
      title: 'Offsets above 0xFFFFFF are sent with 48 bits, and only those',
      clauses: ['payload.offset.width', 'payload.ack.layout', 'wire.byte-order'],
    },
    async (ctx: CaseContext, open: Open) => {
      const far = NARROW_MAX + 6;
      const near = 1000;
      open.peer.send(open.conn.data({ isClose: false, ack: null, stream: { streamId: 9, offset: far, data: pattern(100) } }), `DATA stream 9 at offset ${far} (48-bit)`);
      open.peer.send(open.conn.data({ isClose: false, ack: null, stream: { streamId: 10, offset: near, data: pattern(100) } }), `DATA stream 10 at offset ${near} (24-bit)`);
      await waitUntil(open.peer, () => ackOf(open, 9, far, 100) !== undefined && ackOf(open, 10, near, 100) !== undefined, REPLY_MS);
      const wideAck = ackOf(open, 9, far, 100);
      ctx.expect('payload.offset.width', wideAck !== undefined, `no ACK with offset ${far} (0x${far.toString(16)}) for the segment on stream 9`);
      ctx.expect('payload.offset.width', (((wideAck.decoded?.payloadHeader ?? 0) >> WIDE.shift) & 1) === 1, `the ACK of offset 0x${far.toString(16)} does not set the 48-bit flag`);
      const narrowAck = ackOf(open, 10, near, 100);
      ctx.expect('payload.ack.layout', narrowAck !== undefined, `no ACK with offset ${near} for the segment on stream 10`);
      const wideWithoutNeed = ((narrowAck.decoded?.payloadHeader ?? 0) >> WIDE.shift) & 1;
      ctx.expect('payload.offset.width', wideWithoutNeed === 0 || (narrowAck.decoded?.payload?.stream?.offset ?? 0) > NARROW_MAX, 'a packet whose offsets all fit in 24 bits sets the 48-bit flag');
    },
  ),
];
