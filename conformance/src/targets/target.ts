// Targets: how the runner reaches an implementation under test. A target file (schema:
// schemas/target.schema.json) declares the endpoint's MTU and capabilities and, to launch
// it, command templates for the server and client roles; without a server template the
// runner attaches to a server that is already running (--target, --pubkey).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Capability } from '../cases/case.js';
import { schemaValidator } from '../schemas.js';

export interface TargetConfig {
  name: string;
  description: string;
  mtu: number;
  capabilities: Record<Capability, boolean>;
  server?: { command: string[]; ready?: string; sinkArgs?: string[] };
  client?: { command: string[]; zeroRttArgs?: string[] };
  expectedFailures?: string;
}

export interface ExpectedFailure {
  case: string;
  reason: string;
}

export interface Target {
  config: TargetConfig;
  /** Directory of the target file: {dir} in commands. */
  dir: string;
  /** Case id -> reason. */
  expectedFailures: Map<string, string>;
  /** Set for an attached (already running) server. */
  attached: { address: string; publicKey: Uint8Array } | null;
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

/** Reads a target file and its expected failures, both checked against their schemas. */
export function loadTarget(path: string): Target {
  const config = readJson(path);
  const problems = schemaValidator('target.schema.json')(config);
  if (problems.length > 0) throw new TargetError(`${path} is not a valid target file:\n  ${problems.join('\n  ')}`);
  const target = config as TargetConfig;
  const dir = dirname(resolve(path));
  const expectedFailures = new Map<string, string>();
  if (target.expectedFailures !== undefined) {
    const file = resolve(dir, target.expectedFailures);
    const data = readJson(file);
    const errors = schemaValidator('expected-failures.schema.json')(data);
    if (errors.length > 0) throw new TargetError(`${file} is not a valid expected-failures file:\n  ${errors.join('\n  ')}`);
    for (const e of (data as { entries: ExpectedFailure[] }).entries) expectedFailures.set(e.case, e.reason);
  }
  return { config: target, dir, expectedFailures, attached: null };
}

const bundledDir = fileURLToPath(new URL('../../targets/', import.meta.url));

/** One of the target files shipped in conformance/targets/ ("reference", "go"). */
export function bundledTarget(name: string): Target {
  return loadTarget(`${bundledDir}${name}.json`);
}

/** A target for a server started by hand: no launch commands, so no client-role cases. */
export function attachedTarget(address: string, publicKey: Uint8Array, base: TargetConfig | null): Target {
  const config: TargetConfig = base ?? {
    name: 'attached',
    description: `endpoint at ${address}`,
    mtu: 1400,
    capabilities: { zeroRtt: true, pingInHandshakeReply: false },
  };
  return { config, dir: process.cwd(), expectedFailures: new Map(), attached: { address, publicKey } };
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
  output(): string;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
  stop(): void;
}

export function launch(argv: string[]): LaunchedProcess {
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 64_000) out = out.slice(-32_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    child.once('error', (e) => {
      out += `\n${e.message}`;
      resolve(-1);
    });
  });
  return { child, output: () => out, exited, stop: () => child.kill('SIGKILL') };
}

const READY = '^qotp listening (?<address>\\S+) (?<publicKey>[0-9a-f]{64})$';
const SERVER_START_MS = 10_000;

export interface RunningServer extends LaunchedProcess {
  address: string;
  publicKey: Uint8Array;
}

/** Launches the target's server and waits for the line that gives its address and key. */
export async function startServer(target: Target, keylog: string, application: 'echo' | 'sink' = 'echo'): Promise<RunningServer> {
  const server = target.config.server;
  if (server === undefined) throw new TargetError(`target ${target.config.name} has no server command`);
  if (application === 'sink' && server.sinkArgs === undefined) throw new TargetError(`target ${target.config.name} has no sink mode`);
  const argv = fill([...server.command, ...(application === 'sink' ? (server.sinkArgs ?? []) : [])], {
    node: process.execPath,
    dir: target.dir,
    listen: '127.0.0.1:0',
    seed: randomBytes(32).toString('hex'),
    keylog,
  });
  const proc = launch(argv);
  const ready = new RegExp(server.ready ?? READY, 'm');
  const started = Date.now();
  for (;;) {
    const m = ready.exec(proc.output());
    if (m?.groups?.address && m.groups.publicKey) {
      return { ...proc, address: m.groups.address, publicKey: new Uint8Array(Buffer.from(m.groups.publicKey, 'hex')) };
    }
    const code = await Promise.race([proc.exited, new Promise<'wait'>((r) => setTimeout(() => r('wait'), 20))]);
    if (code !== 'wait') throw new TargetError(`server '${argv.join(' ')}' exited with ${code} before it was ready: ${proc.output().slice(-500)}`);
    if (Date.now() - started > SERVER_START_MS) {
      proc.stop();
      throw new TargetError(`server '${argv.join(' ')}' printed no line matching /${ready.source}/ within ${SERVER_START_MS} ms`);
    }
  }
}
