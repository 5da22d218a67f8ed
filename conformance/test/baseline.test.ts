// Baselines written from a run: the message pattern matches the same failure with other
// numbers and ids, not another failure; listed entries keep their reasons.
import { describe, expect, it } from 'vitest';
import { emptyRecord } from '../src/case-context.js';
import type { TargetReport } from '../src/report/model.js';
import { baselineOf, messagePattern } from '../src/report/baseline.js';

describe('a baseline from a run', () => {
  it('leaves numbers and hex ids open and keeps the words', () => {
    const said =
      'monitor (resend-after-rto): datagram #65 at 1243 ms, Data conn d42b64bb sn 5 39 B: CLOSE s0 o700 0 B: ' +
      'transmission 2';
    const p = new RegExp(messagePattern(said));
    expect(p.test(said)).toBe(true);
    expect(p.test(said.replace('#65 at 1243', '#7 at 20').replace('d42b64bb', '0a1b2c3d'))).toBe(true);
    expect(p.test(said.replace('resend-after-rto', 'at-most-six-transmissions'))).toBe(false);
    // The pattern ends at a word's end, so that no number or id is cut in two.
    expect(messagePattern(said)).toContain('conn [0-9a-f]+ sn \\d+ ');
    expect(messagePattern('x'.repeat(78) + ' abcdefgh')).toBe(`^${'x'.repeat(78)} `);
  });

  it('drops the run prefix of a repeated case', () => {
    expect(messagePattern('run 3 of 5 (seed 99): 0 of 1000 bytes echoed')).toBe('^\\d+ of \\d+ bytes echoed');
  });

  it('keeps a listed entry that failed as listed, and writes one for a new failure and one for a timeout', () => {
    // A case's record as the runner starts it (the relay's capture stays out of reports).
    const { relayCapture: _, ...record } = emptyRecord();
    const base = {
      ...record,
      title: '',
      role: 'server',
      level: 'MUST',
      clauses: [],
      observation: null,
      durationMs: 1,
      endpointOutput: '',
      artifacts: null,
    } as const;
    const t = {
      name: 'x',
      implementation: { version: 'v1', versionSource: 'probe', expectedFailuresFile: null, expectedFailuresNote: null },
      cases: [
        {
          ...base,
          id: 'a.listed',
          outcome: 'fail',
          expectedFailure: 'G1',
          failedClause: 'ack.segment',
          message: 'no ACK',
        },
        {
          ...base,
          id: 'a.new',
          outcome: 'fail',
          expectedFailure: null,
          failedClause: 'close.answer',
          message: 'closed at 3500',
        },
        {
          ...base,
          id: 'a.slow',
          outcome: 'timeout',
          expectedFailure: null,
          failedClause: null,
          message: 'no verdict within 10000 ms',
        },
        { ...base, id: 'a.fine', outcome: 'pass', expectedFailure: null, failedClause: null, message: null },
      ],
    } as unknown as TargetReport;
    const listed = new Map([
      ['a.listed', { case: 'a.listed', reason: 'Finding G1: written by a person', clause: 'ack.segment' }],
    ]);
    const b = baselineOf(t, listed, 'a test');
    expect(b.entries).toEqual([
      { case: 'a.listed', reason: 'Finding G1: written by a person', clause: 'ack.segment' },
      {
        case: 'a.new',
        reason: 'fail under close.answer in the run this file was written from: closed at 3500',
        clause: 'close.answer',
        observed: '^closed at \\d+',
      },
      { case: 'a.slow', reason: 'timeout in the run this file was written from: no verdict within 10000 ms' },
    ]);
    expect(b.obtained).toMatch(/^Written by qotp-conformance --write-expected: a test; implementation v1 \(probe\)\.$/);
  });
});
