// Checks shared by cases, each failing under the clause it is given with what it expected and
// what it observed: a segment acknowledged, the connection or the server still working, a
// packet dropped, resends spaced as the schedule says.
import { describe, type Datagram } from '../capture/datagram.js';
import type { CaseContext } from './case.js';
import { acksOf, acksSeen, probeReactions, waitUntil, type Open } from './observe.js';
import { dataPayload, equal, text } from './payloads.js';
import { autoAck, echo, handshake } from './script.js';
import { EXPECTED_GAPS, gapWindow, REPLY_MS, SILENCE_MS } from './timing.js';

/**
 * Fails with `clause` unless the endpoint acknowledges the tester's segment; it is resent
 * up to twice, as a sender would (an ACK may be lost, or discarded during pacing: G8).
 */
export async function expectAcknowledged(
  ctx: CaseContext,
  open: Open,
  clause: string,
  segment: { streamId: number; offset: number; data: Uint8Array; isClose: boolean },
  what: string,
): Promise<void> {
  const { streamId, offset, data } = segment;
  const acked = () => acksOf(open, streamId).some((a) => a.offset === offset && a.length === data.length);
  for (let copy = 1; copy < 3 && !(await waitUntil(open.peer, acked, REPLY_MS / 2)); copy++) {
    open.peer.send(open.conn.data(dataPayload(streamId, offset, data, segment.isClose)), `${what} again`);
  }
  await waitUntil(open.peer, acked, REPLY_MS / 2);
  ctx.expect(
    clause,
    acked(),
    `${what} (stream ${streamId}, offset ${offset}, ${data.length} bytes) was never acknowledged (sent 3 ` +
      `times); ${acksSeen(open, streamId)}`,
  );
}

let aliveStream = 900;
/**
 * Fails with `clause` unless the connection still echoes a probe on a fresh stream. The probe is sent up to
 * three times, as a sender would retransmit it: after a burst the endpoint's socket buffer
 * may have dropped the first copy, which says nothing about the endpoint.
 */
export async function expectAlive(ctx: CaseContext, open: Open, clause: string, after: string): Promise<void> {
  const streamId = aliveStream++;
  const probe = text(`still there? ${streamId}`);
  let got: Uint8Array = new Uint8Array(0);
  let tries = 0;
  while (tries < 3 && got.length < probe.length) {
    tries++;
    got = await echo(open, streamId, probe, { waitMs: REPLY_MS });
  }
  if (tries > 1) ctx.note(`the probe after ${after} was echoed only after ${tries} sends`);
  ctx.expect(
    clause,
    equal(got, probe),
    `the connection no longer echoes after ${after} (${got.length} of ${probe.length} bytes came back on ` +
      `stream ${streamId}, probe sent ${tries} times, ${REPLY_MS} ms apart)`,
  );
}

/** Fails with `clause` unless a new connection from a new peer completes a handshake and an echo. */
export async function expectServing(ctx: CaseContext, clause: string, after: string): Promise<void> {
  let open: Open;
  try {
    open = await handshake(ctx);
  } catch (e) {
    ctx.expect(clause, false, `no new connection is possible after ${after}: ${(e as Error).message}`);
  }
  autoAck(open);
  const probe = text('new connection');
  const got = await echo(open, 0, probe);
  ctx.expect(clause, equal(got, probe), `a new connection does not echo after ${after}`);
}

/** Sends a packet that must be dropped and fails with `clause` if the endpoint reacts to it. */
export async function expectDropped(
  ctx: CaseContext,
  open: Open,
  bytes: Uint8Array,
  what: string,
  clause: string,
): Promise<void> {
  const since = open.peer.send(bytes, what).index;
  await open.peer.collect(SILENCE_MS);
  const reactions = probeReactions(open.peer, open.conn, since);
  ctx.expect(
    clause,
    reactions.length === 0,
    `${what} was accepted: the endpoint answered with ${reactions[0] ? describe(reactions[0]) : ''}`,
  );
}

/**
 * Records a measured gap against the accepted window of `expectedMs` (gapWindow, widened by the
 * tester's own delay: a copy the tester noticed late makes its gap look longer and the next one
 * shorter) and says whether it is inside; the caller's expect says why it matters.
 */
export function measureGap(
  ctx: CaseContext,
  clause: string,
  name: string,
  expectedMs: number,
  measuredMs: number | null,
): { ok: boolean; low: number; high: number; uncertaintyMs: number } {
  const uncertaintyMs = ctx.timingUncertaintyMs();
  const [low, high] = gapWindow(expectedMs, uncertaintyMs);
  const ok = ctx.measure({ name, clause, expectedMs, measuredMs, lowMs: low, highMs: high, uncertaintyMs });
  return { ok, low, high, uncertaintyMs };
}

/** Checks the gaps between the first `count` + 1 copies against DefaultRto doubled per transmission. */
export function checkGaps(ctx: CaseContext, copies: Datagram[], count: number): void {
  for (let n = 1; n <= count; n++) {
    const expected = EXPECTED_GAPS[n - 1] as number;
    const before = copies[n - 1];
    const after = copies[n];
    const measured = before && after ? after.t - before.t : null;
    const clause = n === 1 ? 'retransmission.rto-default' : 'retransmission.backoff';
    const { ok, low, high, uncertaintyMs } = measureGap(
      ctx,
      clause,
      `gap before transmission ${n + 1}`,
      expected,
      measured,
    );
    ctx.expect(
      clause,
      ok,
      measured === null
        ? `transmission ${n + 1} never came (expected ${expected} ms after transmission ${n}); ${copies.length} ` +
            `transmission(s) seen`
        : `transmission ${n + 1} came ${measured.toFixed(1)} ms after transmission ${n}, expected ${expected} ms ` +
            `(accepted ${low.toFixed(0)}..${high.toFixed(0)} ms, the tester's own delay up ` +
            `to ${uncertaintyMs.toFixed(0)} ms included)`,
    );
  }
}
