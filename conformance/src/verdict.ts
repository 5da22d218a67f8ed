// The verdict, in one place: how a case's end becomes its outcome, whether an expected-failure
// entry covers it, whether it counts against the run, and the counts of a target's summary.
// The runner, the reports and the command line all ask this module and decide nothing alone.
import { spec } from '@qotp/spec';
import type { Level, Observation } from './kit/case.js';
import { CheckFailure } from './kit/case.js';

/** An entry of an expected-failures file: a case known to fail, and how it must fail to count as expected. */
export interface ExpectedFailure {
  case: string;
  reason: string;
  /** The clause the failure must name to count as expected. */
  clause?: string;
  /** A regular expression the failure's message must match to count as expected. */
  observed?: string;
}

export type Outcome = 'pass' | 'fail' | 'unsupported' | 'timeout' | 'harness-error';

/** An endpoint process's exit status that declines a case (as in the QUIC interop runner). */
export const UNSUPPORTED_EXIT = 127;

/** What the verdict reads of a case's result. */
export interface Verdictable {
  id: string;
  level: Level;
  outcome: Outcome;
  failedClause: string | null;
  message: string | null;
  expectedFailure: string | null;
}

/** The case ran out of time: its own limit, the run's deadline, or a signal. */
export class Timeout extends Error {
  override readonly name = 'Timeout';
}

/** The server of a case could not be started (harness.server-ready); carries what it printed. */
export class ServerStartFailure extends Error {
  override readonly name = 'ServerStartFailure';
  constructor(
    message: string,
    readonly output: string,
    readonly exitCode: number | null = null,
  ) {
    super(message);
  }
}

/** The outcome of a case that ended with `e`, before the endpoint's own state is considered. */
export interface Ending {
  outcome: Outcome;
  failedClause: string | null;
  message: string;
  observation: Observation | null;
}

export function endingOf(e: unknown): Ending {
  if (e instanceof CheckFailure)
    return { outcome: 'fail', failedClause: e.clause, message: e.message, observation: e.observation };
  if (e instanceof ServerStartFailure)
    return { outcome: 'fail', failedClause: 'harness.server-ready', message: e.message, observation: null };
  if (e instanceof Timeout) return { outcome: 'timeout', failedClause: null, message: e.message, observation: null };
  // Anything else is the runner's own fault: a bug to report, with where it happened.
  return {
    outcome: 'harness-error',
    failedClause: null,
    message: e instanceof Error ? (e.stack ?? e.message) : String(e),
    observation: null,
  };
}

/** What a crash leaves in a process's output, one alternative per runtime. */
const CRASH_MARKER = new RegExp(
  `^(${[
    /panic: .*/, // Go
    /fatal error: .*/, // Go's runtime
    /Traceback \(most recent call last\):/, // Python
    /Segmentation fault.*/,
    /\S*Error: .*\n\s+at .*/, // a Node.js stack trace
    /Uncaught .*/,
  ]
    .map((r) => r.source)
    .join('|')})$`,
  'm',
);

/**
 * The signs of a process that crashed rather than ended: killed by a signal, or output that
 * holds a Go panic, a runtime's fatal error, a Node.js or Python stack trace. A client that
 * gives up prints a line and exits with a status of its own; one that crashes does not.
 */
export function crashOf(exit: { code: number | null; signal?: NodeJS.Signals | null }, output: string): string | null {
  if (exit.signal !== undefined && exit.signal !== null && exit.signal !== 'SIGTERM' && exit.signal !== 'SIGKILL')
    return `killed by ${exit.signal}`;
  const marker = CRASH_MARKER.exec(output);
  return marker === null ? null : (marker[0].split('\n')[0]?.trim() ?? null);
}

/** The level of a clause, by the spec. */
const clauseLevel = new Map<string, Level | 'MAY'>(spec.clauses.map((c) => [c.id, c.level as Level | 'MAY']));

export const isFailure = (r: Pick<Verdictable, 'outcome'>): boolean =>
  r.outcome === 'fail' || r.outcome === 'timeout' || r.outcome === 'harness-error';

/**
 * The level a failure counts at: the failed clause's, when a check named one (a SHOULD case
 * whose MUST check failed counts as MUST), else the case's own.
 */
export function levelOf(r: Pick<Verdictable, 'level' | 'failedClause'>): Level | 'MAY' {
  return (r.failedClause === null ? undefined : clauseLevel.get(r.failedClause)) ?? r.level;
}

/** Whether a result counts against the verdict: MUST always, SHOULD in strict mode, MAY never. */
export function counts(r: Pick<Verdictable, 'level' | 'failedClause'>, strict: boolean): boolean {
  const level = levelOf(r);
  return level === 'MUST' || (level === 'SHOULD' && strict);
}

