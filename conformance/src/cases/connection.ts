// Connection-level cases (server role): the peer's receive window (the flow.* clauses),
// several connections at once, the idle timeout and the key log of a launched endpoint.
import { decodeRcvWindow, encodeRcvWindow, type Payload } from '@qotp/reference';
import { constant } from '@qotp/spec';
import type { Datagram } from '../capture/datagram.js';
import {
  ackOnly,
  acksOf,
  autoAck,
  type CaseContext,
  type CaseDefinition,
  dataPayload,
  echo,
  equal,
  fromEndpoint,
  handshake,
  onConnection,
  type Open,
  pattern,
  received,
  REPLY_MS,
  RTO_WAIT_MS,
  sendStream,
  SILENCE_MS,
  streamState,
  text,
  waitUntil,
  WINDOW,
} from '../kit/index.js';

const IDLE_MS = constant('IdleTimeout') / 1e6;
/** When, into the silence, the idle-refresh case sends its PING and its forgery: two thirds of the timeout. */
const REFRESH_AT_MS = (IDLE_MS * 2) / 3;
const IN_FLIGHT_WINDOW = 64 * 1024;
const IN_FLIGHT_BYTES = 200_000; // three times what a drifting count lets through that window
const IN_FLIGHT_MS = 10_000;

/** Whether the connection still acknowledges a PING (a closed one does not answer at all). */
async function answersPing(open: Open, streamId: number): Promise<boolean> {
  const since = open.peer.send(
    open.conn.data(dataPayload(streamId, 0, new Uint8Array(0))),
    `PING on stream ${streamId}`,
  ).index;
  return (
    (await open.peer.waitFor((d) => d.decoded?.payload?.ack?.streamId === streamId, SILENCE_MS * 2, since)) !== null
  );
}

const CAPACITY = constant('ReceiveBufferCapacity');
/** A window of about three segments, as the window code has it. */
const SMALL_WINDOW = decodeRcvWindow(encodeRcvWindow(3 * 1400));
const SMALL_WINDOW_BYTES = 30_000;
const SMALL_WINDOW_ACK_DELAY_MS = 100;
/** A window for one packet and not two: in flight plus one MTU fits only when nothing is in flight. */
const ONE_PACKET_WINDOW = decodeRcvWindow(encodeRcvWindow(2000));
/**
 * Held behind a one-segment gap: 120 kB, which any window code of capacity minus them must
 * show (the code rounds down, to 15 MiB). Not more: the Go original v0.2.19 paces its ACKs
 * 10 ms apart (G6), so a thousand segments would take it ten seconds to acknowledge.
 */
const HELD_SEGMENTS = 100;
const HELD_SEGMENT = 1200;

/**
 * The window a receiver holding at least `held` bytes may advertise at most: the code of capacity - held, rounded down.
 */
const windowAtMost = (held: number): number => decodeRcvWindow(encodeRcvWindow(CAPACITY - held));

/** Two connections on one tester socket, each after a short echo; and when they went quiet (the peer's clock). */
async function twoQuietConnections(ctx: CaseContext): Promise<[Open, Open, number]> {
  const first = await handshake(ctx);
  const second = await handshake(ctx, { peer: first.peer });
  for (const open of [first, second]) {
    autoAck(open);
    await echo(open, 0, text('then silence'));
  }
  return [first, second, first.peer.now()];
}

/** A connection on `peer` whose only stream was echoed and then closed both ways; and when it went quiet. */
async function closedConnection(ctx: CaseContext, peer: Open['peer']): Promise<{ open: Open; quietSince: number }> {
  const open = await handshake(ctx, { peer });
  autoAck(open);
  const data = text('then close');
  await echo(open, 0, data);
  open.peer.send(
    open.conn.data(dataPayload(0, data.length, new Uint8Array(0), true)),
    `empty CLOSE of stream 0 at ${data.length}`,
  );
  const answered = await waitUntil(
    open.peer,
    () => streamState(open.peer, open.conn, 0).closeOffset !== null,
    REPLY_MS,
  );
  ctx.expect('close.answer', answered, 'the endpoint did not answer the CLOSE of its only stream');
  await open.peer.collect(50); // the tester's ACK of that CLOSE lands
  return { open, quietSince: open.peer.now() };
}

