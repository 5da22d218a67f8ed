// Payload-layer cases (server role): the four payload types, a payload version the
// endpoint must refuse, and the switch to 48-bit offsets above 0xFFFFFF.
import { bitField, spec, type MessageName } from '@qotp/spec';
import { encodePayload, maxUserData, type Payload } from '@qotp/reference';
import {
  ackDatagrams,
  acksSeen,
  autoAck,
  type CaseContext,
  type CaseDefinition,
  dataPayload,
  equal,
  expectAcknowledged,
  expectAlive,
  expectDropped,
  handshake,
  onConnection,
  type Open,
  pattern,
  probePayload,
  received,
  REPLY_MS,
  text,
  waitUntil,
  WINDOW,
} from '../kit/index.js';

const PAYLOAD_VERSION = bitField(spec.payload.header, 'version');
const WIDE = bitField(spec.payload.header, 'wideOffsets');
const NARROW_MAX = spec.payload.offsetWidths.narrowMax;

const ackOf = (open: Open, streamId: number, offset: number, length: number) =>
  ackDatagrams(open, streamId).find(
    (d) => d.decoded?.payload?.ack?.offset === offset && d.decoded.payload.ack.length === length,
  );

/**
 * Fails unless every datagram the endpoint sent on the connection fits its MTU; notes the
 * largest user data it put in a packet of each message type, against what would fit.
 */
function checkPacketSizes(ctx: CaseContext, open: Open): void {
  const mtu = ctx.endpoint.mtu;
  const all = open.peer.incoming(0).filter((d) => d.bytes.length >= 9 && d.decoded?.connId === open.conn.connId);
  const over = all.filter((d) => d.bytes.length > mtu);
  ctx.expect(
    'payload.max-data',
    over.length === 0,
    `${over.length} of the endpoint's datagrams are longer than its MTU of ${mtu} bytes (the first: ` +
      `a ${over[0]?.decoded?.type} of ${over[0]?.bytes.length} bytes)`,
  );
  const largest = new Map<MessageName, number>();
  for (const d of all) {
    if (d.decoded === null) continue;
    largest.set(
      d.decoded.type,
      Math.max(largest.get(d.decoded.type) ?? 0, d.decoded.payload?.stream?.data.length ?? 0),
    );
  }
  const sizes = [...largest].map(([type, n]) => `${type} ${n} bytes (at most ${maxUserData(mtu, type, 0, null)} fit)`);
  ctx.note(`largest user data the endpoint sent per packet: ${sizes.join(', ')}`);
}

