// Handshake cases, endpoint as responder (server role): the in-band and 0-RTT handshakes,
// the amplification rule for short first packets, a duplicated InitSnd, the connection id.
import { constant, fieldOffset, headerSize } from '@qotp/spec';
import { headerByte, readUint64 } from '@qotp/reference';
import { PeerConnection } from '../peer/peer-connection.js';
import {
  ackOnly,
  autoAck,
  type CaseContext,
  type CaseDefinition,
  dataPayload,
  echo,
  equal,
  expectAlive,
  fromEndpoint,
  handshake,
  onConnection,
  type Open,
  pattern,
  PROBE_STREAM,
  probePayload,
  probeReactions,
  received,
  REPLY_MS,
  RTO_WAIT_MS,
  SILENCE_MS,
  text,
} from '../kit/index.js';
import type { Datagram } from '../capture/datagram.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * The first reply acknowledges the first packet: an InitSnd as an empty segment on stream 0
 * at offset 0, an InitCryptoSnd's data as the segment it is (handshake.init-snd-repeat).
 */
function expectReplyAck(ctx: CaseContext, open: Open, length: number): void {
  const ack = open.reply.decoded?.payload?.ack ?? null;
  const seen =
    ack === null ? 'no ACK section' : `an ACK of stream ${ack.streamId}, offset ${ack.offset}, length ${ack.length}`;
  ctx.expect(
    'handshake.init-snd-repeat',
    ack !== null && ack.streamId === 0 && ack.offset === 0 && ack.length === length,
    `the ${open.reply.decoded?.type} carries ${seen}; it must acknowledge the first packet: stream 0, offset ` +
      `0, length ${length}`,
    {
      expected: `ACK (0, 0, ${length})`,
      observed: ack === null ? 'no ACK' : `ACK (${ack.streamId}, ${ack.offset}, ${ack.length})`,
    },
  );
}

