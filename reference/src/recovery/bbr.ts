// BBR-style pacing as the Go original computes it (spec constants *Gain*, *Bandwidth*,
// RttMinExpiry, ProbeIntervalRttMins, PacingFallback, PacingSrttDivisor; erratum E13).
// The state is plain data; every function returns the next state.
import { constant } from '@qotp/spec';

const DRAIN_GAIN_PERCENT = constant('DrainGainPercent');
const DUP_ACK_BANDWIDTH_PERCENT = constant('DupAckBandwidthPercent');
const DUP_ACK_GAIN_PERCENT = constant('DupAckGainPercent');
const LOSS_BANDWIDTH_PERCENT = constant('LossBandwidthPercent');
const NORMAL_GAIN_PERCENT = constant('NormalGainPercent');
const PACING_FALLBACK = constant('PacingFallback');
const PACING_SRTT_DIVISOR = constant('PacingSrttDivisor');
const PROBE_GAIN_PERCENT = constant('ProbeGainPercent');
const PROBE_INTERVAL_RTT_MINS = constant('ProbeIntervalRttMins');
const RTT_MIN_EXPIRY = constant('RttMinExpiry');
const STARTUP_EXIT_SAMPLES = constant('StartupExitSamples');
const STARTUP_GAIN_PERCENT = constant('StartupGainPercent');

export interface BbrState {
  isStartup: boolean;
  /** Lowest RTT seen in the current window, ns (Infinity before any sample). */
  rttMin: number;
  rttMinAt: number;
  /** Bandwidth estimate, bytes per second. */
  bwMax: number;
  /** Samples in a row without bandwidth growth. */
  bwFlat: number;
  lastProbeAt: number;
  gainPercent: number;
}

export const initialBbr: BbrState = {
  isStartup: true,
  rttMin: Infinity,
  rttMinAt: Infinity,
  bwMax: 0,
  bwFlat: 0,
  lastProbeAt: 0,
  gainPercent: STARTUP_GAIN_PERCENT,
};

/** Folds one acknowledged packet (its RTT sample and length) into the estimate; `srtt` is already updated. */
export function onAck(s: BbrState, rtt: number, srtt: number, bytesAcked: number, now: number): BbrState {
  const next = { ...s };
  if ((now > s.rttMinAt && now - s.rttMinAt >= RTT_MIN_EXPIRY) || rtt < s.rttMin) {
    next.rttMin = rtt;
    next.rttMinAt = now;
  }
  const bw = Math.floor((bytesAcked * 1e9) / next.rttMin);
  if (bw > s.bwMax) {
    next.bwMax = bw;
    next.bwFlat = 0;
  } else {
    next.bwFlat = s.bwFlat + 1;
  }
  if (next.lastProbeAt === 0) next.lastProbeAt = now;

  if (next.isStartup) {
    if (next.bwFlat >= STARTUP_EXIT_SAMPLES) {
      next.isStartup = false;
      next.gainPercent = NORMAL_GAIN_PERCENT;
    }
    return next;
  }
  const inflation = Math.floor((srtt * 100) / next.rttMin);
  if (inflation > 150) next.gainPercent = DRAIN_GAIN_PERCENT;
  else if (inflation > 125) next.gainPercent = DUP_ACK_GAIN_PERCENT;
  else if (now - next.lastProbeAt > next.rttMin * PROBE_INTERVAL_RTT_MINS) {
    next.gainPercent = PROBE_GAIN_PERCENT;
    next.lastProbeAt = now;
  } else next.gainPercent = NORMAL_GAIN_PERCENT;
  return next;
}

export function onDuplicateAck(s: BbrState): BbrState {
  return {
    ...s,
    bwMax: Math.floor((s.bwMax * DUP_ACK_BANDWIDTH_PERCENT) / 100),
    gainPercent: DUP_ACK_GAIN_PERCENT,
    isStartup: false,
  };
}

export function onRetransmit(s: BbrState): BbrState {
  return {
    ...s,
    bwMax: Math.floor((s.bwMax * LOSS_BANDWIDTH_PERCENT) / 100),
    gainPercent: NORMAL_GAIN_PERCENT,
    isStartup: false,
  };
}

/** Nanoseconds to wait after sending `bytes` before the next packet. */
export function pacingInterval(s: BbrState, srtt: number, bytes: number): number {
  if (s.bwMax === 0) return srtt > 0 ? Math.floor(srtt / PACING_SRTT_DIVISOR) : PACING_FALLBACK;
  const rate = Math.floor((s.bwMax * s.gainPercent) / 100);
  return rate === 0 ? PACING_FALLBACK : Math.floor((bytes * 1e9) / rate);
}