export const connectionCases: CaseDefinition[] = [
  onConnection(
    {
      id: 'connection.window-advertised',
      title:
        'The advertised window shrinks by the bytes held behind a gap, and is the whole capacity again once ' +
        'they were read',
      clauses: ['flow.window-advertised', 'window.round-down'],
      timeoutMs: 20_000,
    },
    async (ctx: CaseContext, open: Open) => {
      // 120 kB on stream 5 after a gap at 0..1199: the endpoint must hold all of it. Every
      // ACK of a held segment says the endpoint holds that segment and those acknowledged
      // before it, so its window can be at most the capacity minus their lengths.
      const data = pattern(HELD_SEGMENT * (HELD_SEGMENTS + 1), 17);
      for (let i = 1; i <= HELD_SEGMENTS; i++) {
        open.peer.send(
          open.conn.data(dataPayload(5, i * HELD_SEGMENT, data.subarray(i * HELD_SEGMENT, (i + 1) * HELD_SEGMENT))),
          `DATA stream 5 at ${i * HELD_SEGMENT}, behind the gap at 0`,
        );
        if (i % 25 === 0) await open.peer.collect(5); // no burst for the endpoint's socket buffer to drop
      }
      await open.peer.collect(SILENCE_MS);
      const heldAcks = acksOf(open, 5).filter((a) => a.offset > 0 && a.length > 0);
      const seen = new Set<number>();
      let held = 0;
      let over: { window: number; atMost: number; held: number } | null = null;
      for (const a of heldAcks) {
        if (!seen.has(a.offset)) held += a.length;
        seen.add(a.offset);
        if (over === null && a.window > windowAtMost(held))
          over = { window: a.window, atMost: windowAtMost(held), held };
      }
      ctx.note(
        `${seen.size} of ${HELD_SEGMENTS} held segments acknowledged; windows advertised ` +
          `meanwhile: ${[...new Set(heldAcks.map((a) => a.window))].join(', ')} bytes`,
      );
      // One ACK is enough for the bound: a receiver that leaves some unacknowledged breaks
      // ack.segment, which other cases check (the Go original v0.2.18 drops most, G8).
      ctx.expect(
        'flow.window-advertised',
        seen.size > 0,
        `none of the ${HELD_SEGMENTS} segments sent behind a gap was acknowledged, so no window was advertised ` +
          `while they were held`,
      );
      ctx.expect(
        'flow.window-advertised',
        over === null,
        `while holding at least ${over?.held} bytes behind a gap the endpoint advertised a window ` +
          `of ${over?.window} bytes, more than the ${over?.atMost} that capacity minus the held bytes encodes to`,
        over === null ? undefined : { expected: `at most ${over.atMost}`, observed: `${over.window}` },
      );
      // The gap filled, the endpoint delivers everything, its application reads and echoes it;
      // nothing is buffered any more, so a PING's ACK carries the whole capacity.
      // The tester resends what was not acknowledged, as a sender would, a few rounds.
      const complete = () => streamState(open.peer, open.conn, 5).bytes.length >= data.length;
      for (let round = 0; round < 4 && !complete(); round++) {
        const acked = new Set(acksOf(open, 5).map((a) => a.offset));
        for (let i = 0; i <= HELD_SEGMENTS; i++) {
          if (acked.has(i * HELD_SEGMENT) && i > 0) continue;
          open.peer.send(
            open.conn.data(dataPayload(5, i * HELD_SEGMENT, data.subarray(i * HELD_SEGMENT, (i + 1) * HELD_SEGMENT))),
            `DATA stream 5 at ${i * HELD_SEGMENT}${i === 0 ? ': the gap' : ', again'}`,
          );
          if (i % 25 === 24) await open.peer.collect(5);
        }
        await waitUntil(open.peer, complete, 3000);
      }
      const echoed = streamState(open.peer, open.conn, 5).bytes.length;
      ctx.expect(
        'flow.window-advertised',
        echoed >= data.length,
        `after the gap was filled only ${echoed} of ${data.length} bytes came back`,
      );
      // Up to three PINGs, a sender's retries: the first may come while the endpoint still
      // paces its last echo, and the Go original v0.2.18 discards ACKs taken then (G8).
      let ping: Datagram | null = null;
      for (let tries = 0; tries < 3 && ping === null; tries++) {
        const since = open.peer.send(
          open.conn.data(dataPayload(6, 0, new Uint8Array(0))),
          'PING on stream 6, after the echo was read',
        ).index;
        ping = await open.peer.waitFor((d) => d.decoded?.payload?.ack?.streamId === 6, REPLY_MS / 2, since);
      }
      const window = ping?.decoded?.payload?.ack?.window ?? null;
      const full = decodeRcvWindow(encodeRcvWindow(CAPACITY));
      ctx.expect(
        'flow.window-advertised',
        window === full,
        window === null
          ? 'the PING after the echo was not acknowledged'
          : `with nothing buffered (all ${data.length} bytes read and echoed) the endpoint advertised ${window} ` +
              `bytes, not its capacity ${full}: a window that does not grow back when the application reads`,
        window === null ? undefined : { expected: `${full}`, observed: `${window}` },
      );
    },
  ),
  {
    id: 'connection.window-respected',
    title: 'The endpoint sends no new data while the advertised window is 0, and resumes when it opens',
    clauses: ['flow.window-respected', 'ack.segment'],
    level: 'MUST',
    role: 'server',
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const open = await handshake(ctx);
      open.peer.send(open.conn.data(ackOnly(0, 0, 0, 0)), 'ACK-only advertising a window of 0 bytes');
      const data = pattern(3000, 2);
      const since = open.reply.index + 1;
      sendStream(open, 0, data);
      const meanwhile = await open.peer.collect(SILENCE_MS);
      const sent = meanwhile.filter((d) => (d.decoded?.payload?.stream?.data.length ?? 0) > 0);
      ctx.expect(
        'flow.window-respected',
        sent.length === 0,
        `with a window of 0 the endpoint sent ${sent.length} packet(s) with data`,
      );
      const acked = fromEndpoint(open.peer, open.conn, since).some(
        (d) => d.decoded?.payload?.ack?.streamId === 0 && d.decoded.payload.ack.length > 0,
      );
      ctx.expect(
        'ack.segment',
        acked,
        'with a window of 0 the endpoint did not acknowledge the data it received: ACKs must flow regardless',
      );
      autoAck(open);
      open.peer.send(open.conn.data(ackOnly(0, 0, 0)), `ACK-only opening the window to ${WINDOW} bytes`);
      const got = await received(open, 0, data.length, REPLY_MS);
      ctx.expect(
        'flow.window-respected',
        equal(got, data),
        `after the window opened only ${got.length} of ${data.length} bytes were echoed`,
      );
    },
  },
  {
    id: 'connection.window-probe',
    title:
      'A sender facing a closed window probes it with a PING every RTO, and resumes when the ACK of a probe opens it',
    clauses: ['flow.window-probe', 'flow.window-respected'],
    level: 'SHOULD',
    role: 'server',
    timeoutMs: 15_000,
    async run(ctx: CaseContext) {
      // The tester closes its window before the endpoint has anything to echo, and from then
      // on says nothing unprompted: it answers each PING with an ACK of it, the first two with
      // the window still 0, the third opening it. Without probes both sides wait for good.
      const open = await handshake(ctx);
      const closed = open.peer.send(open.conn.data(ackOnly(0, 0, 0, 0)), 'ACK-only advertising a window of 0 bytes');
      const sinceClosed = (d: Datagram) => (d.t - closed.t).toFixed(0);
      const data = pattern(3000, 31);
      sendStream(open, 0, data);
      const isProbe = (d: Datagram) =>
        d.decoded?.connId === open.conn.connId &&
        d.decoded.type === 'Data' &&
        d.decoded.payload?.stream?.data.length === 0 &&
        !d.decoded.payload.isClose;
      const probes: Datagram[] = [];
      for (let n = 1; n <= 3; n++) {
        const since = (probes[probes.length - 1] ?? closed).index + 1;
        const probe = await open.peer.waitFor(isProbe, RTO_WAIT_MS, since);
        const after = n === 1 ? 'the window closed' : 'the ACK of the last probe';
        ctx.expect(
          'flow.window-probe',
          probe !== null,
          `with data waiting and a window of 0, the endpoint sent no PING within ${RTO_WAIT_MS} ms ` +
            `after ${after} (probe ${n} of 3)` +
            (n === 1 ? '' : `; the earlier ones came ${probes.map(sinceClosed).join(', ')} ms after the window closed`),
        );
        probes.push(probe);
        const s = probe.decoded?.payload?.stream as NonNullable<Payload['stream']>;
        if (n === 3) autoAck(open);
        open.peer.send(
          open.conn.data(ackOnly(s.streamId, s.offset, 0, n === 3 ? WINDOW : 0)),
          n === 3
            ? `ACK of probe ${n}, opening the window to ${WINDOW} bytes`
            : `ACK of probe ${n}, the window still 0`,
        );
      }
      const early = fromEndpoint(open.peer, open.conn, closed.index).filter(
        (d) => d.t < (probes[2] as Datagram).t && (d.decoded?.payload?.stream?.data.length ?? 0) > 0,
      );
      ctx.expect(
        'flow.window-respected',
        early.length === 0,
        `with a window of 0 the endpoint sent ${early.length} packet(s) with data before the window opened`,
      );
      const seen = probes.map((p) => `on stream ${p.decoded?.payload?.stream?.streamId} at ${sinceClosed(p)} ms`);
      ctx.note(`probes ${seen.join(', ')} after the window closed`);
      const got = await received(open, 0, data.length, REPLY_MS);
      ctx.expect(
        'flow.window-probe',
        equal(got, data),
        `after the ACK of a probe opened the window, ${got.length} of ${data.length} bytes were echoed ` +
          `within ${REPLY_MS} ms: the window an ACK of a PING carries was not taken`,
      );
    },
  },
  {
    id: 'connection.small-window',
    slow: 'a transfer through a small window whose ACKs come late',
    title:
      `A small advertised window (${SMALL_WINDOW} bytes) is read right: the endpoint keeps at most that much ` +
      `unacknowledged, and still sends`,
    clauses: ['flow.window-respected', 'window.decode', 'flow.in-flight'],
    level: 'MUST',
    role: 'server',
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      // The tester advertises a window of three segments and acknowledges each echoed segment
      // 100 ms late, time enough for a sender to overshoot. A decoder that reads the small
      // code as 0 never sends; one that reads it larger has more unacknowledged than the
      // window allows. The tester counts what it has acknowledged when it sends the ACK,
      // before the endpoint hears of it: never too much.
      const open = await handshake(ctx);
      open.peer.send(
        open.conn.data(ackOnly(0, 0, 0, SMALL_WINDOW)),
        `ACK-only advertising a window of ${SMALL_WINDOW} bytes`,
      );
      const firstSent = new Set<number>();
      const acknowledged = new Set<number>();
      let sent = 0;
      let acked = 0;
      let most = 0;
      const acknowledge = (d: Datagram) => {
        const seg = d.decoded?.connId === open.conn.connId ? d.decoded.payload?.stream : null;
        if (seg === null || seg === undefined) return;
        if (seg.data.length > 0 && !firstSent.has(seg.offset)) {
          firstSent.add(seg.offset);
          sent += seg.data.length;
          most = Math.max(most, sent - acked);
        }
        setTimeout(() => {
          if (seg.data.length > 0 && !acknowledged.has(seg.offset)) {
            acknowledged.add(seg.offset);
            acked += seg.data.length;
          }
          open.peer.send(
            open.conn.data(ackOnly(seg.streamId, seg.offset, seg.data.length, SMALL_WINDOW)),
            `ACK, ${SMALL_WINDOW_ACK_DELAY_MS} ms late`,
          );
        }, SMALL_WINDOW_ACK_DELAY_MS);
      };
      const previous = open.peer.onDatagram;
      open.peer.onDatagram = (d) => {
        previous?.(d);
        acknowledge(d);
      };
      acknowledge(open.reply);
      const data = pattern(SMALL_WINDOW_BYTES, 23);
      sendStream(open, 0, data);
      const got = await received(open, 0, data.length, 10_000);
      ctx.note(`at most ${most} bytes unacknowledged at once, window ${SMALL_WINDOW}`);
      // Nothing sent at all: the small code read as 0. Some sent, then nothing although all of
      // it was acknowledged: the count of bytes in flight does not come down as it should.
      ctx.expect(
        'window.decode',
        sent > 0,
        `with a window of ${SMALL_WINDOW} bytes the endpoint sent no data in 10 s: it reads the small window ` +
          `code as too small for one segment`,
      );
      ctx.expect(
        'flow.in-flight',
        got.length >= data.length,
        `with a window of ${SMALL_WINDOW} bytes the endpoint stopped sending after ${sent} of ${data.length} ` +
          `bytes, although the tester acknowledged each segment ${SMALL_WINDOW_ACK_DELAY_MS} ms after it came: ` +
          `its count of bytes in flight does not come down by what was acknowledged`,
        { expected: `${data.length} bytes echoed`, observed: `${got.length} bytes echoed` },
      );
      ctx.expect(
        'flow.window-respected',
        most <= SMALL_WINDOW,
        `with a window of ${SMALL_WINDOW} bytes the endpoint had ${most} bytes unacknowledged at once`,
        { expected: `at most ${SMALL_WINDOW}`, observed: `${most}` },
      );
    },
  },
  {
    id: 'connection.retransmit-past-window',
    title: 'A lost segment that fills the window is resent all the same: a retransmission adds nothing in flight',
    clauses: ['flow.retransmit-past-window'],
    level: 'SHOULD',
    role: 'server',
    timeoutMs: 15_000,
    async run(ctx: CaseContext) {
      // A window of one packet: the echo's first segment fills it. The tester "loses" that
      // segment (no ACK for its first transmission), so the window stays full of it until it is
      // resent; a sender that checks the window before it looks for a due resend never moves on.
      const open = await handshake(ctx);
      let lost: Datagram | null = null;
      autoAck(open, ONE_PACKET_WINDOW, (d) => {
        const seg = d.decoded?.payload?.stream;
        if (
          lost !== null ||
          seg === null ||
          seg === undefined ||
          seg.streamId !== 0 ||
          seg.offset !== 0 ||
          seg.data.length === 0
        )
          return false;
        lost = d;
        return true;
      });
      const data = pattern(6000, 41);
      sendStream(open, 0, data);
      await waitUntil(open.peer, () => lost !== null, REPLY_MS);
      const first = lost as Datagram | null;
      ctx.expect('flow.retransmit-past-window', first !== null, `no echo on stream 0 within ${REPLY_MS} ms`);
      const isCopy = (d: Datagram) =>
        d.index > first.index &&
        d.decoded?.connId === open.conn.connId &&
        d.decoded.payload?.stream?.streamId === 0 &&
        d.decoded.payload.stream.offset === 0 &&
        d.decoded.payload.stream.data.length > 0;
      const copy = await open.peer.waitFor(isCopy, RTO_WAIT_MS, first.index + 1);
      ctx.expect(
        'flow.retransmit-past-window',
        copy !== null,
        `the echo's first segment (${first.decoded?.payload?.stream?.data.length} B), unacknowledged and ` +
          `filling the window of ${ONE_PACKET_WINDOW} bytes, was not resent within ${RTO_WAIT_MS} ms: the ` +
          `endpoint holds a due retransmission back because the window looks full`,
      );
      ctx.note(`resent ${(copy.t - first.t).toFixed(0)} ms after its first transmission, with the window full of it`);
      const got = await received(open, 0, data.length, REPLY_MS * 3);
      ctx.expect(
        'flow.retransmit-past-window',
        equal(got, data),
        `after the resend the echo stopped at ${got.length} of ${data.length} bytes`,
        { expected: `${data.length} bytes echoed`, observed: `${got.length} bytes` },
      );
    },
  },
  {
    id: 'connection.in-flight',
    title:
      'A sender acknowledged only by small ACK-only packets keeps sending: bytes in flight go down by the ' +
      'acknowledged length',
    clauses: ['flow.in-flight'],
    level: 'MUST',
    role: 'server',
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      // Every echoed segment is acknowledged by a 42-byte ACK-only packet that advertises a
      // 64 KiB window. A sender that subtracts the ACK datagram's size instead of the
      // acknowledged length keeps ~1.3 kB per segment counted and stops after ~50 segments.
      const open = await handshake(ctx);
      autoAck(open, IN_FLIGHT_WINDOW);
      const data = pattern(IN_FLIGHT_BYTES, 11);
      const started = open.peer.now();
      // In bursts, so that the endpoint's socket buffer takes all of it: the tester does not retransmit.
      for (let at = 0; at < data.length; at += 20_000) {
        sendStream(open, 1, data.subarray(at, at + 20_000), { segment: 1200, from: at });
        await open.peer.collect(20);
      }
      const got = await received(open, 1, data.length, IN_FLIGHT_MS);
      ctx.expect(
        'flow.in-flight',
        equal(got, data),
        `${got.length} of ${data.length} bytes were echoed within ${IN_FLIGHT_MS / 1000} s although the tester ` +
          `acknowledged every segment at once with ACK-only packets advertising ${IN_FLIGHT_WINDOW} bytes: the ` +
          `endpoint stopped sending as if its window were full`,
        { expected: `${data.length} bytes echoed`, observed: `${got.length} bytes` },
      );
      ctx.note(
        `${data.length} bytes echoed in ${Math.round(open.peer.now() - started)} ms through ` +
          `a ${IN_FLIGHT_WINDOW}-byte window`,
      );
    },
  },
  {
    id: 'connection.idle-timeout',
    slow: 'waits out the 30 s idle timeout',
    waitsOnTimer: true,
    title: `A connection that hears nothing for ${IDLE_MS / 1000} s is closed, and not before`,
    clauses: ['connection.idle-timeout'],
    level: 'MUST',
    role: 'server',
    timeoutMs: IDLE_MS + 15_000,
    async run(ctx: CaseContext) {
      // Two connections opened together: one is probed shortly before the timeout (it must
      // still answer), the other shortly after (it must be gone). A third has closed its
      // only stream both ways first: with no stream left it must time out all the same.
      const [early, late, quietSince] = await twoQuietConnections(ctx);
      const closed = await closedConnection(ctx, early.peer);
      await early.peer.collect(Math.max(0, quietSince + IDLE_MS - 2500 - early.peer.now()));
      ctx.expect(
        'connection.idle-timeout',
        await answersPing(early, 1),
        `the connection no longer answered after ${((early.peer.now() - quietSince) / 1000).toFixed(1)} s of ` +
          `silence, before the ${IDLE_MS / 1000} s timeout`,
      );
      await early.peer.collect(Math.max(0, closed.quietSince + IDLE_MS + 1500 - early.peer.now()));
      const after = ((early.peer.now() - quietSince) / 1000).toFixed(1);
      ctx.expect(
        'connection.idle-timeout',
        !(await answersPing(late, 1)),
        `the connection still answered after ${after} s of silence`,
      );
      const closedAfter = ((early.peer.now() - closed.quietSince) / 1000).toFixed(1);
      ctx.expect(
        'connection.idle-timeout',
        !(await answersPing(closed.open, 1)),
        `a connection whose streams were all closed still answered after ${closedAfter} s of silence: it never ` +
          `timed out`,
      );
    },
  },
  {
    id: 'connection.idle-refresh',
    slow: 'waits out the 30 s idle timeout',
    waitsOnTimer: true,
    title:
      `Every packet that authenticates restarts the ${IDLE_MS / 1000} s idle timer, and one that does not ` +
      `authenticate does not`,
    clauses: ['connection.idle-refresh', 'connection.idle-timeout'],
    level: 'MUST',
    role: 'server',
    timeoutMs: IDLE_MS + 15_000,
    async run(ctx: CaseContext) {
      // Two quiet connections; two thirds into the timeout one gets a PING, the other a
      // packet with a flipped tag bit. Just after the timeout the first must still answer
      // (its timer restarted) and the second must be gone (a forgery restarts nothing).
      const [pinged, forged, quietSince] = await twoQuietConnections(ctx);
      await pinged.peer.collect(REFRESH_AT_MS);
      ctx.expect(
        'connection.idle-refresh',
        await answersPing(pinged, 2),
        `the connection did not answer a PING ${(REFRESH_AT_MS / 1000).toFixed(0)} s into its silence`,
      );
      const tampered = forged.conn.data(dataPayload(2, 0, new Uint8Array(0)));
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0x01;
      forged.peer.send(tampered, 'PING with one bit of its tag flipped: it must not restart the idle timer');
      await pinged.peer.collect(Math.max(0, quietSince + IDLE_MS + 3000 - pinged.peer.now()));
      const at = ((pinged.peer.now() - quietSince) / 1000).toFixed(1);
      ctx.expect(
        'connection.idle-refresh',
        await answersPing(pinged, 3),
        `${at} s after the connection went quiet, ` +
          `and ${(IDLE_MS / 1000 + 3 - REFRESH_AT_MS / 1000).toFixed(0)} s after it last heard an authentic ` +
          `packet, it no longer answered: the PING did not restart its idle timer`,
      );
      ctx.expect(
        'connection.idle-refresh',
        !(await answersPing(forged, 3)),
        `${at} s after the connection last heard an authentic packet it still answered: a packet that does not ` +
          `authenticate restarted its idle timer`,
      );
    },
  },
  {
    id: 'connection.several',
    title:
      'Four connections at once (three from one address), then two more one after the other: each echoes its own data',
    clauses: ['connection.independent'],
    level: 'MUST',
    role: 'server',
    timeoutMs: 15_000,
    async run(ctx: CaseContext) {
      // Three connections share one socket, so only the connection id tells them apart; all of
      // them use stream 0 (and two stream 5 too), so only the connection tells those streams apart.
      const shared = await ctx.peer();
      const opens: Open[] = [];
      for (const peer of [shared, shared, shared, await ctx.peer()]) {
        const open = await handshake(ctx, { peer });
        autoAck(open);
        opens.push(open);
      }
      const streamsOf = (i: number) => (i % 2 === 0 ? [0, 5] : [0]);
      const dataOf = (i: number, streamId: number) => pattern(4000 + 1500 * i + streamId, 31 * i + streamId);
      const echoed = async (batch: Open[], first: number) => {
        // Interleaved: one segment of each connection's streams in turn.
        const longest = Math.max(
          ...batch.flatMap((_o, k) => streamsOf(first + k).map((id) => dataOf(first + k, id).length)),
        );
        for (let at = 0; at < longest; at += 1000) {
          batch.forEach((open, k) => {
            for (const id of streamsOf(first + k)) {
              const d = dataOf(first + k, id);
              if (at < d.length)
                open.peer.send(
                  open.conn.data(dataPayload(id, at, d.subarray(at, at + 1000))),
                  `DATA connection ${first + k} stream ${id} offset ${at}`,
                );
            }
          });
        }
        const complete = (open: Open, i: number) =>
          streamsOf(i).every((id) => streamState(open.peer, open.conn, id).bytes.length >= dataOf(i, id).length);
        await Promise.all(batch.map((open, k) => waitUntil(open.peer, () => complete(open, first + k), REPLY_MS * 3)));
        batch.forEach((open, k) => {
          for (const id of streamsOf(first + k)) {
            const got = streamState(open.peer, open.conn, id).bytes;
            const want = dataOf(first + k, id);
            ctx.expect(
              'connection.independent',
              equal(got, want),
              `connection ${first + k} of ${opens.length} (id ${open.conn.connId.toString(16)}), ` +
                `stream ${id}: ${got.length} of ${want.length} bytes ` +
                `echoed${got.length === want.length ? ', other bytes' : ''}`,
              {
                expected: `${want.length} bytes of its own`,
                observed:
                  `${got.length} ` +
                  `bytes${got.length === want.length && !equal(got, want) ? ' (different ones)' : ''}`,
              },
            );
          }
        });
      };
      await echoed(opens, 0);
      // Then two more, one after the other, once the first four are done: each starts afresh.
      for (const i of [4, 5]) {
        const open = await handshake(ctx, { peer: shared });
        autoAck(open);
        opens.push(open);
        await echoed([open], i);
      }
      const ids = new Set(opens.map((o) => o.conn.connId));
      ctx.note(
        `${opens.length} connections (${ids.size} connection ` +
          `ids), ${opens.reduce((n, _o, i) => n + streamsOf(i).length, 0)} echoed streams`,
      );
    },
  },
  keyLogCase(
    'connection.key-log',
    "The endpoint's key log has a line with the connection id and the connection's secret",
    false,
  ),
  keyLogCase(
    'connection.key-log-0rtt',
    "After a 0-RTT handshake the endpoint's key log has the connection's identity secret as well",
    true,
  ),
];