export const payloadCases: CaseDefinition[] = [
  onConnection(
    {
      id: 'payload.largest-data',
      title: 'Data packets that fill the MTU exactly are accepted, and no datagram of the endpoint exceeds its MTU',
      clauses: ['payload.max-data', 'stream.ordered-delivery'],
    },
    async (ctx: CaseContext, open: Open) => {
      const mtu = ctx.endpoint.mtu;
      const first = maxUserData(mtu, 'Data', 0, null);
      const second = maxUserData(mtu, 'Data', first, 0);
      const wideAt = NARROW_MAX + 6;
      const data = pattern(first + second, 3);
      const ack = { streamId: 0, offset: 0, length: 0, window: WINDOW };
      const sent = [
        open.peer.send(
          open.conn.data(dataPayload(21, 0, data.subarray(0, first))),
          `DATA stream 21, ${first} bytes: the datagram is the MTU`,
        ),
        open.peer.send(
          open.conn.data({ isClose: false, ack, stream: { streamId: 21, offset: first, data: data.subarray(first) } }),
          `DATA with ACK stream 21 at ${first}, ${second} bytes: the MTU`,
        ),
      ];
      const wide = pattern(maxUserData(mtu, 'Data', wideAt, null), 4);
      sent.push(
        open.peer.send(
          open.conn.data(dataPayload(22, wideAt, wide)),
          `DATA stream 22 at ${wideAt} (48-bit offsets), ${wide.length} bytes: the MTU`,
        ),
      );
      for (const d of sent)
        if (d.bytes.length !== mtu)
          throw new Error(`the tester built a ${d.bytes.length}-byte datagram where the MTU of ${mtu} was meant`);
      const got = await received(open, 21, data.length, REPLY_MS * 2);
      ctx.expect(
        'payload.max-data',
        equal(got, data),
        `of two MTU-sized segments (${first} and ${second} bytes of data, the second with an ACK ` +
          `section) ${got.length} of ${data.length} bytes came back intact`,
      );
      await expectAcknowledged(
        ctx,
        open,
        'payload.max-data',
        { streamId: 22, offset: wideAt, data: wide, isClose: false },
        'the MTU-sized segment with 48-bit offsets',
      );
      checkPacketSizes(ctx, open);
    },
  ),
  {
    id: 'payload.largest-data-0rtt',
    title: 'An InitCryptoSnd whose data fills the MTU exactly (no filler) is accepted and its data echoed',
    clauses: ['payload.max-data', 'crypto.init-crypto-snd.filler'],
    level: 'MUST',
    role: 'server',
    requires: ['zeroRtt'],
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const data = pattern(maxUserData(ctx.endpoint.mtu, 'InitCryptoSnd', 0, null), 5);
      const open = await handshake(ctx, { zeroRtt: data, unanswered: 'payload.max-data' });
      autoAck(open);
      ctx.expect(
        'payload.max-data',
        open.first.bytes.length === ctx.endpoint.mtu,
        `the tester's InitCryptoSnd is ${open.first.bytes.length} bytes, not the MTU`,
      );
      // A responder may hold its echo until a Data packet shows the handshake completed
      // (the Go original does), so the tester confirms as an initiator should.
      open.peer.send(
        open.conn.data(dataPayload(1, 0, new Uint8Array(0))),
        'PING in a Data packet: the handshake completed',
      );
      const got = await received(open, 0, data.length, REPLY_MS * 2);
      ctx.expect(
        'payload.max-data',
        equal(got, data),
        `of the ${data.length} bytes of 0-RTT data (filler length 0) ${got.length} came back intact`,
      );
      checkPacketSizes(ctx, open);
    },
  },
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
        [
          'DATA with ACK (type 0)',
          11,
          { isClose: false, ack, stream: { streamId: 11, offset: 0, data: text('type 0') } },
        ],
        ['DATA (type 1)', 12, { isClose: false, ack: null, stream: { streamId: 12, offset: 0, data: text('type 1') } }],
        [
          'CLOSE with ACK (type 2)',
          13,
          { isClose: true, ack, stream: { streamId: 13, offset: 0, data: text('type 2') } },
        ],
        ['CLOSE (type 3)', 14, { isClose: true, ack: null, stream: { streamId: 14, offset: 0, data: text('type 3') } }],
      ];
      for (const [what, , payload] of variants) open.peer.send(open.conn.data(payload), what);
      await waitUntil(open.peer, () => variants.every(([, id]) => ackOf(open, id, 0, 6) !== undefined), REPLY_MS);
      for (const [what, id] of variants)
        ctx.expect(
          'payload.types',
          ackOf(open, id, 0, 6) !== undefined,
          `the ${what} segment on stream ${id} was not acknowledged (expected an ACK of stream ${id}, offset ` +
            `0, length 6; ${acksSeen(open, id)})`,
          { expected: `ACK stream ${id} offset 0 length 6`, observed: acksSeen(open, id) },
        );
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
      await expectDropped(
        ctx,
        open,
        open.conn.data(plaintext),
        'Data whose payload header says version 1',
        'payload.header.version',
      );
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
      open.peer.send(
        open.conn.data({ isClose: false, ack: null, stream: { streamId: 9, offset: far, data: pattern(100) } }),
        `DATA stream 9 at offset ${far} (48-bit)`,
      );
      open.peer.send(
        open.conn.data({ isClose: false, ack: null, stream: { streamId: 10, offset: near, data: pattern(100) } }),
        `DATA stream 10 at offset ${near} (24-bit)`,
      );
      await waitUntil(
        open.peer,
        () => ackOf(open, 9, far, 100) !== undefined && ackOf(open, 10, near, 100) !== undefined,
        REPLY_MS,
      );
      const wideAck = ackOf(open, 9, far, 100);
      ctx.expect(
        'payload.offset.width',
        wideAck !== undefined,
        `no ACK with offset ${far} (0x${far.toString(16)}) for the segment on stream 9`,
      );
      ctx.expect(
        'payload.offset.width',
        (((wideAck.decoded?.payloadHeader ?? 0) >> WIDE.shift) & 1) === 1,
        `the ACK of offset 0x${far.toString(16)} does not set the 48-bit flag`,
      );
      const narrowAck = ackOf(open, 10, near, 100);
      ctx.expect(
        'payload.ack.layout',
        narrowAck !== undefined,
        `no ACK with offset ${near} for the segment on stream 10`,
      );
      const wideWithoutNeed = ((narrowAck.decoded?.payloadHeader ?? 0) >> WIDE.shift) & 1;
      ctx.expect(
        'payload.offset.width',
        wideWithoutNeed === 0 || (narrowAck.decoded?.payload?.stream?.offset ?? 0) > NARROW_MAX,
        'a packet whose offsets all fit in 24 bits sets the 48-bit flag',
      );
    },
  ),
];
