// Retransmission cases (server role): the tester withholds every ACK and times the
// endpoint's copies of its echo. Intervals are compared with the spec's schedule
// (DefaultRto doubled per transmission) in a window that holds on a loaded 2-core machine.
import { constant } from '@qotp/spec';
import { initialRtt, rtoNanos, updateRtt, type RttState } from '@qotp/reference';
import type { Datagram } from '../capture/datagram.js';
import {
  ackOnly,
  autoAck,
  type CaseContext,
  type CaseDefinition,
  type CaseHeader,
  checkGaps,
  dataPayload,
  echo,
  expectAlive,
  EXPECTED_GAPS,
  fromEndpoint,
  measureGap,
  GIVE_UP_LISTEN_MS,
  handshake,
  MAX_TRANSMISSIONS,
  type Open,
  pattern,
  REPLY_MS,
  RTO_MS,
  sendStream,
  SILENCE_MS,
  text,
} from '../kit/index.js';

interface Observation {
  open: Open;
  /** Arrival times (ms) of every copy of the endpoint's first data segment. */
  copies: Datagram[];
}

/**
 * Sends a few bytes, never acknowledges anything and collects the endpoint's copies of its
 * echo; `onCopy` hears of each copy as it arrives.
 */
async function withholdAcks(
  ctx: CaseContext,
  listenMs: number,
  onCopy: (open: Open, copy: Datagram, n: number) => void = () => {},
): Promise<Observation> {
  const open = await handshake(ctx);
  open.peer.send(
    open.conn.data(dataPayload(0, 0, text('please resend me'))),
    'DATA stream 0; the tester will acknowledge nothing',
  );
  const isCopy = (d: Datagram) => {
    const s = d.decoded?.payload?.stream;
    return (
      d.decoded?.connId === open.conn.connId &&
      s !== null &&
      s !== undefined &&
      s.streamId === 0 &&
      s.offset === 0 &&
      s.data.length > 0
    );
  };
  let n = 0;
  const previous = open.peer.onDatagram;
  open.peer.onDatagram = (d) => {
    previous?.(d);
    if (isCopy(d)) onCopy(open, d, ++n);
  };
  const first = await open.peer.waitFor(isCopy, REPLY_MS, 0);
  ctx.expect('retransmission.rto-default', first !== null, `the endpoint did not echo within ${REPLY_MS} ms`);
  await open.peer.collect(listenMs);
  return { open, copies: fromEndpoint(open.peer, open.conn).filter(isCopy) };
}

/**
 * The oldest-first case: an echo of several segments, none acknowledged for three RTOs and more (resends at about 200
 * and 600 ms).
 */
const OLDEST_FIRST_BYTES = 4000;
const OLDEST_FIRST_LISTEN_MS = 4 * RTO_MS + 200;
/**
 * When, after the sixth transmission, the give-up case checks that the connection is still open: half the default RTO.
 */
const GIVE_UP_PING_MS = RTO_MS / 2;

/** The RTO's floor (retransmission.rto-formula), in ms. */
const RTO_MIN_MS = constant('MinRto') / 1e6;

/** The RTO's ceiling (retransmission.rto-formula), in ms. */
const RTO_MAX_MS = constant('MaxRto') / 1e6;

/** Copies of the endpoint's echo on a stream (its segment at offset 0 with data). */
const copiesOf = (open: Open, streamId: number): Datagram[] =>
  fromEndpoint(open.peer, open.conn).filter(
    (d) =>
      d.decoded?.payload?.stream?.streamId === streamId &&
      d.decoded.payload.stream.offset === 0 &&
      d.decoded.payload.stream.data.length > 0,
  );

/**
 * Sends a few bytes on a stream and acknowledges the `copy`-th copy of their echo
 * `delayMs` after it arrived (nothing else of the stream). Returns the RTT sample the
 * endpoint takes from that ACK under the spec's rule, from the last copy it sent before
 * the ACK left (clause retransmission.rtt-sample), or null when no such copy came.
 */
