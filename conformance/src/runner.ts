// Runs cases against a target: a fresh server per case when the target can be launched,
// a tester peer per need, each case bounded by its own timeout and by the run's global
// deadline, so that a hanging endpoint can never hang the run. Outcomes are distinct:
// pass, fail, unsupported (declared, never counted), timeout and harness error.
import { cryptoBackend } from '@qotp/reference';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  authenticFromEndpoint,
  caseContext,
  emptyRecord,
  warmUp,
  type CaseRecord,
  type ProcessHooks,
} from './case-context.js';
import type { CaseContext, CaseDefinition, ClientRun, Observation } from './kit/case.js';
import { CheckFailure } from './kit/case.js';
import { runIsolated } from './isolated.js';
import { explainViolation, monitor } from './monitor.js';
import { formatHostPort, parseHostPort } from '@qotp/reference/node';
import { firstContact } from './peer/first-contact.js';
import { writePcap } from './capture/pcap.js';
import { tsharkCommand } from './capture/wireshark.js';
import { keyLogOf } from './peer/tester-peer.js';
import { fill } from './targets/commands.js';
import { type Target } from './targets/config.js';
import { launch, type LaunchedProcess } from './targets/process.js';
import { type RunningServer, startServer } from './targets/server.js';
import {
  crashOf,
  endingOf,
  expectedFailureOf,
  ServerStartFailure,
  Timeout,
  UNSUPPORTED_EXIT,
  type Outcome,
} from './verdict.js';

export interface CaseResult extends CaseRecord {
  id: string;
  title: string;
  role: CaseDefinition['role'];
  level: CaseDefinition['level'];
  clauses: string[];
  outcome: Outcome;
  /**
   * The reason from the expected-failures file, when the case is listed there and passed, or
   * failed as listed (under the listed clause, where the entry names one).
   */
  expectedFailure: string | null;
  /** Why it did not pass. */
  message: string | null;
  /** The clause of the failing check. */
  failedClause: string | null;
  /** What the failing check wanted and saw, when it compared two values. */
  observation: Observation | null;
  durationMs: number;
  /** The tail of what the launched endpoint printed. */
  endpointOutput: string;
  /** The case's capture, its key log and the tshark command that opens the one with the other. */
  artifacts: { pcap: string; keylog: string; tshark: string } | null;
}

export interface RunOptions {
  /** Per-case limit in ms on top of which each case's own timeout applies (the smaller wins). */
  caseTimeoutMs: number;
  /** Absolute time (performance.now()) after which no case starts and running ones stop. */
  deadline: number;
  concurrency: number;
  /** Where pcaps and key logs go; null: none written. */
  artifactsDir: string | null;
  /** The run's seed; each case draws from its own seed derived from it and the case id. */
  seed?: number;
  /** Runs of each case (`--repeat`, `--until-fail`), 1 by default. */
  repeat?: number;
  /** Stop a case's runs at its first failure (`--until-fail`) instead of running all of them. */
  untilFail?: boolean;
  onCaseStart?: (c: CaseDefinition) => void;
  onCaseEnd?: (r: CaseResult) => void;
  /** Once per role, when nothing the endpoint sent in the first cases authenticated: what was seen. */
  onFirstContact?: (role: CaseDefinition['role'], diagnosis: string) => void;
}

/**
 * A case's seed: the run's seed mixed with the case id (FNV-1a), so that `--seed` gives every
 * case the same draws again whatever else runs, and two cases do not share a sequence.
 */