/** Whether a failure matches an expected-failure entry's clause and observed pattern. */
export function failsAsListed(entry: ExpectedFailure, failedClause: string | null, message: string | null): boolean {
  if (entry.clause !== undefined && failedClause !== entry.clause) return false;
  return entry.observed === undefined || new RegExp(entry.observed).test(message ?? '');
}

/**
 * Whether `listed` covers the result. A pass of a listed case is covered (and reported as an
 * unexpected pass); a failure only when it is the listed one. The note says why not.
 */
export function expectedFailureOf(
  listed: ExpectedFailure | undefined,
  r: Verdictable,
): { reason: string | null; note: string | null } {
  if (listed === undefined) return { reason: null, note: null };
  const specific = listed.clause !== undefined || listed.observed !== undefined;
  // A timeout names no clause: an entry for one gives only the pattern of its message.
  const ended = r.outcome === 'fail' || (r.outcome === 'timeout' && listed.clause === undefined);
  const asListed =
    r.outcome === 'pass' ||
    r.outcome === 'unsupported' ||
    !specific ||
    (ended && failsAsListed(listed, r.failedClause, r.message));
  if (asListed) return { reason: listed.reason, note: null };
  const wanted = [
    listed.clause === undefined ? '' : `under ${listed.clause}`,
    listed.observed === undefined ? '' : `with a message matching /${listed.observed}/`,
  ]
    .filter(Boolean)
    .join(' ');
  const got = r.outcome === 'fail' ? `failed under ${r.failedClause}: ${r.message}` : `ended as ${r.outcome}`;
  return {
    reason: null,
    note:
      `listed as an expected failure${wanted ? ` ${wanted}` : ''} (${listed.reason}), but it ${got}: counted as ` +
      `unexpected`,
  };
}

export interface Summary {
  total: number;
  passed: number;
  /** Checks that did not hold (outcome fail), expected ones included. */
  failed: number;
  unsupported: number;
  timeouts: number;
  harnessErrors: number;
  /**
   * Failures (and, for an entry that names no clause or pattern, time-outs and harness errors) that an expected-failure
   * entry covers.
   */
  expectedFailures: number;
  /** Listed as expected failures yet passed: the list is out of date. */
  unexpectedPasses: string[];
  verdict: 'pass' | 'fail';
}

export interface VerdictOptions {
  /** SHOULD failures count (`--strict`). */
  strict: boolean;
  /** A listed case that passed fails the run (`--fail-on-unexpected-pass`), as a release baseline wants. */
  failOnUnexpectedPass?: boolean;
}

export function summarize(results: Verdictable[], o: VerdictOptions): Summary {
  const failing = results.filter(isFailure);
  const unexpectedPasses = results.filter((r) => r.outcome === 'pass' && r.expectedFailure !== null).map((r) => r.id);
  const counted = failing.some((r) => r.expectedFailure === null && counts(r, o.strict));
  return {
    total: results.length,
    passed: results.filter((r) => r.outcome === 'pass').length,
    failed: results.filter((r) => r.outcome === 'fail').length,
    unsupported: results.filter((r) => r.outcome === 'unsupported').length,
    timeouts: results.filter((r) => r.outcome === 'timeout').length,
    harnessErrors: results.filter((r) => r.outcome === 'harness-error').length,
    expectedFailures: failing.filter((r) => r.expectedFailure !== null).length,
    unexpectedPasses,
    verdict: counted || (o.failOnUnexpectedPass === true && unexpectedPasses.length > 0) ? 'fail' : 'pass',
  };
}

/**
 * "N passed, N failed" and what else there is to say, e.g. "10 passed, 3 failed, 1 timed out (4
 * expected), 2 unsupported": the expected count covers every way of not passing before it.
 */
export function summaryLine(name: string, s: Summary): string {
  const failing = [`${s.failed} failed`];
  if (s.timeouts > 0) failing.push(`${s.timeouts} timed out`);
  if (s.harnessErrors > 0) failing.push(`${s.harnessErrors} harness error${s.harnessErrors === 1 ? '' : 's'}`);
  const expected = s.expectedFailures > 0 ? ` (${s.expectedFailures} expected)` : '';
  const extra: string[] = [];
  if (s.unsupported > 0) extra.push(`${s.unsupported} unsupported`);
  if (s.unexpectedPasses.length > 0) extra.push(`${s.unexpectedPasses.length} listed but passed`);
  return `${name}: ${s.passed} passed, ${failing.join(', ')}${expected}${extra.length ? `, ${extra.join(', ')}` : ''}`;
}
