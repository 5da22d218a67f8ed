// Targets: how the runner reaches an implementation under test. A target file (schema:
// schemas/target.schema.json) declares the endpoint's MTU and capabilities and, to launch
// it, command templates for the server and client roles; without a server template the
// runner attaches to a server that is already running (--target, --pubkey).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseHostPort } from '@qotp/reference/node';
import type { Capability } from '../kit/case.js';
import { schemaValidator } from '../schemas.js';
import { ServerStartFailure, type ExpectedFailure } from '../verdict.js';

export interface TargetConfig {
  name: string;
  description: string;
  mtu: number;
  capabilities: Record<Capability, boolean>;
  server?: { command: string[]; ready?: string; sinkArgs?: string[] };
  client?: { command: string[]; zeroRttArgs?: string[] };
  version?: { command: string[]; pattern: string; source?: string };
  /** One file, or one per version (as the version probe reads it). */
  expectedFailures?: string | Record<string, string>;
}

/** What the runner found out about the implementation behind a target. */
export interface Implementation {
  /** As the version probe read it ("v0.2.18", "(devel)"), or null without a probe or when it failed. */
  version: string | null;
  /** How the version was read, or why it could not be. */
  versionSource: string;
  /** The expected-failures file in use, relative to the target file; null for none. */
  expectedFailuresFile: string | null;
  /** Why that file (or none) was chosen, when there was a choice. */
  expectedFailuresNote: string | null;
}

/** An implementation whose version nobody asked, with no expected failures. */
export const unprobed = (why: string): Implementation => ({
  version: null,
  versionSource: why,
  expectedFailuresFile: null,
  expectedFailuresNote: null,
});

export interface LoadOptions {
  /** Use the expected failures of this version whatever the probe reads (e.g. for a "(devel)" build). */
  expectedFailuresFor?: string;
  /** Check the launch commands (placeholders, programs) and throw on a problem; true unless said. */
  check?: boolean;
}

/** The placeholders each kind of command may use. */
const PLACEHOLDERS = {
  server: ['node', 'dir', 'listen', 'seed', 'keylog'],
  client: ['node', 'dir', 'peer', 'pubkey', 'input', 'keylog', 'seed'],
  version: ['node', 'dir'],
} as const;

