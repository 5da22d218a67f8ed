// BBR-style pacing as the Go original computes it (spec constants *Gain*, *Bandwidth*,
// RttMinExpiry, ProbeIntervalRttMins, PacingFallback, PacingSrttDivisor; erratum E13).
// The state is plain data; every function returns the next state.
import { constant } from '@qotp/spec';

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
  gainPercent: constant('StartupGainPercent'),
};

/** Folds one acknowledged packet (its RTT sample and length) into the estimate; `srtt` is already updated. */
export function onAck(s: BbrState, rtt: number, srtt: number, bytesAcked: number, now: number): BbrState {
  const next = { ...s };
  if ((now > s.rttMinAt && now - s.rttMinAt >= constant('RttMinExpiry')) || rtt < s.rttMin) {
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
    if (next.bwFlat >= constant('StartupExitSamples')) {
      next.isStartup = false;
      next.gainPercent = constant('NormalGainPercent');
    }
    return next;
  }
  const inflation = Math.floor((srtt * 100) / next.rttMin);
  if (inflation > 150) next.gainPercent = constant('DrainGainPercent');
  else if (inflation > 125) next.gainPercent = constant('DupAckGainPercent');
  else if (now - next.lastProbeAt > next.rttMin * constant('ProbeIntervalRttMins')) {
    next.gainPercent = constant('ProbeGainPercent');
    next.lastProbeAt = now;
  } else next.gainPercent = constant('NormalGainPercent');
  return next;
}

export function onDuplicateAck(s: BbrState): BbrState {
  return {
    ...s,
    bwMax: Math.floor((s.bwMax * constant('DupAckBandwidthPercent')) / 100),
    gainPercent: constant('DupAckGainPercent'),
    isStartup: false,
  };
}

export function onRetransmit(s: BbrState): BbrState {
  return {
    ...s,
    bwMax: Math.floor((s.bwMax * constant('LossBandwidthPercent')) / 100),
    gainPercent: constant('NormalGainPercent'),
    isStartup: false,
  };
}

/** Nanoseconds to wait after sending `bytes` before the next packet. */
export function pacingInterval(s: BbrState, srtt: number, bytes: number): number {
  if (s.bwMax === 0) return srtt > 0 ? Math.floor(srtt / constant('PacingSrttDivisor')) : constant('PacingFallback');
  const rate = Math.floor((s.bwMax * s.gainPercent) / 100);
  return rate === 0 ? constant('PacingFallback') : Math.floor((bytes * 1e9) / rate);
}