export function caseSeed(runSeed: number | undefined, caseId: string): number {
  let h = 0x811c9dc5 ^ (runSeed ?? 0);
  for (let i = 0; i < caseId.length; i++) h = Math.imul(h ^ caseId.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** What a case needs beyond a server to talk to: capabilities and what the runner must launch. */
export function needsOf(c: CaseDefinition): string[] {
  return [
    ...(c.requires ?? []),
    ...(c.role === 'client' ? ['client command'] : []),
    ...(c.needsLaunch?.sink ? ['sink'] : c.needsLaunch ? ['launched server'] : []),
    ...(c.needsLaunch?.keyLog ? ['key log'] : []),
  ];
}

function unsupportedBecause(c: CaseDefinition, target: Target): string | null {
  const missing = (c.requires ?? []).filter((cap) => !target.config.capabilities[cap]);
  if (missing.length > 0) return `the target does not declare ${missing.join(', ')}`;
  if (c.role === 'client' && target.config.client === undefined) return 'the target has no client command';
  if (c.role === 'server' && target.config.server === undefined && target.attached === null)
    return 'the target has no server command and no --target';
  const launch = c.needsLaunch;
  if (launch !== undefined && (target.attached !== null || target.config.server === undefined))
    return 'the case needs a server the runner launches';
  if (launch?.sink && target.config.server?.sinkArgs === undefined)
    return 'the case needs a sink mode (server.sinkArgs)';
  if (launch?.keyLog && !target.config.server?.command.some((a) => a.includes('{keylog}')))
    return 'the server command has no {keylog} placeholder';
  return null;
}

/** After this many server starts in a row failed, with none succeeding, later cases do not try again. */
const START_FAILURES_TO_GIVE_UP = 2;

/**
 * After this many cases of a role in a row ended without a pass and without one datagram of
 * the endpoint that authenticated and decoded, and none did before, the role's later cases
 * fail at once with what those cases saw: an endpoint that never speaks the protocol costs
 * seconds, not a full run.
 */
const MUTE_CASES_TO_GIVE_UP = 3;

/** How the launches of one target's server, and its first contact per role, went so far in this run. */
export interface TargetHealth {
  started: number;
  failedInARow: number;
  firstFailure: string | null;
  /** Per role: whether anything of the endpoint ever authenticated, and the mute cases since. */
  contact: Record<CaseDefinition['role'], { spoke: boolean; mute: CaseResult[]; diagnosis: string | null }>;
  /** Told once per role when the endpoint is taken to be mute, with what was seen. */
  onDiagnosis: (role: CaseDefinition['role'], diagnosis: string) => void;
}

export const newHealth = (onDiagnosis: TargetHealth['onDiagnosis'] = () => {}): TargetHealth => ({
  onDiagnosis,
  started: 0,
  failedInARow: 0,
  firstFailure: null,
  contact: { server: { spoke: false, mute: [], diagnosis: null }, client: { spoke: false, mute: [], diagnosis: null } },
});

/** Takes note of how a case went with the endpoint: a first-contact diagnosis once it stays mute. */
function heard(health: TargetHealth, r: CaseResult, mtu: number): void {
  if (r.outcome === 'unsupported') return;
  const contact = health.contact[r.role];
  if (contact.spoke || contact.diagnosis !== null) return;
  if (authenticFromEndpoint(r) > 0) {
    contact.spoke = true;
    contact.mute = [];
    return;
  }
  // Only a case with datagrams in the tester's own timeline can say what the endpoint did instead.
  if (r.outcome === 'pass' || r.timeline.length === 0) return;
  contact.mute.push(r);
  if (contact.mute.length >= MUTE_CASES_TO_GIVE_UP && contact.diagnosis === null) {
    contact.diagnosis = firstContact(contact.mute, r.role, mtu);
    health.onDiagnosis(r.role, contact.diagnosis);
  }
}

/** A fresh result: a pass until something says otherwise. */
function newResult(c: CaseDefinition): CaseResult {
  return {
    id: c.id,
    title: c.title,
    role: c.role,
    level: c.level,
    clauses: c.clauses,
    outcome: 'pass',
    expectedFailure: null,
    message: null,
    failedClause: null,
    observation: null,
    durationMs: 0,
    ...emptyRecord(),
    endpointOutput: '',
    artifacts: null,
  };
}

/** Sets a result's outcome from how its case ended. */
function fail(
  result: CaseResult,
  outcome: Outcome,
  failedClause: string | null,
  message: string,
  observation: Observation | null = null,
): void {
  Object.assign(result, { outcome, failedClause, message, observation });
}

/** The first line of a crash, or the last line, of what a process printed. */
const lastWords = (output: string): string =>
  (output.split('\n').find((l) => /panic|fatal|error/i.test(l)) ?? output.trim().split('\n').at(-1) ?? '').trim();

/**
 * After the case, what the launched processes say of it: one that declined (status 127) makes
 * it unsupported; a server that died, or a client that crashed, is the failure, whatever
 * check noticed it first (crypto.receive.no-crash).
 */
function judgeProcesses(
  result: CaseResult,
  e: unknown,
  server: RunningServer | null,
  clients: LaunchedProcess[],
): void {
  const declined =
    e instanceof ServerStartFailure
      ? e.exitCode === UNSUPPORTED_EXIT
      : [server, ...clients].some((p) => p?.child.exitCode === UNSUPPORTED_EXIT);
  if (declined) {
    fail(
      result,
      'unsupported',
      null,
      `the endpoint exited with status ${UNSUPPORTED_EXIT}: it does not support what this case asks (it then ` +
        `looked like: ${result.message ?? 'a pass'})`,
    );
    return;
  }
  if (result.outcome === 'harness-error') return;
  if (server !== null && server.child.exitCode !== null) {
    const last = lastWords(server.output());
    const saw = result.outcome === 'pass' ? '' : `; the case then saw: ${result.message}`;
    fail(
      result,
      'fail',
      'crypto.receive.no-crash',
      `the endpoint process exited with code ${server.child.exitCode} during the case${last ? ` (${last})` : ''}${saw}`,
    );
    return;
  }
  for (const client of clients) {
    const crash = crashOf({ code: client.child.exitCode, signal: client.child.signalCode }, client.output());
    if (crash === null) continue;
    const saw = result.outcome === 'pass' ? 'the case had passed otherwise' : `the case then saw: ${result.message}`;
    fail(
      result,
      'fail',
      'crypto.receive.no-crash',
      `the client crashed (${crash}), exit status ${client.child.exitCode ?? client.child.signalCode}; ${saw}`,
    );
    return;
  }
}

/**
 * The protocol monitor's reading of the whole case (src/monitor.ts): a rule that always holds,
 * broken by any datagram of the endpoint's, fails a case that passed; of a case that failed
 * otherwise it is a note.
 */
function judgeTimeline(result: CaseResult, mtu: number): void {
  if (result.outcome !== 'pass' && result.outcome !== 'fail') return;
  const own = monitor(result.timeline, mtu, result.loopStallMs);
  const v = own === null ? result.relayViolations[0] : { clause: own.clause, message: explainViolation(own) };
  if (v === undefined) return;
  if (result.outcome === 'pass') fail(result, 'fail', v.clause, v.message);
  else result.notes.push(`the monitor also saw [${v.clause}]: ${v.message}`);
}

/** The seed of a case's run `run` (0 the first): the case's seed, then the ones after it. */
const runSeed = (options: RunOptions, c: CaseDefinition, run: number): number =>
  (caseSeed(options.seed, c.id) + run) >>> 0;

/**
 * A case run `--repeat` times: a chance-dependent case (impair.*) repeats its runs itself; any
 * other runs again under the next seed each time. The first run that did not pass is the case's
 * result ("run k of N" in its message), with a note counting how every run ended; `untilFail`
 * stops at that run.
 */
async function runRepeated(
  c: CaseDefinition,
  target: Target,
  options: RunOptions,
  health: TargetHealth,
): Promise<CaseResult> {
  const runs = options.repeat ?? 1;
  if (runs <= 1 || c.repeatable) return runOne(c, target, options, health, 0);
  const ends: CaseResult[] = [];
  let first: CaseResult | undefined;
  for (let run = 0; run < runs; run++) {
    const r = await runOne(c, target, options, health, run);
    ends.push(r);
    if (r.outcome === 'unsupported') return r;
    if (r.outcome !== 'pass' && first === undefined) {
      first = r;
      r.message = `run ${run + 1} of ${runs} (seed ${runSeed(options, c, run)}): ${r.message ?? ''}`;
      if (options.untilFail) break;
    }
  }
  const result = first ?? (ends.at(-1) as CaseResult);
  const counts = new Map<string, number>();
  for (const r of ends) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  result.notes.push(
    `${ends.length} of ${runs} runs` +
      (options.untilFail && ends.length < runs ? ' (stopped at the first failure, --until-fail)' : '') +
      `: ${[...counts].map(([outcome, n]) => `${n} ${outcome}`).join(', ')}`,
  );
  result.durationMs = ends.reduce((ms, r) => ms + r.durationMs, 0);
  return result;
}

/** Why a case is not run at all, as the outcome it then gets; null when it runs. */
function notRunBecause(
  c: CaseDefinition,
  target: Target,
  options: RunOptions,
  health: TargetHealth,
): { outcome: Outcome; clause: string | null; message: string } | null {
  const unsupported = unsupportedBecause(c, target);
  if (unsupported !== null) return { outcome: 'unsupported', clause: null, message: unsupported };
  if (performance.now() > options.deadline)
    return { outcome: 'timeout', clause: null, message: 'not started: the run reached its global deadline' };
  const mute = health.contact[c.role];
  if (mute.diagnosis === null) return null;
  return {
    outcome: 'fail',
    clause: mute.mute[0]?.failedClause ?? c.clauses[0] ?? null,
    message:
      `not run: nothing the endpoint sent in the ${mute.mute.length} ${c.role}-role cases before authenticated ` +
      `and decoded (${mute.mute.map((r) => r.id).join(', ')}): ${mute.diagnosis}`,
  };
}

/** Where a case's files go: its artifacts under --out, or temporary files removed after it. */
interface CaseFiles {
  /** The target's folder under --out; null without --out. */
  dir: string | null;
  /** The endpoint's own key log ({keylog}): kept as an artifact, or a temporary file; never appended to an old one. */
  endpointKeyLog: string;
  /** A file for a client's input ({input}). */
  clientInput: string;
}

function caseFiles(c: CaseDefinition, target: Target, options: RunOptions): CaseFiles {
  const dir = options.artifactsDir === null ? null : join(options.artifactsDir, target.config.name);
  if (dir !== null) mkdirSync(dir, { recursive: true });
  // Both targets of a run may run the same case at once: a temporary file names its target.
  const at = (suffix: string) =>
    dir === null
      ? join(tmpdir(), `qotp-${process.pid}-${target.config.name}-${c.id}.${suffix}`)
      : join(dir, `${c.id}.${suffix}`);
  const files = { dir, endpointKeyLog: at('endpoint.keylog'), clientInput: at('client-input') };
  rmSync(files.endpointKeyLog, { force: true });
  return files;
}

/** What a case left behind: the processes it launched, to judge and stop, and its tester's key log. */
interface Launched {
  server: RunningServer | null;
  clients: LaunchedProcess[];
  /** Everything to stop when the case ends, with what it printed. */
  stops: { stop(): void; output(): string }[];
  /** The secrets of the tester's connections, however the case ended: they open the pcap of a failure. */
  keyLog: string;
}

/** What a case may ask of the runner's processes: the server's output and key log, and a client launch. */
function processHooks(target: Target, files: CaseFiles, launched: Launched): ProcessHooks {
  return {
    endpointOutput: () => launched.server?.output() ?? '',
    endpointKeyLog: () => (existsSync(files.endpointKeyLog) ? readFileSync(files.endpointKeyLog, 'utf8') : ''),
    startClient(o): Promise<ClientRun> {
      const client = target.config.client;
      if (client === undefined) return Promise.reject(new Error('the target has no client command'));
      writeFileSync(files.clientInput, o.input);
      const values = {
        node: process.execPath,
        dir: target.dir,
        peer: formatHostPort(o.peer.address.host, o.peer.address.port),
        pubkey: Buffer.from(o.identityPublicKey).toString('hex'),
        input: files.clientInput,
        keylog: files.endpointKeyLog,
        seed: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex'),
      };
      const proc = launch(fill([...client.command, ...(o.zeroRtt ? (client.zeroRttArgs ?? []) : [])], values));
      launched.stops.push(proc);
      launched.clients.push(proc);
      return Promise.resolve({
        exited: proc.exited.then((code) => ({
          code,
          stdout: proc.output(),
          stderr: '',
          spawnError: proc.spawnError(),
        })),
        stop: proc.stop,
      });
    },
  };
}

/**
 * Where a case finds the endpoint: for a server-role case the attached server, or the one
 * launched for it; a client-role case has none (the client comes to the tester).
 */
function endpointOf(c: CaseDefinition, target: Target, server: RunningServer | null): CaseContext['endpoint'] {
  const mtu = target.config.mtu;
  if (c.role === 'client') return { address: null, publicKey: null, mtu };
  if (target.attached !== null)
    return { address: parseHostPort(target.attached.address), publicKey: target.attached.publicKey, mtu };
  if (server === null) return { address: null, publicKey: null, mtu };
  return { address: parseHostPort(server.address), publicKey: server.publicKey, mtu };
}

/**
 * Runs the case's script against `endpoint` until it ends or `endBy` (performance.now())
 * passes, in a worker thread of its own when the case is isolated; fills `result` with what
 * it recorded and `launched.keyLog` with the tester's secrets. Throws how it ended.
 */
async function runScript(
  c: CaseDefinition,
  result: CaseResult,
  endpoint: CaseContext['endpoint'],
  hooks: ProcessHooks,
  run: { seed: number; runs: number; endBy: number; limitMs: number },
  launched: Launched,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Timeout(`no verdict within ${Math.round(run.limitMs)} ms`)),
      Math.max(0, run.endBy - performance.now()),
    );
  });
  try {
    if (c.isolated) {
      const isolated = runIsolated({ caseId: c.id, endpoint, cryptoBackend: cryptoBackend().name, seed: run.seed });
      launched.stops.push({ stop: isolated.stop, output: () => '' });
      const outcome = await Promise.race([isolated.result, timeout]);
      Object.assign(result, outcome.record);
      launched.keyLog = outcome.keyLog;
      if (outcome.failure !== null) {
        throw outcome.failure.clause === null
          ? new Error(outcome.failure.message)
          : new CheckFailure(outcome.failure.clause, outcome.failure.message, outcome.failure.observation);
      }
      return;
    }
    const { ctx, peers, close } = caseContext(result, endpoint, hooks, run.seed, run.runs);
    try {
      await Promise.race([c.run(ctx), timeout]);
    } finally {
      close();
      launched.keyLog = keyLogOf(peers);
    }
  } finally {
    clearTimeout(timer);
  }
}
/**
 * A case's pcap and key log under --out; a case through a relay records nothing itself: its
 * capture is the relay's record.
 */