/** Where a program would be run from: a path as given, or the first match on PATH; null when none. */
function findProgram(program: string, dir: string): string | null {
  const executable = (path: string) => {
    try {
      accessSync(path, fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (program.includes('/')) return executable(isAbsolute(program) ? program : resolve(dir, program)) ? program : null;
  for (const entry of (process.env.PATH ?? '').split(delimiter))
    if (entry !== '' && executable(join(entry, program))) return join(entry, program);
  return null;
}

/**
 * What keeps a target's launch commands from running, one line each: a placeholder the
 * command may not use, or a program that is not there. Empty when they can run.
 */
export function launchProblems(t: Pick<Target, 'config' | 'dir'>): string[] {
  const problems: string[] = [];
  const commands: [keyof typeof PLACEHOLDERS, string, string[] | undefined][] = [
    ['server', 'server.command', t.config.server?.command],
    ['server', 'server.sinkArgs', t.config.server?.sinkArgs],
    ['client', 'client.command', t.config.client?.command],
    ['client', 'client.zeroRttArgs', t.config.client?.zeroRttArgs],
    ['version', 'version.command', t.config.version?.command],
  ];
  for (const [kind, where, argv] of commands) {
    if (argv === undefined) continue;
    const allowed: readonly string[] = PLACEHOLDERS[kind];
    for (const arg of argv) {
      for (const [, name] of arg.matchAll(/\{(\w+)\}/g)) {
        if (!allowed.includes(name as string))
          problems.push(
            `${where}: unknown placeholder {${name}} (${kind} commands take ${allowed.map((n) => `{${n}}`).join(' ')})`,
          );
      }
    }
    if (where.endsWith('.command') && kind !== 'version' && problems.length === 0) {
      const program = (argv[0] as string).replace('{node}', process.execPath).replace('{dir}', t.dir);
      if (!/\{\w+\}/.test(program) && findProgram(program, t.dir) === null) {
        problems.push(
          `${where}: ${program} ${program.includes('/') ? 'does not exist or is not executable' : 'is not on PATH'}`,
        );
      }
    }
  }
  return problems;
}

export interface Target {
  config: TargetConfig;
  /** Directory of the target file: {dir} in commands. */
  dir: string;
  /** Case id -> its entry in the expected-failures file. */
  expectedFailures: Map<string, ExpectedFailure>;
  implementation: Implementation;
  /** Set for an attached (already running) server. */
  attached: { address: string; publicKey: Uint8Array } | null;
  /** The command-line arguments that chose this target (`--bundled go`, ...): the CLI sets them. */
  chosenBy?: string[];
  /**
   * The command that runs this target again with the same seed and verdict options (the CLI
   * sets it): a failed case's replay is it with `--grep '^ID$'`.
   */
  replay?: string;
}

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TargetError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** How long the version command may take (`go version -m` reads the binary: milliseconds). */
const VERSION_PROBE_MS = 10_000;

/** Runs the target's version command and matches its output; never throws. */
function probeVersion(target: TargetConfig, dir: string): Pick<Implementation, 'version' | 'versionSource'> {
  const probe = target.version;
  if (probe === undefined) return { version: null, versionSource: 'the target file has no version probe' };
  const argv = fill(probe.command, { node: process.execPath, dir });
  const shown = probe.source ?? argv.join(' ');
  const run = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: VERSION_PROBE_MS });
  if (run.error !== undefined) return { version: null, versionSource: `${shown} could not run: ${run.error.message}` };
  if (run.status !== 0)
    return {
      version: null,
      versionSource: `${shown} exited with ${run.status ?? run.signal}: ${(run.stderr || run.stdout).trim().slice(0, 200)}`,
    };
  const version = new RegExp(probe.pattern, 'm').exec(run.stdout)?.groups?.version;
  if (version === undefined)
    return {
      version: null,
      versionSource: `${shown} printed nothing that matches /${probe.pattern}/: ${run.stdout.trim().slice(0, 200)}`,
    };
  return { version, versionSource: shown };
}

/** Picks the expected-failures file: the only one, or the one for the probed (or the asked-for) version. */
function chooseExpectedFailures(
  target: TargetConfig,
  found: Pick<Implementation, 'version' | 'versionSource'>,
  options: LoadOptions,
): Pick<Implementation, 'expectedFailuresFile' | 'expectedFailuresNote'> {
  const files = target.expectedFailures;
  if (files === undefined) return { expectedFailuresFile: null, expectedFailuresNote: null };
  if (typeof files === 'string') return { expectedFailuresFile: files, expectedFailuresNote: null };
  const known = Object.keys(files).join(', ');
  const key = options.expectedFailuresFor ?? found.version;
  const how = options.expectedFailuresFor !== undefined ? `chosen by --expected-failures-for` : `for the version found`;
  if (key !== null && files[key] !== undefined) {
    const asked =
      options.expectedFailuresFor !== undefined && found.version !== key
        ? ` although the version found is ${found.version ?? 'unknown'}`
        : '';
    return { expectedFailuresFile: files[key], expectedFailuresNote: `${how}${asked}` };
  }
  const why = key === null ? `the version is unknown (${found.versionSource})` : `there is none for ${key}`;
  return {
    expectedFailuresFile: null,
    expectedFailuresNote: `no expected failures: ${why}; there are files for ${known} (--expected-failures-for VERSION picks one); every failure counts`,
  };
}

/**
 * Reads a target file, probes the implementation's version and reads the matching expected failures, all checked
 * against their schemas.
 */
export function loadTarget(path: string, options: LoadOptions = {}): Target {
  const config = readJson(path);
  const problems = schemaValidator('target.schema.json')(config);
  if (problems.length > 0) throw new TargetError(`${path} is not a valid target file:\n  ${problems.join('\n  ')}`);
  const target = config as TargetConfig;
  const dir = dirname(resolve(path));
  const unusable = options.check === false ? [] : launchProblems({ config: target, dir });
  if (unusable.length > 0) throw new TargetError(`${path} cannot be launched:\n  ${unusable.join('\n  ')}`);
  const found = probeVersion(target, dir);
  const implementation: Implementation = { ...found, ...chooseExpectedFailures(target, found, options) };
  let expectedFailures = new Map<string, ExpectedFailure>();
  if (implementation.expectedFailuresFile !== null) {
    const file = resolve(dir, implementation.expectedFailuresFile);
    const list = readExpectedFailures(file);
    if (
      list.release !== undefined &&
      typeof target.expectedFailures === 'object' &&
      target.expectedFailures[list.release] !== implementation.expectedFailuresFile
    ) {
      throw new TargetError(`${file} says it is for ${list.release}, but ${path} lists it under another version`);
    }
    expectedFailures = list.entries;
  }
  return { config: target, dir, expectedFailures, implementation, attached: null };
}

/** Reads an expected-failures file, checked against its schema and with every pattern compiled: case id -> entry. */
function readExpectedFailures(file: string): { release?: string; entries: Map<string, ExpectedFailure> } {
  const data = readJson(file);
  const errors = schemaValidator('expected-failures.schema.json')(data);
  if (errors.length > 0)
    throw new TargetError(`${file} is not a valid expected-failures file:\n  ${errors.join('\n  ')}`);
  const list = data as { release?: string; entries: ExpectedFailure[] };
  const entries = new Map<string, ExpectedFailure>();
  for (const e of list.entries) {
    if (e.observed !== undefined) compilePattern(e.observed, `${file}: entry ${e.case}: observed`);
    entries.set(e.case, e);
  }
  return { ...(list.release === undefined ? {} : { release: list.release }), entries };
}

/** The target with the expected failures of `file` (`--expected-failures`, a baseline) instead of its own. */
export function withExpectedFailures(target: Target, file: string): Target {
  const { entries } = readExpectedFailures(resolve(file));
  return {
    ...target,
    expectedFailures: entries,
    implementation: {
      ...target.implementation,
      expectedFailuresFile: file,
      expectedFailuresNote: 'given by --expected-failures',
    },
  };
}

function compilePattern(pattern: string, where: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new TargetError(`${where}: not a regular expression: ${(e as Error).message}`);
  }
}

