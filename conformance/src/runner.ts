// Runs cases against a target: a fresh server per case when the target can be launched,
// a tester peer per need, each case bounded by its own timeout and by the run's global
// deadline, so that a hanging endpoint can never hang the run. Outcomes are distinct:
// pass, fail, unsupported (declared, never counted), timeout and harness error.
import { cryptoBackend } from '@qotp/reference';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { caseContext, warmUp, type CaseRecord, type ProcessHooks } from './case-context.js';
import type { CaseContext, CaseDefinition, ClientRun, Observation } from './cases/case.js';
import { CheckFailure } from './cases/case.js';
import { runIsolated } from './isolated.js';
import { formatHostPort, parseHostPort } from '@qotp/reference/node';
import { keyLogOf, writePcap } from './report/artifacts.js';
import { failsAsListed, fill, launch, ServerStartFailure, UNSUPPORTED_EXIT, startServer, type RunningServer, type Target } from './targets/target.js';

export type Outcome = 'pass' | 'fail' | 'unsupported' | 'timeout' | 'harness-error';

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
  artifacts: { pcap: string; keylog: string } | null;
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
  /** Runs of each repeatable case (`--repeat`), 1 by default. */
  repeat?: number;
  onCaseStart?: (c: CaseDefinition) => void;
  onCaseEnd?: (r: CaseResult) => void;
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

/** Whether a case counts against the verdict: MUST always, SHOULD in strict mode. */
export const counts = (r: Pick<CaseResult, 'level'>, strict: boolean): boolean => r.level === 'MUST' || strict;
export const isFailure = (r: CaseResult): boolean => r.outcome === 'fail' || r.outcome === 'timeout' || r.outcome === 'harness-error';

/** What a case needs beyond a server to talk to: capabilities and what the runner must launch. */
export function needsOf(c: CaseDefinition): string[] {
  return [...(c.requires ?? []), ...(c.role === 'client' ? ['client command'] : []), ...(c.needsLaunch?.sink ? ['sink'] : c.needsLaunch ? ['launched server'] : []), ...(c.needsLaunch?.keyLog ? ['key log'] : [])];
}

function unsupportedBecause(c: CaseDefinition, target: Target): string | null {
  const missing = (c.requires ?? []).filter((cap) => !target.config.capabilities[cap]);
  if (missing.length > 0) return `the target does not declare ${missing.join(', ')}`;
  if (c.role === 'client' && target.config.client === undefined) return 'the target has no client command';
  if (c.role === 'server' && target.config.server === undefined && target.attached === null) return 'the target has no server command and no --target';
  const launch = c.needsLaunch;
  if (launch !== undefined && (target.attached !== null || target.config.server === undefined)) return 'the case needs a server the runner launches';
  if (launch?.sink && target.config.server?.sinkArgs === undefined) return 'the case needs a sink mode (server.sinkArgs)';
  if (launch?.keyLog && !target.config.server?.command.some((a) => a.includes('{keylog}'))) return 'the server command has no {keylog} placeholder';
  return null;
}

class Timeout extends Error {}

/** After this many server starts in a row failed, with none succeeding, later cases do not try again. */
const START_FAILURES_TO_GIVE_UP = 2;

/** How the launches of one target's server went so far in this run. */
interface LaunchHealth {
  started: number;
  failedInARow: number;
  firstFailure: string | null;
}