function writeArtifacts(c: CaseDefinition, result: CaseResult, dir: string, keyLog: string): void {
  const pcap = join(dir, `${c.id}.pcap`);
  const keylog = join(dir, `${c.id}.keylog`);
  const relayed = result.timeline.length === 0 ? result.relayCapture : null;
  writeFileSync(pcap, relayed?.pcap ?? writePcap(result.timeline));
  writeFileSync(keylog, relayed?.keyLog ?? keyLog);
  result.artifacts = { pcap, keylog, tshark: tsharkCommand(pcap, keylog) };
}

/**
 * One run of a case: whether it runs at all, its files, the server it talks to, its script
 * under one time limit (the server's start included), then the judgement of the processes
 * and of the timeline, the processes stopped, the artifacts written, the expected failure read.
 */
async function runOne(
  c: CaseDefinition,
  target: Target,
  options: RunOptions,
  health: TargetHealth,
  run: number,
): Promise<CaseResult> {
  const started = performance.now();
  const result = newResult(c);
  const finish = (): CaseResult => {
    result.durationMs = performance.now() - started;
    const listed = expectedFailureOf(target.expectedFailures.get(c.id), result);
    result.expectedFailure = listed.reason;
    if (listed.note !== null) result.notes.push(listed.note);
    heard(health, result, target.config.mtu);
    return result;
  };
  const notRun = notRunBecause(c, target, options, health);
  if (notRun !== null) {
    fail(result, notRun.outcome, notRun.clause, notRun.message);
    return finish();
  }

  const files = caseFiles(c, target, options);
  const launched: Launched = { server: null, clients: [], stops: [], keyLog: '' };
  const runs = c.repeatable ? (options.repeat ?? 1) : 1;
  const limitMs = Math.min(
    c.timeoutMs * runs,
    options.caseTimeoutMs * runs,
    Math.max(0, options.deadline - performance.now()),
  );
  const endBy = performance.now() + limitMs;
  let ended: unknown = null;
  try {
    if (c.role === 'server') {
      launched.server = await serverFor(c, target, files.endpointKeyLog, endBy, health);
      if (launched.server !== null) launched.stops.push(launched.server);
    }
    const endpoint = endpointOf(c, target, launched.server);
    const hooks = processHooks(target, files, launched);
    await runScript(c, result, endpoint, hooks, { seed: runSeed(options, c, run), runs, endBy, limitMs }, launched);
  } catch (e) {
    ended = e;
    const ending = endingOf(e);
    fail(result, ending.outcome, ending.failedClause, ending.message, ending.observation);
    if (e instanceof ServerStartFailure) launched.stops.push({ stop: () => {}, output: () => e.output });
  }
  try {
    judgeProcesses(result, ended, launched.server, launched.clients);
    judgeTimeline(result, target.config.mtu);
  } finally {
    result.endpointOutput = launched.stops
      .map((p) => p.output())
      .join('\n')
      .slice(-4000);
    for (const p of launched.stops) p.stop();
    if (files.dir === null) {
      rmSync(files.endpointKeyLog, { force: true });
      rmSync(files.clientInput, { force: true });
    }
  }
  if (files.dir !== null) writeArtifacts(c, result, files.dir, launched.keyLog);
  return finish();
}

