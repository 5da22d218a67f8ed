// The run's report as data: what the JSON report holds (schemas/report.schema.json) and
// what the console, JUnit and HTML views are rendered from.
import { spec } from '@qotp/spec';
import { describe } from '../capture/datagram.js';
import { NO_OWNER } from '../peer/tester-peer.js';
import type { CaseResult } from '../runner.js';
import { summarize, type Summary, type VerdictOptions } from '../verdict.js';
import type { Implementation, Target } from '../targets/config.js';

export interface TimelineEntry {
  index: number;
  t: number;
  direction: 'out' | 'in';
  from: string;
  to: string;
  length: number;
  /** What it decoded to, in one line. */
  summary: string;
  /** What the tester meant by it. */
  note: string | null;
  /** The first 48 bytes in hex. */
  head: string;
  /** An endpoint datagram the tester could not decrypt: why, or the known mistake it shows. */
  problem: string | null;
}

export interface CaseReport extends Omit<CaseResult, 'timeline' | 'relayCapture'> {
  timeline: TimelineEntry[];
  /** Datagrams left out of a long timeline, between its first and last REPORT_TIMELINE_KEPT / 2. */
  timelineOmitted?: number;
  /** For a case that failed, timed out or met a harness error unexpectedly: the command that runs it alone again. */
  replay?: string;
}

export interface TargetReport {
  name: string;
  description: string;
  mode: 'launched' | 'attached';
  mtu: number;
  capabilities: Record<string, boolean>;
  implementation: Implementation;
  summary: Summary;
  /** Per role, when the endpoint never spoke the protocol in its first cases: what was seen instead. */
  firstContact?: Partial<Record<'server' | 'client', string>>;
  cases: CaseReport[];
}

export interface Report {
  tool: 'qotp-conformance';
  protocol: string;
  protocolVersion: string;
  startedAt: string;
  durationMs: number;
  strict: boolean;
  /** Whether a listed case that passed failed the run (`--fail-on-unexpected-pass`). */
  failOnUnexpectedPass?: boolean;
  /** The run's seed (`--seed`), when the runner chose one. */
  seed?: number;
  /** Runs of each chance-dependent case (`--repeat`), when more than one. */
  repeat?: number;
  /** Set when a signal stopped the run; the targets then hold the cases that had finished. */
  interrupted?: { signal: 'SIGINT' | 'SIGTERM'; casesNotFinished: number };
  /** Errors of the runner outside any case, with their stacks. */
  harnessErrors?: string[];
  targets: TargetReport[];
}

/**
 * The timeline entries a report keeps of one case: a case that fills a 16 MiB buffer sends
 * 12,000 datagrams and more, which no reader pages through and which would make the JSON and
 * HTML reports tens of megabytes; its start and its end say what happened, the pcap has it all.
 */
export const REPORT_TIMELINE_KEPT = 4000;

function reportedTimeline(timeline: CaseResult['timeline']): Pick<CaseReport, 'timeline' | 'timelineOmitted'> {
  if (timeline.length <= REPORT_TIMELINE_KEPT) return { timeline: timeline.map(entry) };
  const half = REPORT_TIMELINE_KEPT / 2;
  return {
    timeline: [...timeline.slice(0, half), ...timeline.slice(-half)].map(entry),
    timelineOmitted: timeline.length - REPORT_TIMELINE_KEPT,
  };
}

const entry = (d: CaseResult['timeline'][number]): TimelineEntry => ({
  index: d.index,
  t: Math.round(d.t * 1000) / 1000,
  direction: d.direction,
  from: d.from,
  to: d.to,
  length: d.bytes.length,
  summary: describe(d),
  note: d.note,
  head: Buffer.from(d.bytes.subarray(0, 48)).toString('hex'),
  problem:
    d.diagnosis?.says ??
    (d.direction === 'in' && d.decoded === null && d.error !== null && d.error !== NO_OWNER ? d.error : null),
});

/**
 * The command that replays one case: the target's, narrowed to the case; a failure in run k of
 * a repeated case (its message starts "run k of N") repeats it k times, so that the k-th run
 * draws the same seed again.
 */
export function replayOf(target: Pick<Target, 'replay'>, r: Pick<CaseResult, 'id' | 'message'>): string | undefined {
  if (target.replay === undefined) return undefined;
  const run = /^run (\d+) of \d+/.exec(r.message ?? '')?.[1];
  return (
    `${target.replay} --grep ` +
    `'^${r.id.replaceAll('.', '\\.')}$'${run === undefined || run === '1' ? '' : ` --repeat ${run}`}`
  );
}

const unexpected = (r: CaseResult): boolean =>
  r.outcome !== 'pass' && r.outcome !== 'unsupported' && r.expectedFailure === null;

export function targetReport(
  target: Target,
  results: CaseResult[],
  verdict: VerdictOptions,
  firstContact: TargetReport['firstContact'] = {},
): TargetReport {
  return {
    name: target.config.name,
    description: target.config.description,
    mode: target.attached === null ? 'launched' : 'attached',
    mtu: target.config.mtu,
    capabilities: target.config.capabilities,
    implementation: target.implementation,
    summary: summarize(results, verdict),
    ...(Object.keys(firstContact).length > 0 ? { firstContact } : {}),
    cases: results.map((result) => {
      // The relay's record goes to the pcap only (--out): the report keeps the tester's timeline.
      const { relayCapture: _capture, ...r } = result;
      const replay = unexpected(result) ? replayOf(target, result) : undefined;
      return { ...r, ...reportedTimeline(r.timeline), ...(replay === undefined ? {} : { replay }) };
    }),
  };
}

export function buildReport(
  targets: TargetReport[],
  startedAt: Date,
  durationMs: number,
  verdict: VerdictOptions,
  interrupted?: Report['interrupted'],
  seed?: number,
  repeat = 1,
): Report {
  return {
    tool: 'qotp-conformance',
    protocol: spec.protocol,
    protocolVersion: spec.protocolVersion,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(durationMs),
    strict: verdict.strict,
    ...(verdict.failOnUnexpectedPass ? { failOnUnexpectedPass: true } : {}),
    ...(seed === undefined ? {} : { seed }),
    ...(repeat > 1 ? { repeat } : {}),
    ...(interrupted === undefined ? {} : { interrupted }),
    targets,
  };
}

/** "qotp v0.2.18 (go version -m ...); expected failures: FILE (why)", for the report headers. */
export function implementationLine(i: Implementation): string {
  const version =
    i.version === null ? `version unknown (${i.versionSource})` : `version ${i.version} (${i.versionSource})`;
  const file = i.expectedFailuresFile === null ? 'none' : i.expectedFailuresFile;
  return (
    `${version}; expected ` +
    `failures: ${file}${i.expectedFailuresNote === null ? '' : ` (${i.expectedFailuresNote})`}`
  );
}
