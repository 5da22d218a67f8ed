// The expected-failure rules of the verdict module, on results made up for the purpose.
import { describe, expect, it } from 'vitest';
import { expectedFailureOf, summaryLine, type Verdictable } from '../src/verdict.js';

const result = (outcome: Verdictable['outcome'], failedClause: string | null, message: string): Verdictable => ({
  id: 'streams.buffer-full',
  level: 'MUST',
  outcome,
  failedClause,
  message,
  expectedFailure: null,
});

describe('an expected-failure entry', () => {
  const slow = {
    case: 'streams.buffer-full',
    reason: 'acknowledges slowly',
    observed: '^no verdict: of \\d+ segments',
  };

  it('for a timeout is matched on the pattern of its message', () => {
    expect(expectedFailureOf(slow, result('timeout', null, 'no verdict: of 12354 segments ...')).reason).toBe(
      'acknowledges slowly',
    );
  });

  it('for a timeout does not cover one that ended another way', () => {
    const other = expectedFailureOf(slow, result('timeout', null, 'no verdict within 50000 ms'));
    expect([other.reason, other.note]).toEqual([
      null,
      expect.stringContaining('but it ended as timeout: counted as unexpected'),
    ]);
  });

  it('with a clause does not cover a timeout, which names none', () => {
    const listed = { ...slow, clause: 'stream.buffer-full' };
    expect(expectedFailureOf(listed, result('timeout', null, 'no verdict: of 12354 segments ...')).reason).toBeNull();
  });

  it('with a clause covers a failure under that clause only', () => {
    const listed = { case: 'streams.buffer-full', reason: 'r', clause: 'stream.buffer-full' };
    expect(expectedFailureOf(listed, result('fail', 'stream.buffer-full', 'x')).reason).toBe('r');
    expect(expectedFailureOf(listed, result('fail', 'ack.segment', 'x')).reason).toBeNull();
  });
});

describe('the summary line', () => {
  const summary = {
    total: 20,
    passed: 10,
    failed: 3,
    unsupported: 2,
    timeouts: 1,
    harnessErrors: 0,
    expectedFailures: 4,
    unexpectedPasses: ['a'],
    verdict: 'pass' as const,
  };

  it('puts the timeouts with the failures that the expected count covers', () => {
    expect(summaryLine('go', summary)).toBe(
      'go: 10 passed, 3 failed, 1 timed out (4 expected), 2 unsupported, 1 listed but passed',
    );
  });

  it('says only what there is', () => {
    expect(
      summaryLine('ref', {
        ...summary,
        failed: 0,
        unsupported: 0,
        timeouts: 0,
        expectedFailures: 0,
        unexpectedPasses: [],
      }),
    ).toBe('ref: 10 passed, 0 failed');
    expect(
      summaryLine('x', {
        ...summary,
        timeouts: 0,
        harnessErrors: 2,
        expectedFailures: 0,
        unsupported: 0,
        unexpectedPasses: [],
      }),
    ).toBe('x: 10 passed, 3 failed, 2 harness errors');
  });
});
