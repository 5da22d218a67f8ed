// Encryption cases (server role): the direction bit, SN masking and counting on what the
// endpoint sends; tampered, misdirected and misaddressed packets that it must drop.
import { headerSize } from '@qotp/spec';
import { headerByte, openPacket, QotpError, readUint, readUint64 } from '@qotp/reference';
import { describe } from '../capture/datagram.js';
import { withType, withVersion } from '@qotp/vectors';
import {
  type CaseContext,
  type CaseDefinition,
  echo,
  expectAlive,
  expectDropped,
  fromEndpoint,
  onConnection,
  onWarmConnection,
  type Open,
  pattern,
  PROBE_STREAM,
  probePayload,
  probeReactions,
  REPLY_MS,
  SILENCE_MS,
  waitUntil,
} from '../kit/index.js';

/** The stream of a probe that must not be answered, apart from PROBE_STREAM's. */
const FAR_PROBE_STREAM = PROBE_STREAM + 1;

function tamperCase(id: string, region: string, offsetOf: (length: number) => number): CaseDefinition {
  return onWarmConnection(
    {
      id: `encryption.tamper-${id}`,
      title: `A Data packet with one bit flipped in the ${region} is dropped and the connection survives`,
      clauses: ['crypto.aead.tamper', 'crypto.receive.no-crash'],
    },
    async (ctx: CaseContext, open: Open) => {
      const packet = open.conn.data(probePayload(40));
      const at = offsetOf(packet.length);
      packet[at] = (packet[at] as number) ^ 0x10;
      await expectDropped(ctx, open, packet, `Data with bit 4 of byte ${at} (${region}) flipped`, 'crypto.aead.tamper');
      await expectAlive(ctx, open, 'crypto.receive.no-crash', `a tampered packet (${region})`);
    },
  );
}

function headerCase(id: string, title: string, clause: string, header: (byte: number) => number): CaseDefinition {
  return onWarmConnection(
    { id: `encryption.${id}`, title, clauses: [clause, 'crypto.receive.no-crash'] },
    async (ctx: CaseContext, open: Open) => {
      const packet = open.conn.data(probePayload(40));
      packet[0] = header(packet[0] as number);
      await expectDropped(
        ctx,
        open,
        packet,
        `Data with header byte 0x${packet[0]?.toString(16).padStart(2, '0')}`,
        clause,
      );
      await expectAlive(ctx, open, 'crypto.receive.no-crash', 'a packet with a bad header byte');
    },
  );
}

const DATA_HEADER = headerSize('Data');

