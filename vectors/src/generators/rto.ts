// Vectors for RTT estimation, the RTO and the retransmission schedule
// (clauses retransmission.*; erratum E08).
import { backoffNanos, initialRtt, rtoNanos, updateRtt } from '@qotp/reference';
import { constant } from '@qotp/spec';
import type { RtoFile, RtoTest } from '../types.js';
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

export function generateRto(): RtoFile {
  const rttTests = [
    samples('first-100ms', 'One 100 ms sample: SRTT 100 ms, RTTVAR 50 ms, RTO 300 ms.', [100 * MS], ['retransmission.rto-formula']),
    samples('steady-100ms', 'Constant 100 ms: RTTVAR decays by a quarter each time.', Array(8).fill(100 * MS), ['retransmission.rto-formula']),
    samples('varying', 'Samples that go up and down.', [50 * MS, 150 * MS, 80 * MS, 300 * MS, 20 * MS, 90 * MS], ['retransmission.rto-formula']),
    samples('clamp-min', 'A 1 ms path: the RTO is clamped up to 100 ms.', [MS, MS, MS], ['retransmission.rto-formula']),
    samples('clamp-max', 'A 5 s path: the RTO is clamped down to 2 s.', [5000 * MS, 5000 * MS], ['retransmission.rto-formula']),
    samples('odd-values', 'Values that make every integer division round.', [333_333_333, 7, 1_000_000_001, 123_456_789], ['retransmission.rto-formula']),
    samples('ignored', 'A sample of 0 and one above 30 s change nothing; the RTO stays at the default.', [0, constant('MaxRttSample') + 1], ['retransmission.rto-default'], ['IgnoredSample']),
    samples('ignored-after-first', 'After a 40 ms sample, one of 31 s is ignored.', [40 * MS, 31_000 * MS, 40 * MS], ['retransmission.rto-formula'], ['IgnoredSample']),
  ];
  const backoffTests = [
    schedule('default-rto', 'Default RTO 200 ms before any sample: sent at 0, 200, 600, 1400, 3000 and 6200 ms, then give up.', constant('DefaultRto')),
    schedule('min-rto', 'RTO 100 ms.', constant('MinRto')),
    schedule('max-rto', 'RTO 2 s: the backoff grows past MaxRto.', constant('MaxRto')),
    schedule('odd-rto', 'An odd RTO; each doubling is exact.', 333_333_333),
  ];
  return vectorFile(
    'rto',
    'QOTP RTT estimation, RTO and retransmission backoff',
    [
      'rtt-samples: feed `samples[i].rtt` (ns) in order into a fresh estimator; after each, SRTT, RTTVAR and RTO (ns) are as given.',
      'backoff: with RTO `rto`, a segment sent `transmission` times is resent after `wait` ns; `wait` null means the connection gives up.',
      '`sentAt` is when each transmission happens if no ACK ever arrives.',
    ],
    { IgnoredSample: 'The sequence contains a sample the estimator must ignore (0 or above MaxRttSample).' },
    [
      { kind: 'rtt-samples', tests: rttTests },
      { kind: 'backoff', tests: backoffTests },
    ],
  );
}