/**
 * The server a server-role case talks to: a fresh one launched for it (null when the target
 * is attached). Two failed starts in a row with none succeeding fail the later cases at once.
 */
async function serverFor(
  c: CaseDefinition,
  target: Target,
  keyLog: string,
  endBy: number,
  health: TargetHealth,
): Promise<RunningServer | null> {
  if (target.attached !== null) return null;
  if (health.started === 0 && health.failedInARow >= START_FAILURES_TO_GIVE_UP) {
    throw new ServerStartFailure(
      `not started: the server failed to start in the ${health.failedInARow} cases before and never started in ` +
        `this run (first: ${health.firstFailure})`,
      '',
    );
  }
  try {
    const server = await startServer(target, keyLog, c.needsLaunch?.sink ? 'sink' : 'echo', endBy);
    health.started++;
    health.failedInARow = 0;
    return server;
  } catch (e) {
    if (e instanceof ServerStartFailure) {
      health.failedInARow++;
      health.firstFailure ??= e.message;
    }
    throw e;
  }
}

/**
 * Runs the cases with at most `concurrency` at a time, the longest first so that a long
 * wait (the retransmission schedule, a long transfer) overlaps the short ones; a case that
 * waits on the endpoint's timer (`waitsOnTimer`: the idle timeout, a give-up) starts at once
 * beside them, taking no place, since it does next to nothing meanwhile. Results come back in
 * catalogue order.
 */
