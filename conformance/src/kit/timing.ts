// How long the tester waits, and the retransmission schedule it holds an endpoint's copies
// against (the spec's DefaultRto doubled per transmission, MaxTransmissions in all).
import { constant, spec } from '@qotp/spec';

/** How long a reply may take on a loaded 2-core machine. */
export const REPLY_MS = 2000;

/** How long the tester listens before it concludes that nothing came. */
export const SILENCE_MS = 600;

/** How long the tester waits for what an RTO triggers (a resend, a probe): the RTO is at most MaxRto; and slack. */
export const RTO_WAIT_MS = constant('MaxRto') / 1e6 + 1000;

/** The spec's DefaultRto in milliseconds (the spec counts nanoseconds). */
export const RTO_MS = constant('DefaultRto') / 1e6;
export const MAX_TRANSMISSIONS = constant('MaxTransmissions');
/** Expected gap before transmission n+1, for n = 1..MAX-1: RTO * waitFactor(n). */
export const EXPECTED_GAPS: number[] = spec.retransmission.transmissions.flatMap((t) =>
  t.waitFactor === null ? [] : [RTO_MS * t.waitFactor],
);

/**
 * The accepted window of a gap. Early by more than timer noise (5 ms) breaks the rule,
 * widened on both sides by how late the tester may have seen a copy (`uncertaintyMs`).
 * Late is allowed by 150 ms or 25 %, whichever is more: an endpoint checks its timers
 * when its loop wakes (the Go original at least every 100 ms), and on a loaded 2-core
 * machine both the endpoint and the tester may be scheduled late.
 */
export const gapWindow = (expectedMs: number, uncertaintyMs: number): [number, number] => [
  expectedMs - 5 - uncertaintyMs,
  expectedMs + Math.max(150, expectedMs * 0.25) + uncertaintyMs,
];

/**
 * How long after a first transmission to listen for its copies to the give-up: the six
 * transmissions; then an endpoint may close at once (the Go original) or wait up to
 * RTO * 2^5 for the sixth's ACK (the reference, as the clause recommends); then 1.5 s more.
 */
export const GIVE_UP_LISTEN_MS = EXPECTED_GAPS.reduce((a, b) => a + b, 0) + 32 * RTO_MS + 1500;