export const handshakeCases: CaseDefinition[] = [
  {
    id: 'handshake.in-band',
    title: 'InitSnd is answered by an InitRcv with the connection id, the keys and the reply secret',
    clauses: [
      'crypto.init-rcv.layout',
      'crypto.init-rcv.secret',
      'crypto.conn-id.initial',
      'handshake.init-snd-repeat',
      'harness.server-ready',
    ],
    level: 'MUST',
    role: 'server',
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const open = await handshake(ctx);
      const { reply, conn } = open;
      ctx.expect(
        'crypto.init-rcv.layout',
        reply.bytes[0] === headerByte('InitRcv'),
        `InitRcv header byte is 0x${reply.bytes[0]?.toString(16)}, expected 0x${headerByte('InitRcv').toString(16)}`,
      );
      ctx.expect(
        'crypto.conn-id.initial',
        readUint64(reply.bytes, fieldOffset('InitRcv', 'connId')) === conn.connId,
        'InitRcv names another connection id than the first 8 bytes of the InitSnd ephemeral key',
      );
      ctx.expect(
        'crypto.init-rcv.layout',
        reply.bytes.length >= headerSize('InitRcv') + constant('FooterDataSize') + constant('MinProtoSize'),
        `InitRcv of ${reply.bytes.length} bytes is shorter than its minimum`,
      );
      if (ctx.endpoint.publicKey !== null) {
        const announced = reply.bytes.subarray(
          fieldOffset('InitRcv', 'pubKeyIdRcv'),
          fieldOffset('InitRcv', 'pubKeyIdRcv') + 32,
        );
        ctx.expect(
          'crypto.init-rcv.layout',
          equal(announced, ctx.endpoint.publicKey),
          `InitRcv carries identity key ${hex(announced)}, the endpoint announced ${hex(ctx.endpoint.publicKey)}`,
        );
      }
      expectReplyAck(ctx, open, 0);
      autoAck(open);
      const data = pattern(3000);
      const got = await echo(open, 0, data);
      ctx.expect(
        'crypto.init-rcv.secret',
        equal(got, data),
        `Data sealed with the InitRcv secret was not echoed (${got.length} of ${data.length} bytes)`,
      );
    },
  },
  {
    id: 'handshake.0rtt',
    title: 'InitCryptoSnd with data is answered by an InitCryptoRcv and the data is delivered',
    clauses: [
      'crypto.init-crypto-snd.secret',
      'crypto.init-crypto-rcv.layout',
      'crypto.init-crypto-rcv.secret',
      'handshake.init-snd-repeat',
    ],
    level: 'MUST',
    role: 'server',
    requires: ['zeroRtt'],
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const first = text('0-RTT data in the first packet');
      const open = await handshake(ctx, { zeroRtt: first });
      ctx.expect(
        'crypto.init-crypto-rcv.layout',
        open.reply.bytes[0] === headerByte('InitCryptoRcv'),
        `InitCryptoRcv header byte is 0x${open.reply.bytes[0]?.toString(16)}, expected ` +
          `0x${headerByte('InitCryptoRcv').toString(16)}`,
      );
      ctx.expect(
        'crypto.init-crypto-rcv.layout',
        readUint64(open.reply.bytes, 1) === open.conn.connId,
        'InitCryptoRcv names another connection id',
      );
      expectReplyAck(ctx, open, first.length);
      autoAck(open);
      // A responder may hold its data until the initiator's first Data packet (only one
      // packet during the handshake), so the tester sends one right away, as a client would.
      const later = text('after the handshake');
      const laterEcho = await echo(open, 1, later);
      const got = await received(open, 0, first.length, REPLY_MS);
      ctx.expect(
        'crypto.init-crypto-snd.secret',
        equal(got, first),
        `the 0-RTT data was not echoed (${got.length} of ${first.length} bytes came back)`,
      );
      ctx.expect(
        'crypto.init-crypto-rcv.secret',
        equal(laterEcho, later),
        'Data sealed with the InitCryptoRcv secret was not echoed',
      );
    },
  },
  {
    id: 'handshake.responder-progress',
    title: 'A 0-RTT responder sends its echo although the initiator sends no Data packet',
    clauses: ['handshake.responder-progress'],
    level: 'SHOULD',
    role: 'server',
    requires: ['zeroRtt'],
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      // As if the initiator's only ACK of the reply was lost: the tester sends nothing after
      // its InitCryptoSnd, so the responder never sees a Data packet.
      const first = text('echoed without any Data packet from the initiator');
      const open = await handshake(ctx, { zeroRtt: first });
      const got = await received(open, 0, first.length, REPLY_MS);
      const carriers = fromEndpoint(open.peer, open.conn).filter(
        (d) => (d.decoded?.payload?.stream?.data.length ?? 0) > 0,
      );
      const carried = carriers.map(
        (d) => `${d.decoded?.type} at ${(d.t - open.reply.t).toFixed(0)} ms after the first reply`,
      );
      ctx.note(`the echo came in: ${carried.join(', ') || 'nothing'}`);
      ctx.expect(
        'handshake.responder-progress',
        equal(got, first),
        `${got.length} of ${first.length} bytes were echoed within ${REPLY_MS} ms while the tester sent ` +
          `nothing after its InitCryptoSnd`,
      );
    },
  },
  {
    id: 'handshake.init-snd-short',
    title: 'An InitSnd one byte shorter than the MTU is not answered (amplification)',
    clauses: ['crypto.init-snd.min-size'],
    level: 'MUST',
    role: 'server',
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const peer = await ctx.peer();
      const conn = peer.add(new PeerConnection('initiator'));
      peer.send(conn.initSnd(ctx.endpoint.mtu - 1), `InitSnd of ${ctx.endpoint.mtu - 1} bytes, one short of the MTU`);
      const answers = await peer.collect(SILENCE_MS, (d) => conn.owns(d.bytes));
      ctx.expect(
        'crypto.init-snd.min-size',
        answers.length === 0,
        `an InitSnd of ${ctx.endpoint.mtu - 1} bytes was answered with ${answers.length} datagram(s) ` +
          `of ${answers.map((d) => d.bytes.length).join(', ')} bytes`,
      );
      await handshake(ctx, { peer });
    },
  },
  {
    id: 'handshake.init-crypto-snd-short',
    title: 'An InitCryptoSnd one byte shorter than the MTU is not answered (amplification)',
    clauses: ['crypto.init-snd.min-size'],
    level: 'MUST',
    role: 'server',
    requires: ['zeroRtt'],
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const peer = await ctx.peer();
      const conn = peer.add(
        new PeerConnection('initiator', { peerIdentityPublicKey: ctx.endpoint.publicKey ?? new Uint8Array(32) }),
      );
      peer.send(
        conn.initCryptoSnd(dataPayload(0, 0, text('short')), ctx.endpoint.mtu - 1),
        `InitCryptoSnd of ${ctx.endpoint.mtu - 1} bytes`,
      );
      const answers = await peer.collect(SILENCE_MS, (d) => conn.owns(d.bytes));
      ctx.expect(
        'crypto.init-snd.min-size',
        answers.length === 0,
        `an InitCryptoSnd of ${ctx.endpoint.mtu - 1} bytes was answered with ${answers.length} datagram(s)`,
      );
      await handshake(ctx, { peer, zeroRtt: text('full size') });
    },
  },
  {
    id: 'handshake.init-snd-duplicate',
    title: 'A duplicated InitSnd is answered again, and neither breaks nor forks the connection',
    clauses: ['handshake.init-snd-repeat', 'crypto.conn-id.stable', 'crypto.receive.no-crash'],
    level: 'MUST',
    role: 'server',
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const open = await handshake(ctx);
      open.peer.send(open.first.bytes, 'the same InitSnd again');
      await open.peer.collect(SILENCE_MS);
      const replies = fromEndpoint(open.peer, open.conn).filter((d) => d.decoded?.type === 'InitRcv');
      ctx.note(`${replies.length} InitRcv for 2 InitSnd`);
      ctx.expect(
        'handshake.init-snd-repeat',
        replies.length >= 2,
        `${replies.length} InitRcv for 2 InitSnd: the repeat was not answered, so an initiator whose first ` +
          `reply was lost would wait for its next copy`,
        { expected: '2 InitRcv', observed: `${replies.length} InitRcv` },
      );
      const foreign = open.peer.incoming(0).filter((d) => d.decoded === null);
      ctx.expect(
        'crypto.conn-id.stable',
        foreign.length === 0,
        `after the duplicate the endpoint sent ${foreign.length} datagram(s) the connection's secret does not ` +
          `open: ${foreign[0]?.error}`,
      );
      autoAck(open);
      await expectAlive(ctx, open, 'crypto.receive.no-crash', 'a duplicated InitSnd');
    },
  },
  {
    id: 'handshake.init-snd-repeat-address',
    slow: 'waits for a resend after the RTO, at two addresses',
    title: 'A repeated InitSnd from another address does not move where the connection sends',
    clauses: ['connection.any-source', 'handshake.init-snd-repeat', 'retransmission.rto-default'],
    level: 'MUST',
    role: 'server',
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      // An InitSnd cannot authenticate: anyone who saw the first one can send it again from
      // anywhere. The tester leaves the echo unacknowledged, so the endpoint resends it on its
      // own, with no authentic packet in between to follow; the resend must come where the
      // connection was set up.
      const open = await handshake(ctx);
      const data = text('resent to where the connection began');
      open.peer.send(open.conn.data(dataPayload(3, 0, data)), 'DATA stream 3; its echo is not acknowledged');
      const isEcho = (d: Datagram) =>
        d.decoded?.connId === open.conn.connId &&
        d.decoded.payload?.stream?.streamId === 3 &&
        d.decoded.payload.stream.data.length > 0;
      const echoed = await open.peer.waitFor(isEcho, REPLY_MS, 0);
      ctx.expect('handshake.init-snd-repeat', echoed !== null, `the endpoint did not echo within ${REPLY_MS} ms`);
      const elsewhere = await ctx.peer();
      elsewhere.add(open.conn);
      elsewhere.send(open.first.bytes, 'the same InitSnd again, from a second socket');
      const [here, there] = await Promise.all([
        open.peer.waitFor(isEcho, RTO_WAIT_MS),
        elsewhere.waitFor(isEcho, RTO_WAIT_MS, 0),
      ]);
      ctx.note(
        `the resend of the echo came ` +
          `to ${here !== null ? 'the first address' : there !== null ? 'the second address' : 'neither address'}; ` +
          `the repeated InitSnd got ${elsewhere.incoming(0).filter((d) => d.decoded?.type === 'InitRcv').length} ` +
          `InitRcv at the second`,
      );
      ctx.expect(
        'connection.any-source',
        there === null,
        `after a repeated InitSnd from a second address the endpoint resent its echo there ` +
          `(${here === null ? 'and not' : 'and also'} to the first): an InitSnd, which anyone can replay, moved ` +
          `the connection's address`,
      );
      ctx.expect(
        'retransmission.rto-default',
        here !== null,
        `the unacknowledged echo was not resent within ${RTO_WAIT_MS} ms`,
      );
      open.peer.send(open.conn.data(ackOnly(3, 0, data.length)), 'ACK of the echo');
    },
  },
  onConnection(
    {
      id: 'handshake.conn-id-stable',
      slow: 'a 20 kB echo closed with data and the silence after it',
      title: 'Every packet of the endpoint carries the connection id of the handshake',
      clauses: ['crypto.conn-id.stable', 'crypto.conn-id.initial'],
    },
    async (ctx: CaseContext, open: Open) => {
      const data = pattern(20_000);
      // The last 1000-byte segment is the CLOSE: its data is delivered, not echoed (close.answer).
      const echoed = data.subarray(0, data.length - 1000);
      const got = await echo(open, 0, data, { close: true, segment: 1000 });
      await open.peer.collect(SILENCE_MS);
      const all = open.peer.incoming(0);
      const other = all.filter((d) => d.bytes.length < 9 || readUint64(d.bytes, 1) !== open.conn.connId);
      ctx.expect(
        'crypto.conn-id.stable',
        other.length === 0,
        `${other.length} of ${all.length} datagrams carry another connection id`,
      );
      // The rule is about every packet: one reply alone is too little to judge it by.
      const dataPackets = fromEndpoint(open.peer, open.conn).filter(
        (d) => d.decoded?.type === 'Data' && (d.decoded.payload?.stream?.data.length ?? 0) > 0,
      );
      ctx.expect(
        'stream.ordered-delivery',
        dataPackets.length > 0 && equal(got, echoed.subarray(0, got.length)),
        dataPackets.length === 0
          ? `the endpoint sent no Data packet with data: of ${echoed.length} bytes sent before the CLOSE segment ` +
              `none came back, and its reply alone is too little to judge`
          : `the echo differs from what was sent (${got.length} bytes came back)`,
      );
      ctx.note(
        `${got.length} of the ${echoed.length} bytes before the CLOSE segment echoed in ${dataPackets.length} ` +
          `Data packet(s)`,
      );
      ctx.note(`${all.length} datagrams, all with connection id ${open.conn.connId.toString(16)}`);
    },
  ),
  onConnection(
    {
      id: 'handshake.wrong-role',
      title:
        'Replies sent to the responder (InitRcv, InitCryptoRcv under its connection id) are dropped, though ' +
        'they authenticate',
      clauses: ['handshake.role-messages', 'crypto.receive.no-crash'],
    },
    async (ctx: CaseContext, open: Open) => {
      const first = text('before the forged replies');
      ctx.expect(
        'handshake.role-messages',
        equal(await echo(open, 0, first), first),
        'the echo before the forged replies is incomplete',
      );
      // Anyone who saw the handshake can make these: the endpoint's ephemeral key and the
      // connection id travel in clear. A fresh key pair of the forger's, taken as the
      // responder's, gives a secret the endpoint derives too: the replies authenticate.
      const forger = new PeerConnection('responder');
      forger.connId = open.conn.connId;
      forger.peerEphemeralPublicKey = open.conn.peerEphemeralPublicKey;
      const since = open.peer.send(
        forger.reply(probePayload(40), 'InitRcv'),
        `InitRcv under the endpoint's own connection id, from a forger's key, data on stream ${PROBE_STREAM}`,
      ).index;
      open.peer.send(
        forger.reply(probePayload(40), 'InitCryptoRcv'),
        `InitCryptoRcv likewise, data on stream ${PROBE_STREAM}`,
      );
      await open.peer.collect(SILENCE_MS);
      const reactions = probeReactions(open.peer, open.conn, since);
      ctx.expect(
        'handshake.role-messages',
        reactions.length === 0,
        `the endpoint accepted a forged reply: ` +
          `it ${reactions[0]?.decoded?.payload?.stream?.streamId === PROBE_STREAM ? 'echoed' : 'acknowledged'} ` +
          `its data on stream ${PROBE_STREAM}`,
      );
      const unreadable = open.peer
        .incoming(since)
        .filter((d) => d.decoded === null && d.bytes.length >= 9 && readUint64(d.bytes, 1) === open.conn.connId);
      ctx.expect(
        'handshake.role-messages',
        unreadable.length === 0,
        `after the forged replies ${unreadable.length} of the endpoint's packets no longer open with the ` +
          `connection's secret (first: ${unreadable[0]?.error}): it took the forger's`,
      );
      await expectAlive(ctx, open, 'handshake.role-messages', 'replies sent to the responder');
    },
  ),
  onConnection(
    {
      id: 'handshake.any-source',
      slow: 'echoes from several source addresses, one after the other',
      title: 'Data of a connection sent from another address is accepted',
      clauses: ['connection.any-source'],
    },
    async (ctx: CaseContext, open: Open) => {
      const moved = await ctx.peer();
      moved.add(open.conn);
      const data = text('from a new address');
      moved.send(open.conn.data(dataPayload(5, 0, data)), 'DATA stream 5 from a second socket');
      const came = await moved.waitFor(
        (d) => d.decoded?.payload?.ack?.streamId === 5 || d.decoded?.payload?.stream?.streamId === 5,
        REPLY_MS,
        0,
      );
      const cameBack = came ?? (await open.peer.waitFor((d) => d.decoded?.payload?.stream?.streamId === 5, 10, 0));
      ctx.expect(
        'connection.any-source',
        cameBack !== null,
        'data sent from a second address on the same connection id was neither acknowledged nor echoed to ' +
          'either address',
      );
      ctx.note(`the endpoint answered at ${cameBack.to}`);
    },
  ),
];