export async function runCases(cases: CaseDefinition[], target: Target, options: RunOptions): Promise<CaseResult[]> {
  warmUp();
  const results: CaseResult[] = new Array(cases.length);
  const longestFirst = (indices: number[]) =>
    indices.sort((a, b) => (cases[b] as CaseDefinition).timeoutMs - (cases[a] as CaseDefinition).timeoutMs);
  const all = cases.map((_, i) => i);
  // With a concurrency of 1 everything runs one at a time, as a user who asks for it means.
  const aside = (i: number) => cases[i]?.waitsOnTimer === true && options.concurrency > 1;
  const waiting = longestFirst(all.filter(aside));
  const order = longestFirst(all.filter((i) => !aside(i)));
  const health = newHealth(options.onFirstContact);
  const worker = (queue: number[]) => async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const c = cases[i] as CaseDefinition;
      options.onCaseStart?.(c);
      // Whatever goes wrong in the runner itself is that case's harness error, never the run's end.
      const r = await runRepeated(c, target, options, health).catch((e: unknown) => {
        const failed = newResult(c);
        fail(failed, 'harness-error', null, e instanceof Error ? (e.stack ?? e.message) : String(e));
        return failed;
      });
      results[i] = r;
      options.onCaseEnd?.(r);
    }
  };
  await Promise.all([
    ...waiting.map(() => worker(waiting)()),
    ...Array.from({ length: Math.max(1, options.concurrency) }, worker(order)),
  ]);
  return results;
}