export const encryptionCases: CaseDefinition[] = [
  onConnection(
    {
      id: 'encryption.direction-bit',
      title: "The endpoint's Data packets are sealed with the responder's direction bit",
      clauses: ['crypto.nonce.direction-bit'],
    },
    async (ctx: CaseContext, open: Open) => {
      await echo(open, 0, pattern(6000));
      const secret = open.conn.secret as Uint8Array;
      const opensAs = (bytes: Uint8Array, sealedByInitiator: boolean) => {
        try {
          openPacket(bytes, DATA_HEADER, { secret, epoch: 0, sealedByInitiator });
          return true;
        } catch (e) {
          if (e instanceof QotpError) return false;
          throw e;
        }
      };
      const data = open.peer
        .incoming(0)
        .filter(
          (d) =>
            d.bytes[0] === headerByte('Data') && d.bytes.length >= 9 && readUint64(d.bytes, 1) === open.conn.connId,
        );
      ctx.expect(
        'crypto.nonce.direction-bit',
        data.length > 0,
        'the endpoint sent no Data packet during a 6000-byte echo',
      );
      const asInitiator = data.filter((d) => opensAs(d.bytes, true));
      ctx.expect(
        'crypto.nonce.direction-bit',
        asInitiator.length === 0,
        `${asInitiator.length} of ${data.length} Data packets are sealed with the initiator's direction bit ` +
          `(nonce byte 0 bit 7 set); the responder must clear it`,
      );
      const neither = data.filter((d) => !opensAs(d.bytes, false));
      ctx.expect(
        'crypto.nonce.direction-bit',
        neither.length === 0,
        `${neither.length} of ${data.length} Data packets do not open with the responder's direction ` +
          `bit: ${neither[0]?.error}`,
      );
      ctx.note(`${data.length} Data packets, all sealed with direction bit 0`);
    },
  ),
  onWarmConnection(
    {
      id: 'encryption.sn-masking',
      title: 'Sequence numbers on the wire are masked',
      clauses: ['crypto.sn.masking'],
    },
    async (ctx: CaseContext, open: Open) => {
      const sealed = fromEndpoint(open.peer, open.conn).filter((d) => d.decoded?.sn !== null);
      ctx.expect('crypto.sn.masking', sealed.length >= 3, `only ${sealed.length} encrypted packets to look at`);
      const clear = sealed.filter(
        (d) => d.decoded !== null && readUint(d.bytes, headerSize(d.decoded.type), 48) === d.decoded.sn,
      );
      ctx.expect(
        'crypto.sn.masking',
        clear.length === 0,
        `${clear.length} of ${sealed.length} packets carry their sequence number in clear (first: ` +
          `sn ${clear[0]?.decoded?.sn})`,
      );
    },
  ),
  onWarmConnection(
    {
      id: 'encryption.sn-counter',
      title: 'The endpoint numbers its packets from 0 upwards, one number per packet',
      clauses: ['crypto.sn.counter'],
    },
    async (ctx: CaseContext, open: Open) => {
      const sns = fromEndpoint(open.peer, open.conn).map((d) => d.decoded?.sn ?? -1);
      ctx.expect('crypto.sn.counter', sns[0] === 0, `the InitRcv has sequence number ${sns[0]}, expected 0`);
      const backwards = sns.findIndex((sn, i) => i > 0 && sn <= (sns[i - 1] as number));
      ctx.expect(
        'crypto.sn.counter',
        backwards < 0,
        `sequence number ${sns[backwards]} follows ${sns[backwards - 1]}: not increasing`,
      );
      const gaps = sns.filter((sn, i) => i > 0 && sn !== (sns[i - 1] as number) + 1).length;
      ctx.note(`${sns.length} packets, sequence numbers ${sns[0]}..${sns[sns.length - 1]}, ${gaps} gap(s)`);
    },
  ),
  tamperCase('conn-id', 'connection id', () => 3),
  tamperCase('sn', 'masked sequence number', () => DATA_HEADER + 2),
  tamperCase('ciphertext', 'ciphertext', (n) => DATA_HEADER + 6 + Math.floor((n - DATA_HEADER - 22) / 2)),
  tamperCase('tag', 'authentication tag', (n) => n - 1),
  headerCase('wrong-version', 'A Data packet with crypto version 1 is dropped', 'crypto.header.version', (b) =>
    withVersion(b, 1),
  ),
  headerCase('unknown-type-5', 'A packet of type 5 is dropped', 'crypto.header.unknown-type', (b) => withType(b, 5)),
  headerCase('unknown-type-7', 'A packet of type 7 is dropped', 'crypto.header.unknown-type', (b) => withType(b, 7)),
  onWarmConnection(
    {
      id: 'encryption.wrong-direction',
      title: "A Data packet sealed with the responder's direction bit (a reflection) is dropped",
      clauses: ['crypto.nonce.direction-bit', 'crypto.receive.no-crash'],
    },
    async (ctx: CaseContext, open: Open) => {
      await expectDropped(
        ctx,
        open,
        open.conn.data(probePayload(40), { sealedByInitiator: false }),
        "Data sealed with the responder's direction bit",
        'crypto.nonce.direction-bit',
      );
      await expectAlive(ctx, open, 'crypto.receive.no-crash', 'a packet with the wrong direction bit');
    },
  ),
  onWarmConnection(
    {
      id: 'encryption.next-epoch',
      title:
        'A Data packet of the next epoch (a sender whose sequence number wrapped) is accepted; one two epochs ' +
        'ahead is dropped',
      clauses: ['crypto.epoch.decrypt-window', 'crypto.receive.no-crash'],
    },
    async (ctx: CaseContext, open: Open) => {
      // As if the tester's sequence number had passed 2^48-1: its next packets are sealed in
      // epoch 1. The endpoint, in receive epoch 0, must try epoch 1 after 0 and accept it:
      // it acknowledges the probe or echoes it (the Go original v0.2.18 may discard the ACK
      // during pacing, G8, but not the echo).
      const next = open.peer.send(
        open.conn.data(probePayload(40), { epoch: 1 }),
        'Data sealed in epoch 1, as after a sequence-number wrap',
      ).index;
      const onProbe = (streamId: number, since: number) =>
        fromEndpoint(open.peer, open.conn, since).filter(
          (d) => d.decoded?.payload?.ack?.streamId === streamId || d.decoded?.payload?.stream?.streamId === streamId,
        );
      await waitUntil(
        open.peer,
        () => onProbe(PROBE_STREAM, next).some((d) => (d.decoded?.payload?.stream?.data.length ?? 0) > 0),
        REPLY_MS,
      );
      ctx.expect(
        'crypto.epoch.decrypt-window',
        onProbe(PROBE_STREAM, next).length > 0,
        `a Data packet sealed in the next epoch (1) was neither acknowledged nor echoed within ${REPLY_MS} ms: ` +
          `the endpoint did not try the next epoch`,
      );
      // Receive epoch 1 now: epoch 3 is two ahead and must not open (a probe of its own stream).
      const far = open.peer.send(
        open.conn.data(probePayload(40, FAR_PROBE_STREAM), { epoch: 3 }),
        'Data sealed in epoch 3, two epochs past the receive epoch',
      ).index;
      await open.peer.collect(SILENCE_MS);
      const accepted = onProbe(FAR_PROBE_STREAM, far);
      ctx.expect(
        'crypto.epoch.decrypt-window',
        accepted.length === 0,
        `Data sealed in epoch 3, two epochs past the receive epoch, was accepted: the endpoint answered ` +
          `with ${accepted[0] ? describe(accepted[0]) : ''}`,
      );
      await expectAlive(ctx, open, 'crypto.receive.no-crash', 'packets of later epochs');
    },
  ),
  onWarmConnection(
    {
      id: 'encryption.unknown-connection',
      title: 'A Data packet for an unknown connection id is dropped, and not answered under any connection id',
      clauses: ['crypto.receive.no-crash', 'crypto.data.layout'],
    },
    async (ctx: CaseContext, open: Open) => {
      // Sealed with this connection's keys under another id, so that an endpoint that finds
      // the connection some other way (by the source address, say) can open it and answer
      // on the connection it guessed.
      const unknown = open.conn.connId ^ 0x5a5a5a5a5a5a5a5an;
      const since = open.peer.send(
        open.conn.data(probePayload(40), { connId: unknown }),
        'Data for an unknown connection id, sealed with the keys of the open connection',
      ).index;
      const answers = await open.peer.collect(
        SILENCE_MS,
        (d) => d.bytes.length >= 9 && readUint64(d.bytes, 1) === unknown,
      );
      ctx.expect(
        'crypto.data.layout',
        answers.length === 0,
        `a packet for an unknown connection id was answered with ${answers.length} datagram(s) under that id`,
      );
      const onOurs = probeReactions(open.peer, open.conn, since);
      ctx.expect(
        'crypto.data.layout',
        onOurs.length === 0,
        `a packet for an unknown connection id was answered on the open ` +
          `connection ${open.conn.connId.toString(16)}: ${onOurs[0] ? describe(onOurs[0]) : ''}`,
      );
      await expectAlive(ctx, open, 'crypto.receive.no-crash', 'a packet for an unknown connection');
    },
  ),
];
