// The runner must be able to fail: a reference endpoint with one deliberate defect
// (put in by the relay in support/defective-endpoint.ts) fails exactly the case that
// checks it, with the clause in the verdict; the same cases pass without the defect.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allCases } from '../src/cases/index.js';
import { progress } from '../src/report/console.js';
import { runCases, type CaseResult } from '../src/runner.js';
import { unprobed, type Target } from '../src/targets/target.js';
import type { Defect } from './support/defective-endpoint.js';

const fixture = fileURLToPath(new URL('./support/defective-endpoint.ts', import.meta.url));

const defects: [Defect, string, string][] = [
  ['wrong-direction-bit', 'encryption.direction-bit', 'crypto.nonce.direction-bit'],
  ['no-backoff', 'retransmission.backoff', 'retransmission.backoff'],
  ['close-ignored', 'close.responder', 'close.answer'],
  ['short-init-snd-answered', 'handshake.init-snd-short', 'crypto.init-snd.min-size'],
  ['ack-length-off-by-one', 'streams.ack-fields', 'ack.segment'],
  // The diagnosis: the endpoint's packets do not open, and the report names the rule they
  // break, not the symptom (no reply that authenticates, an echo with nothing in it).
  ['sn-mask-counter-0', 'handshake.in-band', 'crypto.sn.masking'],
  ['wrong-direction-bit', 'streams.in-order', 'crypto.nonce.direction-bit'],
  ['unknown-id-by-address', 'encryption.unknown-connection', 'crypto.data.layout'],
  ['window-always-full', 'connection.window-advertised', 'flow.window-advertised'],
  ['window-counts-received', 'connection.window-advertised', 'flow.window-advertised'],
  ['rto-floor-1s', 'retransmission.rto-min', 'retransmission.rto-formula'],
  ['rto-ceiling-3s', 'retransmission.rto-max', 'retransmission.rto-formula'],
  ['idle-not-refreshed', 'connection.idle-refresh', 'connection.idle-refresh'],
  ['low-order-answered', 'vectors.invalid.init-snd', 'crypto.keys.low-order'],
  ['no-next-epoch', 'encryption.next-epoch', 'crypto.epoch.decrypt-window'],
  ['small-window-as-zero', 'connection.small-window', 'window.decode'],
  ['small-window-larger', 'connection.small-window', 'flow.window-respected'],
  ['reply-to-responder-accepted', 'handshake.wrong-role', 'handshake.role-messages'],
];

function defectiveTarget(defect: Defect, expectedFailures: Target['expectedFailures'] = new Map()): Target {
  return {
    config: {
      name: `defect-${defect}`,
      description: `reference behind a relay that injects ${defect}`,
      mtu: 1400,
      capabilities: { zeroRtt: true, pingInHandshakeReply: true },
      server: { command: [process.execPath, '--import', 'tsx', fixture, '--defect', defect] },
    },
    dir: process.cwd(),
    expectedFailures,
    implementation: unprobed('a test target'),
    attached: null,
  };
}

async function run(defect: Defect, ids: string[]): Promise<{ results: CaseResult[]; console: string }> {
  const cases = allCases.filter((c) => ids.includes(c.id));
  let console = '';
  const shown = progress(defect, { done: 0, total: cases.length }, (s) => (console += s));
  const results = await runCases(cases, defectiveTarget(defect), {
    caseTimeoutMs: 50_000, // connection.idle-refresh waits out the 30 s idle timeout
    deadline: performance.now() + 90_000,
    concurrency: 3,
    artifactsDir: null,
    onCaseEnd: shown.end,
  });
  return { results, console };
}

describe('the runner fails defective endpoints', () => {
  it.each(defects)('%s: case %s fails naming %s', async (defect, caseId, clause) => {
    const { results, console } = await run(defect, [caseId]);
    const r = results[0] as CaseResult;
    expect(r.outcome, r.message ?? '').toBe('fail');
    expect(r.failedClause).toBe(clause);
    expect(console).toContain(`[${clause}]`);
  }, 60_000);

  it('passes the same cases without a defect (the relay alone changes nothing)', async () => {
    const { results } = await run('none', defects.map(([, id]) => id));
    const outcomes = Object.fromEntries(results.map((r) => [r.id, r.message ?? r.outcome]));
    expect(outcomes).toEqual(Object.fromEntries(defects.map(([, id]) => [id, 'pass'])));
  }, 100_000);
});

describe('expected failures match on the clause and on what was observed', () => {
  const reason = 'a deliberate defect of this test';
  const runListed = async (entry: { clause?: string; observed?: string }) => {
    const cases = allCases.filter((c) => c.id === 'streams.ack-fields');
    const listed = new Map([['streams.ack-fields', { case: 'streams.ack-fields', reason, ...entry }]]);
    const [r] = await runCases(cases, defectiveTarget('ack-length-off-by-one', listed), { caseTimeoutMs: 20_000, deadline: performance.now() + 60_000, concurrency: 1, artifactsDir: null });
    return r as CaseResult;
  };

  it('a failure under the listed clause, with a message that matches, is expected', async () => {
    const r = await runListed({ clause: 'ack.segment', observed: 'length' });
    expect([r.outcome, r.failedClause, r.expectedFailure], r.message ?? '').toEqual(['fail', 'ack.segment', reason]);
  }, 30_000);

  it('a failure under another clause is not, and the report says why', async () => {
    const r = await runListed({ clause: 'payload.types' });
    expect([r.outcome, r.failedClause, r.expectedFailure]).toEqual(['fail', 'ack.segment', null]);
    expect(r.notes.join('\n')).toMatch(/^listed as an expected failure under payload\.types \(a deliberate defect of this test\), but it failed under ack\.segment: .+: counted as unexpected$/m);
  }, 30_000);

  it('a failure under the listed clause that says something else is not either', async () => {
    const r = await runListed({ clause: 'ack.segment', observed: 'panic: ' });
    expect([r.outcome, r.failedClause, r.expectedFailure]).toEqual(['fail', 'ack.segment', null]);
    expect(r.notes.join('\n')).toContain('listed as an expected failure under ack.segment with a message matching /panic: / (a deliberate defect of this test), but it failed under ack.segment: ');
  }, 30_000);
});