async function runOne(c: CaseDefinition, target: Target, options: RunOptions, health: LaunchHealth): Promise<CaseResult> {
  const started = performance.now();
  const result: CaseResult = {
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
    checks: [],
    measurements: [],
    notes: [],
    timeline: [],
    endpointOutput: '',
    artifacts: null,
  };
  const finish = (): CaseResult => {
    result.durationMs = performance.now() - started;
    const listed = target.expectedFailures.get(c.id);
    if (listed !== undefined) {
      const specific = listed.clause !== undefined || listed.observed !== undefined;
      const asListed = result.outcome === 'pass' || result.outcome === 'unsupported' || !specific || (result.outcome === 'fail' && failsAsListed(listed, result.failedClause, result.message));
      if (asListed) result.expectedFailure = listed.reason;
      else {
        const wanted = [listed.clause === undefined ? '' : `under ${listed.clause}`, listed.observed === undefined ? '' : `with a message matching /${listed.observed}/`].filter(Boolean).join(' ');
        const got = result.outcome === 'fail' ? `failed under ${result.failedClause}: ${result.message}` : `ended as ${result.outcome}`;
        result.notes.push(`listed as an expected failure ${wanted} (${listed.reason}), but it ${got}: counted as unexpected`);
      }
    }
    return result;
  };
  const unsupported = unsupportedBecause(c, target);
  if (unsupported !== null) {
    result.outcome = 'unsupported';
    result.message = unsupported;
    return finish();
  }
  if (performance.now() > options.deadline) {
    result.outcome = 'timeout';
    result.message = 'not started: the run reached its global deadline';
    return finish();
  }

  const caseDir = options.artifactsDir === null ? null : join(options.artifactsDir, target.config.name);
  if (caseDir !== null) mkdirSync(caseDir, { recursive: true });
  const processes: { stop(): void; output(): string; child?: ChildProcess }[] = [];
  let server: RunningServer | null = null;
  let keyLog = '';
  // The endpoint's own key log: kept as an artifact, or a temporary file; never appended to an old one.
  const endpointKeyLog = caseDir === null ? join(tmpdir(), `qotp-${process.pid}-${c.id}.endpoint.keylog`) : join(caseDir, `${c.id}.endpoint.keylog`);
  rmSync(endpointKeyLog, { force: true });

  const hooks: ProcessHooks = {
    endpointOutput: () => server?.output() ?? '',
    endpointKeyLog: () => (existsSync(endpointKeyLog) ? readFileSync(endpointKeyLog, 'utf8') : ''),
    async startClient(o): Promise<ClientRun> {
      const client = target.config.client;
      if (client === undefined) throw new Error('the target has no client command');
      const input = join(caseDir ?? tmpdir(), caseDir === null ? `qotp-${process.pid}-${c.id}.client-input` : `${c.id}.client-input`);
      writeFileSync(input, o.input);
      const values = {
        node: process.execPath,
        dir: target.dir,
        peer: formatHostPort(o.peer.address.host, o.peer.address.port),
        pubkey: Buffer.from(o.identityPublicKey).toString('hex'),
        input,
        keylog: endpointKeyLog,
        seed: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex'),
      };
      const argv = fill([...client.command, ...(o.zeroRtt ? (client.zeroRttArgs ?? []) : [])], values);
      const proc = launch(argv);
      processes.push(proc);
      return { exited: proc.exited.then((code) => ({ code, stdout: proc.output(), stderr: '', spawnError: proc.spawnError() })), stop: proc.stop };
    },
  };

  // One limit for the whole case, the server's start included.
  const runs = c.repeatable ? (options.repeat ?? 1) : 1;
  const limit = Math.min(c.timeoutMs * runs, options.caseTimeoutMs * runs, Math.max(0, options.deadline - performance.now()));
  const endBy = performance.now() + limit;
  try {
    let endpoint: CaseContext['endpoint'] = { address: null, publicKey: null, mtu: target.config.mtu };
    if (c.role === 'server') {
      if (target.attached !== null) {
        endpoint = { address: parseHostPort(target.attached.address), publicKey: target.attached.publicKey, mtu: target.config.mtu };
      } else {
        if (health.started === 0 && health.failedInARow >= START_FAILURES_TO_GIVE_UP) {
          throw new ServerStartFailure(`not started: the server failed to start in the ${health.failedInARow} cases before and never started in this run (first: ${health.firstFailure})`, '');
        }
        try {
          server = await startServer(target, endpointKeyLog, c.needsLaunch?.sink ? 'sink' : 'echo', endBy);
          health.started++;
          health.failedInARow = 0;
        } catch (e) {
          if (e instanceof ServerStartFailure) {
            health.failedInARow++;
            health.firstFailure ??= e.message;
          }
          throw e;
        }
        processes.push(server);
        endpoint = { address: parseHostPort(server.address), publicKey: server.publicKey, mtu: target.config.mtu };
      }
    }
    const remaining = Math.max(0, endBy - performance.now());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout(`no verdict within ${Math.round(limit)} ms`)), remaining);
    });
    try {
      if (c.isolated) {
        const isolated = runIsolated({ caseId: c.id, endpoint, cryptoBackend: cryptoBackend().name, seed: caseSeed(options.seed, c.id) });
        processes.push({ stop: isolated.stop, output: () => '' });
        const outcome = await Promise.race([isolated.result, timeout]);
        Object.assign(result, outcome.record);
        keyLog = outcome.keyLog;
        if (outcome.failure !== null) {
          throw outcome.failure.clause === null ? new Error(outcome.failure.message) : new CheckFailure(outcome.failure.clause, outcome.failure.message, outcome.failure.observation);
        }
      } else {
        const { ctx, peers, close } = caseContext(result, endpoint, hooks, caseSeed(options.seed, c.id), runs);
        try {
          await Promise.race([c.run(ctx), timeout]);
        } finally {
          close();
          keyLog = keyLogOf(peers);
        }
      }
    } finally {
      clearTimeout(timer);
    }
    if (server !== null && server.child.exitCode !== null) {
      throw new CheckFailure('crypto.receive.no-crash', `the endpoint process exited with code ${server.child.exitCode} during the case`);
    }
  } catch (e) {
    if (e instanceof CheckFailure) {
      result.outcome = 'fail';
      result.failedClause = e.clause;
      result.message = e.message;
      result.observation = e.observation;
    } else if (e instanceof ServerStartFailure) {
      result.outcome = 'fail';
      result.failedClause = 'harness.server-ready';
      result.message = e.message;
      processes.push({ stop: () => {}, output: () => e.output });
    } else if (e instanceof Timeout) {
      result.outcome = 'timeout';
      result.message = e.message;
    } else {
      result.outcome = 'harness-error';
      result.message = (e as Error).stack ?? String(e);
    }
    const declined = e instanceof ServerStartFailure ? e.exitCode === UNSUPPORTED_EXIT : processes.some((p) => p.child?.exitCode === UNSUPPORTED_EXIT);
    if (declined) {
      result.outcome = 'unsupported';
      result.failedClause = null;
      result.message = `the endpoint exited with status ${UNSUPPORTED_EXIT}: it does not support what this case asks (it then looked like: ${result.message})`;
    } else if (server !== null && server.child.exitCode !== null && result.outcome !== 'harness-error') {
      // The endpoint died during the case: that is the failure, whatever check noticed it first.
      const output = server.output();
      const last = output.split('\n').find((l) => /panic|fatal|error/i.test(l)) ?? output.trim().split('\n').at(-1) ?? '';
      result.outcome = 'fail';
      result.failedClause = 'crypto.receive.no-crash';
      result.message = `the endpoint process exited with code ${server.child.exitCode} during the case${last ? ` (${last.trim()})` : ''}; the case then saw: ${result.message}`;
    }
  } finally {
    result.endpointOutput = processes.map((p) => p.output()).join('\n').slice(-4000);
    for (const p of processes) p.stop();
    if (caseDir === null) rmSync(endpointKeyLog, { force: true });
  }
  if (caseDir !== null) {
    const pcap = join(caseDir, `${c.id}.pcap`);
    const keylog = join(caseDir, `${c.id}.keylog`);
    writeFileSync(pcap, writePcap(result.timeline));
    writeFileSync(keylog, keyLog);
    result.artifacts = { pcap, keylog };
  }
  return finish();
}

/**
 * Runs the cases with at most `concurrency` at a time, the longest first so that a long
 * wait (the idle timeout, the retransmission schedule) overlaps the short ones; results
 * come back in catalogue order.
 */
export async function runCases(cases: CaseDefinition[], target: Target, options: RunOptions): Promise<CaseResult[]> {
  warmUp();
  const results: CaseResult[] = new Array(cases.length);
  const order = cases.map((_, i) => i).sort((a, b) => (cases[b] as CaseDefinition).timeoutMs - (cases[a] as CaseDefinition).timeoutMs);
  let next = 0;
  const health: LaunchHealth = { started: 0, failedInARow: 0, firstFailure: null };
  const worker = async () => {
    while (next < order.length) {
      const i = order[next++] as number;
      const c = cases[i] as CaseDefinition;
      options.onCaseStart?.(c);
      const r = await runOne(c, target, options, health);
      results[i] = r;
      options.onCaseEnd?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  return results;
}
