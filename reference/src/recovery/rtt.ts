// RTT estimation and the RTO (spec: retransmission.rtoRules; clauses retransmission.*).
// Integer nanoseconds throughout, as the Go original computes them. Values stay far
// below 2^53 because samples above MaxRttSample (30 s) are ignored.
import { constant } from '@qotp/spec';
import { QotpError } from '../errors.js';

const MAX_RTT_SAMPLE = constant('MaxRttSample');
const DEFAULT_RTO = constant('DefaultRto');
const MIN_RTO = constant('MinRto');
const MAX_RTO = constant('MaxRto');
const MAX_RETRY = constant('MaxRetry');
const BACKOFF_PERCENT = constant('RtoBackoffPercent');

export interface RttState {
  srtt: number;
  rttvar: number;
}

export const initialRtt: RttState = { srtt: 0, rttvar: 0 };

/** Folds one RTT sample (ns) into the estimate; samples of 0 or above MaxRttSample are ignored. */
export function updateRtt(state: RttState, sampleNanos: number): RttState {
  if (sampleNanos <= 0 || sampleNanos > MAX_RTT_SAMPLE) return state;
  if (state.srtt === 0) return { srtt: sampleNanos, rttvar: Math.floor(sampleNanos / 2) };
  const delta = Math.abs(sampleNanos - state.srtt);
  return {
    rttvar: Math.floor((state.rttvar * 3) / 4) + Math.floor(delta / 4),
    srtt: Math.floor((state.srtt * 7) / 8) + Math.floor(sampleNanos / 8),
  };
}

/** SRTT + 4*RTTVAR, the default before any sample, otherwise clamped to [MinRto, MaxRto]. */
export function rtoNanos(state: RttState): number {
  const rto = state.srtt + 4 * state.rttvar;
  if (rto === 0) return DEFAULT_RTO;
  return Math.min(Math.max(rto, MIN_RTO), MAX_RTO);
}

/**
 * How long after its last transmission a segment already sent `transmissions` times
 * waits before it is sent again; null when it has been sent MaxTransmissions times
 * and the connection gives up instead (clause retransmission.give-up).
 */
export function backoffNanos(rto: number, transmissions: number): number | null {
  if (!Number.isInteger(transmissions) || transmissions < 1) {
    throw new QotpError('invalid-argument', `transmission count must be a positive integer, got ${transmissions}`);
  }
  if (transmissions > MAX_RETRY) return null;
  let wait = rto;
  // Repeated integer multiply-and-divide, as the original does, so odd RTOs round alike.
  for (let i = 1; i < transmissions; i++) wait = Math.floor((wait * BACKOFF_PERCENT) / 100);
  return wait;
}

/**
 * How long after the last transmission (the MaxTransmissions-th) a sender waits for its
 * ACK before it closes the connection: the doubling continued once more, RTO * 2^5. The
 * Go original closes at the first check after the sixth transmission, which leaves that
 * transmission no time to be acknowledged (clause retransmission.give-up).
 */
export function giveUpNanos(rto: number): number {
  return 2 * (backoffNanos(rto, MAX_RETRY) as number);
}
