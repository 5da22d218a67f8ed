// The expected-failure rules of the verdict module, on results made up for the purpose.
import { describe, expect, it } from 'vitest';
import { expectedFailureOf, type Verdictable } from '../src/verdict.js';

const result = (outcome: Verdictable['outcome'], failedClause: string | null, message: string): Verdictable => ({
  id: 'streams.buffer-full',
  level: 'MUST',
  outcome,
  failedClause,
  message,
  expectedFailure: null,
});

describe('an expected-failure entry', () => {
  const slow = { case: 'streams.buffer-full', reason: 'acknowledges slowly', observed: '^no verdict: of \\d+ segments' };

  it('for a timeout is matched on the pattern of its message', () => {
    expect(expectedFailureOf(slow, result('timeout', null, 'no verdict: of 12354 segments ...')).reason).toBe('acknowledges slowly');
  });

  it('for a timeout does not cover one that ended another way', () => {
    const other = expectedFailureOf(slow, result('timeout', null, 'no verdict within 50000 ms'));
    expect([other.reason, other.note]).toEqual([null, expect.stringContaining('but it ended as timeout: counted as unexpected')]);
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
