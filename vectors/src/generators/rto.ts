// Vectors for RTT estimation, the RTO and the retransmission schedule
// (clauses retransmission.*; erratum E08).
import {
  backoffNanos,
  initialBbr,
  initialRtt,
  onAck,
  onDuplicateAck,
  onRetransmit,
  pacingInterval,
  rtoNanos,
  updateRtt,
} from '@qotp/reference';
import { constant } from '@qotp/spec';
import type { BbrStep, RtoFile, RtoTest } from '../types.js';
import { vectorFile } from './envelope.js';

const MS = 1_000_000;

function samples(id: string, comment: string, rtts: number[], clauses: string[], flags: string[] = []): RtoTest {
  let state = initialRtt;
  return {
    id: `rto.samples.${id}`,
    comment,
    flags,
    clauses,
    result: 'valid',
    samples: rtts.map((rtt) => {
      state = updateRtt(state, rtt);
      return { rtt, srtt: state.srtt, rttvar: state.rttvar, rto: rtoNanos(state) };
    }),
  };
}

function schedule(id: string, comment: string, rto: number): RtoTest {
  let sentAt = 0;
  const rows = [];
  for (let transmission = 1; transmission <= constant('MaxTransmissions'); transmission++) {
    const wait = backoffNanos(rto, transmission);
    rows.push({ transmission, wait, sentAt });
    if (wait !== null) sentAt += wait;
  }
  return {
    id: `rto.backoff.${id}`,
    comment,
    flags: [],
    clauses: ['retransmission.backoff', 'retransmission.give-up'],
    result: 'valid',
    rto,
    schedule: rows,
  };
}

type BbrEvent = ['ack', number, number] | ['duplicate-ack'] | ['retransmit']; // ack: rtt (ns), bytes acked

/** Feeds events into a fresh RTT estimator and BBR state, 50 ms apart, recording the state after each. */
function bbr(id: string, comment: string, events: BbrEvent[], clauses: string[]): RtoTest {
  let rtt = initialRtt;
  let state = initialBbr;
  const steps = events.map((e, i): BbrStep => {
    const now = (i + 1) * 50 * MS;
    if (e[0] === 'ack') {
      rtt = updateRtt(rtt, e[1]);
      state = onAck(state, e[1], rtt.srtt, e[2], now);
    } else state = e[0] === 'duplicate-ack' ? onDuplicateAck(state) : onRetransmit(state);
    const at = e[0] === 'ack' ? { rtt: e[1], bytesAcked: e[2], now } : {};
    return {
      event: e[0],
      ...at,
      bwMax: state.bwMax,
      gainPercent: state.gainPercent,
      isStartup: state.isStartup,
      pacing: pacingInterval(state, rtt.srtt, 1400),
    };
  });
  return { id: `rto.bbr.${id}`, comment, flags: [], clauses, result: 'valid', steps };
}

