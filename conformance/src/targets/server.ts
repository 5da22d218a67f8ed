// Starting a target's server: its command filled in, launched, and its ready line (address
// and public key) awaited and checked; a server that does not get there is a ServerStartFailure.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseHostPort } from '@qotp/reference/node';
import { ServerStartFailure } from '../verdict.js';
import { fill } from './commands.js';
import { TargetError, type Target } from './config.js';
import { launch, type LaunchedProcess } from './process.js';

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
        `the server printed no line matching /${ready.source}/ within ${Math.round(limit)} ` +
          `ms${proc.output().trim() ? `; it printed: ${lastLines(proc.output())}` : ' and nothing else'}`,
      );
    fail(
      `the server exited with status ${code} before it printed its ready ` +
        `line${proc.output().trim() ? `: ${lastLines(proc.output())}` : ' (it printed nothing)'}`,
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
      `the server exited with status ${proc.child.exitCode ?? code} right after its ready ` +
        `line: ${lastLines(proc.output())}`,
    );
  return { ...proc, address, publicKey: new Uint8Array(Buffer.from(publicKey, 'hex')) };
}