const bundledDir = fileURLToPath(new URL('../../targets/', import.meta.url));

/** The target files shipped in conformance/targets/. */
export const bundledTargetNames = ['reference', 'go'];

/** One of the target files shipped in conformance/targets/ ("reference", "go"). */
export function bundledTarget(name: string, options: LoadOptions = {}): Target {
  return loadTarget(`${bundledDir}${name}.json`, options);
}

/** A target for a server started by hand: no launch commands, so no client-role cases. */
export function attachedTarget(address: string, publicKey: Uint8Array, base: TargetConfig | null): Target {
  const config: TargetConfig = base ?? {
    name: 'attached',
    description: `endpoint at ${address}`,
    mtu: 1400,
    capabilities: { zeroRtt: true, pingInHandshakeReply: false },
  };
  return {
    config,
    dir: process.cwd(),
    expectedFailures: new Map(),
    implementation: unprobed('an attached server is not probed'),
    attached: { address, publicKey },
  };
}

export function fill(template: string[], values: Record<string, string>): string[] {
  return template.map((arg) =>
    arg.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const v = values[name];
      if (v === undefined) throw new TargetError(`unknown placeholder ${whole} in command template`);
      return v;
    }),
  );
}

export interface LaunchedProcess {
  child: ChildProcess;
  /** What the process printed on stdout and stderr: the start and the end when it printed much. */
  output(): string;
  /** The first line it printed that matched `watch`, if any (scanned as lines arrive, so none is missed). */
  matched(): RegExpExecArray | null;
  /** Resolves with the exit code when the process ends (-1 for a signal or a spawn failure). */
  exited: Promise<number | null>;
  /** Set when the command could not be started at all (ENOENT, EACCES): the target file's fault, not the endpoint's. */
  spawnError(): string | null;
  /** Kills the process and everything it started (its process group). */
  stop(): void;
}

/** Every launched process group still alive, so that a signalled runner can end them all. */
const live = new Set<LaunchedProcess>();

/** Kills every endpoint the runner launched and has not stopped yet (on SIGINT or SIGTERM). */
export function stopAllLaunched(): number {
  const n = live.size;
  for (const p of [...live]) p.stop();
  return n;
}

const OUTPUT_HEAD = 16_000;
const OUTPUT_TAIL = 32_000;

/**
 * Starts a command in a process group of its own: an endpoint launched through a wrapper
 * script (a shell, npx, a container runner) leaves no child behind when the group is killed.
 */
