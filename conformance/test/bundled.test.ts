// The default run in miniature: every case against both bundled targets, side by side as
// the CLI runs them. The reference must pass every case; the Go original may fail only
// the cases its expected-failures file lists, each with the finding that explains it.
import { describe, expect, it } from 'vitest';
import { allCases } from '../src/cases/index.js';
import { summarize } from '../src/verdict.js';
import { runCases, type CaseResult } from '../src/runner.js';
import { bundledTarget } from '../src/targets/target.js';

const targets = ['reference', 'go'].map((name) => bundledTarget(name));
let results: CaseResult[][];

describe('bundled targets', () => {
  it('runs every case against both', async () => {
    results = await Promise.all(
      targets.map((t) =>
        runCases(allCases, t, {
          caseTimeoutMs: 60_000,
          deadline: performance.now() + 120_000,
          concurrency: 4,
          artifactsDir: null,
        }),
      ),
    );
    for (const r of results) expect(r).toHaveLength(allCases.length);
  }, 150_000);

  it('the reference passes every case', () => {
    const notPassed = (results[0] as CaseResult[])
      .filter((r) => r.outcome !== 'pass')
      .map((r) => `${r.id}: ${r.outcome} ${r.failedClause ?? ''} ${r.message ?? ''}`);
    expect(notPassed).toEqual([]);
  });

  it('the Go original fails no case outside its expected-failures file, and its verdict passes', () => {
    const go = results[1] as CaseResult[];
    const unexpected = go
      .filter((r) => r.outcome !== 'pass' && r.outcome !== 'unsupported' && r.expectedFailure === null)
      .map((r) => `${r.id}: ${r.outcome} ${r.failedClause ?? ''} ${r.message ?? ''}`);
    expect(unexpected).toEqual([]);
    expect(summarize(go, { strict: false }).verdict).toBe('pass');
    expect(go.filter((r) => r.outcome === 'unsupported').map((r) => r.id)).toEqual(['retransmission.ping-not-resent']);
  });
});