export function generateRto(): RtoFile {
  const rttTests = [
    samples(
      'first-100ms',
      'One 100 ms sample: SRTT 100 ms, RTTVAR 50 ms, RTO 300 ms.',
      [100 * MS],
      ['retransmission.rto-formula'],
    ),
    samples('steady-100ms', 'Constant 100 ms: RTTVAR decays by a quarter each time.', Array(8).fill(100 * MS), [
      'retransmission.rto-formula',
    ]),
    samples(
      'varying',
      'Samples that go up and down.',
      [50 * MS, 150 * MS, 80 * MS, 300 * MS, 20 * MS, 90 * MS],
      ['retransmission.rto-formula'],
    ),
    samples('clamp-min', 'A 1 ms path: the RTO is clamped up to 100 ms.', [MS, MS, MS], ['retransmission.rto-formula']),
    samples(
      'clamp-max',
      'A 5 s path: the RTO is clamped down to 2 s.',
      [5000 * MS, 5000 * MS],
      ['retransmission.rto-formula'],
    ),
    samples(
      'odd-values',
      'Values that make every integer division round.',
      [333_333_333, 7, 1_000_000_001, 123_456_789],
      ['retransmission.rto-formula'],
    ),
    samples(
      'ignored',
      'A sample of 0 and one above 30 s change nothing; the RTO stays at the default.',
      [0, constant('MaxRttSample') + 1],
      ['retransmission.rto-default'],
      ['IgnoredSample'],
    ),
    samples(
      'ignored-after-first',
      'After a 40 ms sample, one of 31 s is ignored.',
      [40 * MS, 31_000 * MS, 40 * MS],
      ['retransmission.rto-formula'],
      ['IgnoredSample'],
    ),
  ];
  const backoffTests = [
    schedule(
      'default-rto',
      'Default RTO 200 ms before any sample: sent at 0, 200, 600, 1400, 3000 and 6200 ms, then give up.',
      constant('DefaultRto'),
    ),
    schedule('min-rto', 'RTO 100 ms.', constant('MinRto')),
    schedule('max-rto', 'RTO 2 s: the backoff grows past MaxRto.', constant('MaxRto')),
    schedule('odd-rto', 'An odd RTO; each doubling is exact.', 333_333_333),
  ];
  const steady = Array.from({ length: 6 }, (): BbrEvent => ['ack', 20 * MS, 1400]);
  const bbrTests = [
    bbr(
      'startup',
      'Growing bandwidth samples keep startup (gain 277%); three flat samples end it.',
      [
        ['ack', 20 * MS, 1400],
        ['ack', 20 * MS, 2800],
        ['ack', 20 * MS, 1400],
        ['ack', 20 * MS, 1400],
        ['ack', 20 * MS, 1400],
      ],
      ['flow.pacing', 'flow.bbr'],
    ),
    bbr(
      'steady-then-inflation',
      'After startup, SRTT above 125% then 150% of the minimum RTT lowers the gain to 90% then 75%.',
      [...steady, ['ack', 40 * MS, 1400], ['ack', 60 * MS, 1400], ['ack', 90 * MS, 1400]],
      ['flow.pacing', 'flow.bbr'],
    ),
    bbr(
      'probe',
      'In steady state, more than 8 minimum RTTs after the last probe the gain goes to 125% for one sample.',
      [...steady, ['ack', 20 * MS, 1400], ['ack', 20 * MS, 1400], ['ack', 20 * MS, 1400]],
      ['flow.pacing', 'flow.bbr'],
    ),
    bbr(
      'duplicate-ack',
      'A duplicate ACK keeps 98% of the bandwidth estimate and sets the gain to 90%.',
      [['ack', 10 * MS, 1400], ['ack', 10 * MS, 1400], ['duplicate-ack'], ['duplicate-ack']],
      ['flow.pacing', 'flow.bbr'],
    ),
    bbr(
      'retransmit',
      'A retransmission keeps 95% of the bandwidth estimate, sets the gain to 100% and ends startup.',
      [['ack', 10 * MS, 1400], ['retransmit'], ['ack', 10 * MS, 1400]],
      ['flow.pacing', 'flow.bbr'],
    ),
    bbr(
      'no-estimate',
      'Without a bandwidth estimate pacing is SRTT/10, or 10 ms before any sample.',
      [['duplicate-ack'], ['retransmit']],
      ['flow.pacing', 'flow.bbr'],
    ),
  ];
  return vectorFile(
    'rto',
    'QOTP RTT estimation, RTO and retransmission backoff',
    [
      'rtt-samples: feed `samples[i].rtt` (ns) in order into a fresh estimator; after each, SRTT, RTTVAR and ' +
        'RTO (ns) are as given.',
      'backoff: with RTO `rto`, a segment sent `transmission` times is resent after `wait` ns; `wait` null ' +
        'means the connection gives up.',
      '`sentAt` is when each transmission happens if no ACK ever arrives.',
      'bbr: events fed 50 ms apart into a fresh estimator (an ack also updates SRTT first); after each, the ' +
        'bandwidth estimate, gain, startup flag and the pacing interval of a 1400-byte packet.',
    ],
    { IgnoredSample: 'The sequence contains a sample the estimator must ignore (0 or above MaxRttSample).' },
    [
      { kind: 'rtt-samples', tests: rttTests },
      { kind: 'backoff', tests: backoffTests },
      { kind: 'bbr', tests: bbrTests },
    ],
  );
}