async function delayedAck(
  open: Open,
  streamId: number,
  copy: number,
  delayMs: number,
): Promise<{ sampleMs: number; resentBeforeAck: boolean } | null> {
  const data = text(`sample on stream ${streamId}`);
  open.peer.send(
    open.conn.data(dataPayload(streamId, 0, data)),
    `DATA stream ${streamId}; its echo acknowledged ${delayMs.toFixed(0)} ms after copy ${copy}`,
  );
  const came = await open.peer.waitFor(() => copiesOf(open, streamId).length >= copy, REPLY_MS + RTO_MAX_MS * copy, 0);
  if (came === null) return null;
  await open.peer.collect(delayMs);
  const ack = open.peer.send(open.conn.data(ackOnly(streamId, 0, data.length)), `ACK of stream ${streamId}`);
  const before = copiesOf(open, streamId).filter((d) => d.t <= ack.t);
  await open.peer.collect(20); // the ACK lands before the next step
  const last = before[before.length - 1] as Datagram;
  return { sampleMs: ack.t - last.t, resentBeforeAck: before.length > copy };
}

/** Sends a few bytes on `streamId`, never acknowledges their echo and measures the gap to its first resend. */
async function firstResendGap(open: Open, streamId: number, listenMs: number): Promise<number | null> {
  open.peer.send(
    open.conn.data(dataPayload(streamId, 0, text('please resend me'))),
    `DATA stream ${streamId}; its echo will not be acknowledged`,
  );
  await open.peer.waitFor(() => copiesOf(open, streamId).length >= 2, listenMs, 0);
  const copies = copiesOf(open, streamId);
  return copies.length >= 2 ? (copies[1] as Datagram).t - (copies[0] as Datagram).t : null;
}

/** Checks a measured first-resend gap against the RTO `expectedMs` the tester's samples give. */
function checkRto(
  ctx: CaseContext,
  clause: string,
  name: string,
  expectedMs: number,
  measured: number | null,
  why: string,
): void {
  const { ok, low, high } = measureGap(ctx, clause, name, expectedMs, measured);
  ctx.expect(
    clause,
    ok,
    measured === null
      ? `the unacknowledged echo was not resent within ${(high + 500).toFixed(0)} ms (expected ` +
          `after ${expectedMs.toFixed(0)} ms: ${why})`
      : `the first resend came ${measured.toFixed(1)} ms after the echo, expected ${expectedMs.toFixed(0)} ` +
          `ms: ${why} (accepted ${low.toFixed(0)}..${high.toFixed(0)} ms)`,
    measured === null ? undefined : { expected: `${expectedMs.toFixed(0)} ms`, observed: `${measured.toFixed(1)} ms` },
  );
}

const ms = (ns: number) => ns / 1e6;
const rttText = (r: RttState) =>
  `SRTT ${ms(r.srtt).toFixed(0)} ms, RTTVAR ${ms(r.rttvar).toFixed(0)} ms, SRTT + ` +
  `4*RTTVAR ${ms(r.srtt + 4 * r.rttvar).toFixed(0)} ms`;

/**
 * A server-role timing case (MUST unless the header says otherwise), run in isolation so that other cases do not load
 * the machine.
 */
function timed(
  header: CaseHeader & Pick<CaseDefinition, 'timeoutMs'>,
  run: (ctx: CaseContext) => Promise<void>,
): CaseDefinition {
  return { level: 'MUST', role: 'server', isolated: true, ...header, run };
}

