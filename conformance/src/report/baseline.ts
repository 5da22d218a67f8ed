// Baselines: an expected-failures file written from a run (`--write-expected`), which a later
// run takes with `--expected-failures`, so that CI fails only on what changed. Each entry is the
// failure as it was seen: its clause, and a pattern of its message with the parts that vary
// from run to run (numbers, connection ids, seeds) left open.
import type { TargetReport } from './model.js';
import type { ExpectedFailure } from '../verdict.js';

/** How much of a message the pattern keeps: the start says what failed, the tail has run-to-run detail. */
const PATTERN_CHARS = 80;

/** A pattern that matches `message` and the same failure with other numbers and ids. */
export function messagePattern(message: string): string {
  const line = message.replace(/^run \d+ of \d+ \([^)]*\): /, '').split('\n')[0] ?? '';
  // Cut at a word's end, so that no id or number is kept in part.
  const head = line.length <= PATTERN_CHARS ? line : line.slice(0, PATTERN_CHARS).replace(/[\w-]*$/, '');
  // Hex ids and numbers are cut out before escaping, so the pieces between them are escaped alone.
  const pieces = head.split(/[0-9a-f]{8,}|\d+/);
  const gaps = head.match(/[0-9a-f]{8,}|\d+/g) ?? [];
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const gap = (g: string | undefined) => (g === undefined ? '' : /^\d+$/.test(g) ? '\\d+' : '[0-9a-f]+');
  return `^${pieces.map((p, i) => `${escape(p)}${gap(gaps[i])}`).join('')}`;
}

export interface ExpectedFailuresFile {
  target: string;
  obtained: string;
  entries: ExpectedFailure[];
}

/**
 * The expected failures of a target as this run saw them: an entry listed already and failing
 * as listed is kept as it is (its reason was written by a person); a new failure gets one with
 * its clause and message pattern; a timeout or harness error one without (which covers those).
 */
export function baselineOf(
  t: TargetReport,
  listed: ReadonlyMap<string, ExpectedFailure>,
  how: string,
): ExpectedFailuresFile {
  const entries = t.cases.flatMap((c): ExpectedFailure[] => {
    if (c.outcome === 'pass' || c.outcome === 'unsupported') return [];
    const kept = c.expectedFailure === null ? undefined : listed.get(c.id);
    if (kept !== undefined) return [kept];
    const reason =
      `${c.outcome}${c.failedClause === null ? '' : ` under ${c.failedClause}`} in the run this file was written ` +
      `from: ${(c.message ?? '').split('\n')[0]?.slice(0, 300)}`;
    if (c.outcome !== 'fail' || c.failedClause === null) return [{ case: c.id, reason }];
    return [{ case: c.id, reason, clause: c.failedClause, observed: messagePattern(c.message ?? '') }];
  });
  return {
    target: t.name,
    obtained:
      `Written by qotp-conformance --write-expected: ${how}; ` +
      `implementation ${t.implementation.version ?? 'of unknown version'} (${t.implementation.versionSource}).`,
    entries,
  };
}