export function launch(argv: string[], watch: RegExp | null = null): LaunchedProcess {
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let head = '';
  let tail = '';
  let dropped = 0;
  let match: RegExpExecArray | null = null;
  let spawnFailure: string | null = null;
  const keep = (text: string) => {
    if (head.length < OUTPUT_HEAD) {
      const room = OUTPUT_HEAD - head.length;
      head += text.slice(0, room);
      text = text.slice(room);
    }
    tail += text;
    if (tail.length > 2 * OUTPUT_TAIL) {
      dropped += tail.length - OUTPUT_TAIL;
      tail = tail.slice(-OUTPUT_TAIL);
    }
  };
  const scanner = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const text = chunk.toString();
      keep(text);
      if (watch === null || match !== null) return;
      const lines = (partial + text).split('\n');
      partial = (lines.pop() as string).slice(-4096); // a line longer than that cannot be a ready line
      for (const line of lines) {
        const m = watch.exec(line.replace(/\r$/, ''));
        if (m !== null) {
          match = m;
          return;
        }
      }
    };
  };
  child.stdout?.on('data', scanner());
  child.stderr?.on('data', scanner());
  const proc: LaunchedProcess = {
    child,
    output: () => (dropped > 0 ? `${head}\n[... ${dropped} bytes of output left out ...]\n${tail}` : head + tail),
    matched: () => match,
    spawnError: () => spawnFailure,
    exited: new Promise<number | null>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(proc);
        resolve(code ?? (signal ? -1 : null));
      });
      child.once('error', (e) => {
        spawnFailure = `cannot run '${argv.join(' ')}': ${e.message}`;
        keep(`\n${spawnFailure}`);
        live.delete(proc);
        resolve(-1);
      });
    }),
    stop: () => {
      live.delete(proc);
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL'); // the whole group: wrapper and endpoint
      } catch {
        // the group is gone already
      }
    },
  };
  live.add(proc);
  return proc;
}

const READY = '^qotp listening (?<address>\\S+) (?<publicKey>[0-9a-fA-F]{64})$';
const SERVER_START_MS = 10_000;

export interface RunningServer extends LaunchedProcess {
  address: string;
  publicKey: Uint8Array;
}

const lastLines = (text: string, n = 5): string => text.trim().split('\n').slice(-n).join(' | ');

/**
 * Launches the target's server and waits, at most until `startBy` (performance.now()), for
 * the line that gives its address and key (never longer than 10 s).
 */
export async function startServer(
  target: Target,
  keylog: string,
  application: 'echo' | 'sink' = 'echo',
  startBy = Infinity,
): Promise<RunningServer> {
  const server = target.config.server;
  if (server === undefined) throw new TargetError(`target ${target.config.name} has no server command`);
  if (application === 'sink' && server.sinkArgs === undefined)
    throw new TargetError(`target ${target.config.name} has no sink mode`);
  const argv = fill([...server.command, ...(application === 'sink' ? (server.sinkArgs ?? []) : [])], {
    node: process.execPath,
    dir: target.dir,
    listen: '127.0.0.1:0',
    seed: randomBytes(32).toString('hex'),
    keylog,
  });
  const ready = new RegExp(server.ready ?? READY);
  const proc = launch(argv, ready);
  const limit = Math.min(SERVER_START_MS, Math.max(0, startBy - performance.now()));
  const fail = (message: string): never => {
    proc.stop();
    throw new ServerStartFailure(message, proc.output(), proc.child.exitCode);
  };
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    proc.exited,
    new Promise<'ready' | 'late'>((resolve) => {
      const started = performance.now();
      const poll = () => {
        if (proc.matched() !== null) resolve('ready');
        else if (performance.now() - started >= limit) resolve('late');
        else timer = setTimeout(poll, 5);
      };
      poll();
    }),
  ]);
  clearTimeout(timer);
  const spawnError = proc.spawnError();
  if (spawnError !== null) throw new TargetError(spawnError);
  const m = proc.matched();
  if (m === null) {
    if (code === 'late')
      fail(
        `the server printed no line matching /${ready.source}/ within ${Math.round(limit)} ms${proc.output().trim() ? `; it printed: ${lastLines(proc.output())}` : ' and nothing else'}`,
      );
    fail(
      `the server exited with status ${code} before it printed its ready line${proc.output().trim() ? `: ${lastLines(proc.output())}` : ' (it printed nothing)'}`,
    );
  }
  const { address, publicKey } = (m as RegExpExecArray).groups ?? {};
  if (address === undefined || publicKey === undefined)
    throw new TargetError(`the ready pattern /${ready.source}/ must have the named groups address and publicKey`);
  if (!/^[0-9a-fA-F]{64}$/.test(publicKey))
    fail(`the server's ready line gave the public key '${publicKey.slice(0, 80)}', expected 64 hex digits`);
  try {
    parseHostPort(address);
  } catch (e) {
    fail(`the server's ready line gave the address '${address.slice(0, 80)}': ${(e as Error).message}`);
  }
  if (typeof code === 'number' || proc.child.exitCode !== null)
    fail(
      `the server exited with status ${proc.child.exitCode ?? code} right after its ready line: ${lastLines(proc.output())}`,
    );
  return { ...proc, address, publicKey: new Uint8Array(Buffer.from(publicKey, 'hex')) };
}