export const retransmissionCases: CaseDefinition[] = [
  timed(
    {
      id: 'retransmission.rto-min',
      title:
        `After RTT samples of about a millisecond the RTO is its ${RTO_MIN_MS} ms floor: unacknowledged data is ` +
        `resent ${RTO_MIN_MS} ms later`,
      clauses: ['retransmission.rto-formula'],
      timeoutMs: 15_000,
    },
    async (ctx: CaseContext) => {
      // Echoes acknowledged at once give the endpoint RTT samples of loopback's fraction of a
      // millisecond, so SRTT + 4*RTTVAR is a few ms and the RTO the floor. Then stream 1's
      // echo goes unacknowledged and the tester times its first resend.
      const open = await handshake(ctx);
      autoAck(open, undefined, (d) => d.decoded?.payload?.stream?.streamId === 1);
      for (let i = 0; i < 8; i++) await echo(open, 10 + i, text(`sample ${i}`));
      const gap = await firstResendGap(open, 1, RTO_MIN_MS * 3 + 400);
      checkRto(
        ctx,
        'retransmission.rto-formula',
        'gap before the first resend, after RTT samples',
        RTO_MIN_MS,
        gap,
        'the RTO floor after RTT samples of about a millisecond',
      );
    },
  ),
  timed(
    {
      id: 'retransmission.rto-max',
      slow: 'RTT samples that push the RTO to its 2 s ceiling, then the resend after it',
      title:
        `After RTT samples that put SRTT + 4*RTTVAR far above ${RTO_MAX_MS} ms the RTO is its ${RTO_MAX_MS} ms ` +
        `ceiling`,
      clauses: ['retransmission.rto-formula'],
      timeoutMs: 30_000,
    },
    async (ctx: CaseContext) => {
      // Each round's echo is acknowledged at 70 % of the RTO its samples so far give, so that
      // the endpoint never resends it: samples grow round by round until SRTT + 4*RTTVAR is
      // well above the ceiling. Then the first resend of an unacknowledged echo is timed.
      const open = await handshake(ctx);
      let rtt = initialRtt;
      let rounds = 0;
      let resent = 0;
      while (ms(rtt.srtt + 4 * rtt.rttvar) < 1.5 * RTO_MAX_MS && rounds < 16) {
        const got = await delayedAck(open, 10 + rounds, 1, 0.7 * ms(rtoNanos(rtt)));
        ctx.expect('retransmission.rto-formula', got !== null, `the endpoint did not echo stream ${10 + rounds}`);
        if (got.resentBeforeAck) resent++;
        rtt = updateRtt(rtt, Math.round(got.sampleMs * 1e6));
        rounds++;
      }
      ctx.note(`${rounds} delayed ACKs (${resent} of them after a resend) give ${rttText(rtt)}`);
      const gap = await firstResendGap(open, 1, RTO_MAX_MS * 1.5 + 1500);
      checkRto(
        ctx,
        'retransmission.rto-formula',
        'gap before the first resend, after long RTT samples',
        ms(rtoNanos(rtt)),
        gap,
        `its samples give ${rttText(rtt)}, clamped to ${RTO_MAX_MS} ms`,
      );
    },
  ),
  timed(
    {
      id: 'retransmission.sample-after-resend',
      slow: 'resends after the RTO, an RTT sample from one, and the RTO after it',
      title: 'An ACK of a resent segment gives an RTT sample from its last transmission, seen in the next RTO',
      clauses: ['retransmission.rtt-sample'],
      level: 'SHOULD',
      timeoutMs: 15_000,
    },
    async (ctx: CaseContext) => {
      // No ACK before: the first sample is the one under test. The echo's second copy (the
      // resend after the default RTO) is acknowledged 300 ms later, within the doubled wait.
      const open = await handshake(ctx);
      const got = await delayedAck(open, 0, 2, 1.5 * RTO_MS);
      ctx.expect('retransmission.rtt-sample', got !== null, 'the endpoint did not resend its unacknowledged echo');
      const rtt = updateRtt(initialRtt, Math.round(got.sampleMs * 1e6));
      ctx.note(
        `the ACK left ${got.sampleMs.toFixed(0)} ms after the endpoint's last ` +
          `copy${got.resentBeforeAck ? ' (a third copy came before it)' : ''}: ${rttText(rtt)}`,
      );
      const gap = await firstResendGap(open, 1, RTO_MAX_MS + 1500);
      // A first sample R gives an RTO of 3R: the gap tells what the endpoint measured.
      const implied =
        gap === null
          ? ''
          : Math.abs(gap - RTO_MS) < 30
            ? `; ${gap.toFixed(0)} ms is the default RTO, as if no sample was taken (Karn's rule)`
            : `; ${gap.toFixed(0)} ms is the RTO of a first sample of ${(gap / 3).toFixed(0)} ms`;
      checkRto(
        ctx,
        'retransmission.rtt-sample',
        'gap before the first resend, after a sample from a resent segment',
        ms(rtoNanos(rtt)),
        gap,
        `the sample from the resent segment gives ${rttText(rtt)}${implied}`,
      );
    },
  ),
  timed(
    {
      id: 'retransmission.rto-default',
      slow: 'waits for the first resend after the default RTO',
      title: `Unacknowledged data is resent after the default RTO (${RTO_MS} ms) before any RTT sample`,
      clauses: ['retransmission.rto-default'],
      timeoutMs: 10_000,
    },
    async (ctx: CaseContext) => {
      const { copies } = await withholdAcks(ctx, RTO_MS * 2 + 300);
      checkGaps(ctx, copies, 1);
    },
  ),
  timed(
    {
      id: 'retransmission.backoff',
      slow: 'watches four transmissions of one segment (0.2 + 0.4 + 0.8 s apart)',
      title: 'The wait doubles with every transmission',
      clauses: ['retransmission.backoff', 'retransmission.rto-default'],
      timeoutMs: 15_000,
    },
    async (ctx: CaseContext) => {
      const total = EXPECTED_GAPS.slice(0, 4).reduce((a, b) => a + b, 0);
      const { copies } = await withholdAcks(ctx, total + 800);
      checkGaps(ctx, copies, 4);
    },
  ),
  timed(
    {
      id: 'retransmission.give-up',
      slow: 'six transmissions of a segment and the give-up after them',
      waitsOnTimer: true,
      title: `A segment is sent at most ${MAX_TRANSMISSIONS} times, then the connection is closed`,
      clauses: ['retransmission.give-up', 'retransmission.give-up-wait', 'retransmission.backoff'],
      timeoutMs: 25_000,
    },
    async (ctx: CaseContext) => {
      // GIVE_UP_PING_MS after the sixth transmission the tester sends a PING: a connection
      // that gives that transmission time to be acknowledged still answers it.
      let ping: Datagram | null = null;
      const { open, copies } = await withholdAcks(ctx, GIVE_UP_LISTEN_MS, (o, copy, n) => {
        if (n === MAX_TRANSMISSIONS)
          setTimeout(
            () =>
              (ping = o.peer.send(
                o.conn.data(dataPayload(6, 0, new Uint8Array(0))),
                `PING ${GIVE_UP_PING_MS} ms after the sixth transmission`,
              )),
            Math.max(0, copy.t + GIVE_UP_PING_MS - o.peer.now()),
          );
      });
      ctx.note(`transmissions at ${copies.map((c) => (c.t - (copies[0] as Datagram).t).toFixed(0)).join(', ')} ms`);
      checkGaps(ctx, copies, MAX_TRANSMISSIONS - 1);
      ctx.expect(
        'retransmission.give-up',
        copies.length === MAX_TRANSMISSIONS,
        `the segment was sent ${copies.length} times, expected ${MAX_TRANSMISSIONS}`,
      );
      const sent = ping as Datagram | null;
      const pingAck =
        sent === null
          ? undefined
          : fromEndpoint(open.peer, open.conn, sent.index).find((d) => d.decoded?.payload?.ack?.streamId === 6);
      ctx.expect(
        'retransmission.give-up-wait',
        pingAck !== undefined,
        `a PING sent ${GIVE_UP_PING_MS} ms after the sixth transmission was not acknowledged: the connection ` +
          `closed without giving that transmission time to be acknowledged`,
      );
      ctx.note(
        `the PING ${GIVE_UP_PING_MS} ms after the sixth transmission was ` +
          `acknowledged ${(pingAck.t - (sent as Datagram).t).toFixed(0)} ms after it was sent`,
      );
      const since = open.peer.send(
        open.conn.data(dataPayload(4, 0, new Uint8Array(0))),
        'PING after the give-up: a closed connection does not answer',
      ).index;
      const answers = await open.peer.collect(
        SILENCE_MS,
        (d) => d.index > since && d.decoded?.payload?.ack?.streamId === 4,
      );
      ctx.expect(
        'retransmission.give-up',
        answers.length === 0,
        'the connection still acknowledges a PING after the sixth transmission went unanswered: it was not closed',
      );
    },
  ),
  timed(
    {
      id: 'retransmission.oldest-first',
      slow: 'listens for the resends of several RTOs',
      title: 'While the oldest unacknowledged segment of a stream is resent, the later ones of that stream wait',
      clauses: ['retransmission.oldest-first', 'retransmission.rto-default'],
      level: 'SHOULD',
      timeoutMs: 10_000,
    },
    async (ctx: CaseContext) => {
      const open = await handshake(ctx);
      sendStream(open, 0, pattern(OLDEST_FIRST_BYTES, 3));
      const segments = () =>
        fromEndpoint(open.peer, open.conn).filter(
          (d) => d.decoded?.payload?.stream?.streamId === 0 && d.decoded.payload.stream.data.length > 0,
        );
      const first = await open.peer.waitFor(() => segments().length > 0, REPLY_MS, 0);
      ctx.expect('retransmission.rto-default', first !== null, `the endpoint did not echo within ${REPLY_MS} ms`);
      await open.peer.collect(OLDEST_FIRST_LISTEN_MS);
      const seen = new Set<number>();
      const resent: number[] = [];
      for (const d of segments()) {
        const offset = d.decoded?.payload?.stream?.offset as number;
        if (seen.has(offset)) resent.push(offset);
        seen.add(offset);
      }
      const oldest = Math.min(...seen);
      ctx.note(
        `${seen.size} segments of the echo at offsets ${[...seen].sort((a, b) => a - b).join(', ')}; resent ` +
          `in ${OLDEST_FIRST_LISTEN_MS} ms without an ACK: ${resent.join(', ') || 'none'}`,
      );
      ctx.expect(
        'retransmission.oldest-first',
        seen.size >= 2,
        `the ${OLDEST_FIRST_BYTES}-byte echo came in ${seen.size} segment(s): nothing later to hold back`,
      );
      ctx.expect(
        'retransmission.rto-default',
        resent.includes(oldest),
        `the oldest segment (offset ${oldest}) was not resent in ${OLDEST_FIRST_LISTEN_MS} ms without an ACK`,
      );
      const later = [...new Set(resent.filter((o) => o !== oldest))];
      ctx.expect(
        'retransmission.oldest-first',
        later.length === 0,
        `while the oldest segment (offset ${oldest}) went unacknowledged, the endpoint also resent the later ` +
          `segment(s) at ${later.join(', ')} of the same stream`,
        { expected: `resends of offset ${oldest} only`, observed: `resends of ${[...new Set(resent)].join(', ')}` },
      );
      for (const offset of seen) {
        const d = segments().find((x) => x.decoded?.payload?.stream?.offset === offset);
        open.peer.send(
          open.conn.data(ackOnly(0, offset, d?.decoded?.payload?.stream?.data.length ?? 0)),
          `ACK of stream 0 at ${offset}`,
        );
      }
    },
  ),
  timed(
    {
      id: 'retransmission.ping-not-resent',
      slow: 'listens four RTOs for a resent PING',
      title: 'A PING that is never acknowledged is not resent',
      clauses: ['retransmission.ping-not-resent', 'payload.ping'],
      requires: ['pingInHandshakeReply'],
      timeoutMs: 10_000,
    },
    async (ctx: CaseContext) => {
      const open = await handshake(ctx);
      const ping = open.reply.decoded?.payload?.stream;
      ctx.expect(
        'payload.ping',
        ping !== null && ping !== undefined && ping.data.length === 0 && !open.reply.decoded?.payload?.isClose,
        'the manifest says the handshake reply carries a PING, but it does not',
      );
      await open.peer.collect(RTO_MS * 4 + 300);
      const copies = fromEndpoint(open.peer, open.conn).filter((d) => {
        const s = d.decoded?.payload?.stream;
        return (
          d !== open.reply &&
          s !== null &&
          s !== undefined &&
          s.streamId === ping.streamId &&
          s.offset === ping.offset &&
          s.data.length === 0 &&
          !d.decoded?.payload?.isClose
        );
      });
      ctx.expect(
        'retransmission.ping-not-resent',
        copies.length === 0,
        `the unacknowledged PING was sent again ${copies.length} time(s), first ` +
          `after ${copies[0] ? (copies[0].t - open.reply.t).toFixed(0) : '?'} ms`,
      );
      await expectAlive(
        ctx,
        open,
        'retransmission.ping-not-resent',
        'an unacknowledged PING (silence proves nothing of an endpoint that answers nothing)',
      );
    },
  ),
];