/**
 * Waits for the lines the endpoint's key log must hold for a connection the tester opened:
 * the ephemeral secret and, after 0-RTT, the identity secret that sealed the InitCryptoSnd
 * (both known to the tester, which derived them itself).
 */
function keyLogCase(id: string, title: string, zeroRtt: boolean): CaseDefinition {
  return {
    id,
    title,
    clauses: ['keylog.format'],
    level: 'SHOULD',
    role: 'server',
    requires: zeroRtt ? ['zeroRtt'] : [],
    needsLaunch: { keyLog: true },
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const open = await handshake(ctx, zeroRtt ? { zeroRtt: text('key log') } : {});
      const expected = open.conn.keyLog();
      const missing = () => expected.filter((line) => !ctx.endpointKeyLog().split('\n').includes(line));
      for (let waited = 0; missing().length > 0 && waited < REPLY_MS; waited += 100) await open.peer.collect(100);
      const log = ctx
        .endpointKeyLog()
        .trim()
        .split('\n')
        .filter((line) => line.includes(open.conn.connId.toString(16)));
      ctx.expect(
        'keylog.format',
        missing().length === 0,
        `the key log lacks '${missing().join("' and '")}'; its lines for this connection: ${log.join(' / ') || 'none'}`,
        { expected: expected.join(' / '), observed: log.join(' / ') || 'no line for this connection' },
      );
    },
  };
}
