// Robustness cases (server role): garbage, truncated, oversized and replayed datagrams.
// Each must be dropped (or, for replays, absorbed), and the endpoint must keep serving
// both the connection it has and new ones.
import { constant } from '@qotp/spec';
import { randomBytes } from 'node:crypto';
import { PeerConnection } from '../peer/peer-connection.js';
import {
  autoAck,
  type CaseContext,
  type CaseDefinition,
  dataPayload,
  echo,
  equal,
  expectAlive,
  expectDropped,
  expectServing,
  handshake,
  highestOffset,
  onConnection,
  type Open,
  pattern,
  probePayload,
  REPLY_MS,
  SILENCE_MS,
  streamState,
  text,
  waitUntil,
} from '../kit/index.js';

export const robustnessCases: CaseDefinition[] = [
  onConnection(
    {
      id: 'robustness.garbage',
      title: '300 random datagrams change nothing: the connection and new connections work',
      clauses: ['crypto.receive.no-crash'],
      timeoutMs: 15_000,
    },
    async (ctx: CaseContext, open: Open) => {
      // Paced, 10 datagrams per 5 ms (about 2 MB/s): the point is what the endpoint does with
      // garbage, not whether its socket buffer holds 200 kB arriving in 4 ms.
      for (let i = 0; i < 300; i++) {
        const bytes = new Uint8Array(randomBytes(Math.floor(Math.random() * 1500)));
        open.peer.send(bytes, `random datagram ${i + 1} of 300`);
        if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await expectAlive(ctx, open, 'crypto.receive.no-crash', '300 random datagrams');
      await expectServing(ctx, 'crypto.receive.no-crash', '300 random datagrams');
    },
  ),
  onConnection(
    {
      id: 'robustness.short-datagrams',
      title: 'Empty and too-short datagrams are dropped',
      clauses: ['crypto.min-packet-size', 'crypto.receive.no-crash'],
    },
    async (ctx: CaseContext, open: Open) => {
      const packet = open.conn.data(probePayload(40));
      const lengths = [0, 1, 9, 15, constant('MinPacketSize') - 1];
      for (const length of lengths)
        open.peer.send(packet.slice(0, length), `the first ${length} bytes of a Data packet`);
      await expectAlive(
        ctx,
        open,
        'crypto.min-packet-size',
        `datagrams of ${lengths.join(', ')} bytes, shorter than MinPacketSize`,
      );
      await expectDropped(
        ctx,
        open,
        packet.slice(0, packet.length - 1),
        'a Data packet without its last byte',
        'crypto.aead.tamper',
      );
      await expectAlive(ctx, open, 'crypto.receive.no-crash', 'truncated datagrams');
    },
  ),
  onConnection(
    {
      id: 'robustness.oversized',
      title: 'Datagrams longer than the MTU are cut and dropped, up to 65000 bytes',
      clauses: ['crypto.receive.mtu-cut', 'crypto.receive.no-crash'],
    },
    async (ctx: CaseContext, open: Open) => {
      const packet = open.conn.data(probePayload(ctx.endpoint.mtu + 100));
      await expectDropped(
        ctx,
        open,
        packet,
        `a Data packet of ${packet.length} bytes (MTU ${ctx.endpoint.mtu})`,
        'crypto.receive.mtu-cut',
      );
      open.peer.send(new Uint8Array(randomBytes(65_000)), '65000 random bytes');
      await expectAlive(ctx, open, 'crypto.receive.no-crash', 'oversized datagrams');
    },
  ),
  {
    id: 'robustness.oversized-init-snd',
    title: 'An InitSnd longer than the MTU is read up to the MTU and answered',
    clauses: ['crypto.receive.mtu-cut'],
    level: 'MUST',
    role: 'server',
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const peer = await ctx.peer();
      const conn = peer.add(new PeerConnection('initiator'));
      peer.send(conn.initSnd(ctx.endpoint.mtu + 200), `InitSnd of ${ctx.endpoint.mtu + 200} bytes`);
      const reply = await peer.waitFor((d) => conn.owns(d.bytes), REPLY_MS);
      ctx.expect(
        'crypto.receive.mtu-cut',
        reply !== null && reply.decoded?.type === 'InitRcv',
        `an InitSnd of ${ctx.endpoint.mtu + 200} bytes was not answered with an InitRcv: ${reply?.error ?? 'no reply'}`,
      );
    },
  },
  onConnection(
    {
      id: 'robustness.replayed-data',
      title: 'Replayed Data packets deliver their bytes once',
      clauses: ['crypto.replay.accepted', 'stream.ordered-delivery'],
    },
    async (ctx: CaseContext, open: Open) => {
      const data = pattern(4000, 11);
      const packets = [0, 1000, 2000, 3000].map((at) =>
        open.conn.data(dataPayload(0, at, data.subarray(at, at + 1000))),
      );
      for (const p of packets) open.peer.send(p, 'DATA');
      for (let round = 1; round <= 3; round++)
        for (const p of packets) open.peer.send(p, `the same packet replayed (round ${round})`);
      await waitUntil(open.peer, () => streamState(open.peer, open.conn, 0).bytes.length >= data.length, REPLY_MS);
      await open.peer.collect(SILENCE_MS / 2);
      const got = streamState(open.peer, open.conn, 0).bytes;
      ctx.expect('stream.ordered-delivery', equal(got, data), `${got.length} of ${data.length} bytes echoed intact`);
      const high = highestOffset(open, 0);
      ctx.expect(
        'stream.ordered-delivery',
        high <= data.length,
        `the endpoint echoed up to offset ${high}: replayed bytes were delivered again`,
      );
    },
  ),
  {
    id: 'robustness.replayed-0rtt',
    title: 'A replayed InitCryptoSnd does not break the endpoint',
    clauses: ['crypto.receive.no-crash', 'crypto.replay.accepted'],
    level: 'MUST',
    role: 'server',
    requires: ['zeroRtt'],
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const open = await handshake(ctx, { zeroRtt: text('0-RTT, replayed three times') });
      autoAck(open);
      for (let i = 0; i < 3; i++) open.peer.send(open.first.bytes, 'the same InitCryptoSnd again');
      await open.peer.collect(SILENCE_MS / 2);
      await echo(open, 1, text('after the replays'));
      await expectAlive(ctx, open, 'crypto.receive.no-crash', 'replayed InitCryptoSnd');
      await expectServing(ctx, 'crypto.receive.no-crash', 'replayed InitCryptoSnd');
    },
  },
];
