// Launching endpoints by the shared command-line contract (interop/README.md):
// the Go original (interop/go/bin/endpoint) and the reference (reference/dist/cli.js).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const goDir = fileURLToPath(new URL('../../go/', import.meta.url));
export const goEndpoint = `${goDir}bin/endpoint`;
export const referenceCli = fileURLToPath(new URL('../../../reference/dist/cli.js', import.meta.url));

export type Implementation = 'go' | 'ts';

/**
 * Builds the Go endpoint with the package's `build:endpoint` script; throws with the compiler's output when it fails.
 */
export function buildGoEndpoint(): void {
  const r = spawnSync('npm', ['run', '--silent', 'build:endpoint'], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`go build of the endpoint failed:\n${r.stderr}`);
}

const command = (impl: Implementation, args: string[]): [string, string[]] =>
  impl === 'go' ? [goEndpoint, args] : [process.execPath, [referenceCli, ...args]];

export interface Server {
  address: string;
  publicKey: string;
  process: ChildProcess;
  /** Everything the server printed so far, on stdout and stderr. */
  output(): string;
  stop(): void;
}

/** Starts `serve` and resolves with the address and key from its first line. */
export function startServer(impl: Implementation, args: string[]): Promise<Server> {
  const [file, argv] = command(impl, ['serve', ...args]);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${impl} server printed no address within 10 s: ${out}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`${impl} server exited with ${code}: ${out}`)));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /^qotp listening (\S+) ([0-9a-f]{64})$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          address: m[1] as string,
          publicKey: m[2] as string,
          process: child,
          output: () => out,
          stop: () => child.kill('SIGKILL'),
        });
      }
    });
  });
}

export interface ClientRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runClient(impl: Implementation, args: string[], timeoutMs: number): Promise<ClientRun> {
  const [file, argv] = command(impl, ['connect', ...args]);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('exit', (status) => {
      clearTimeout(killer);
      resolve({ status, stdout, stderr });
    });
  });
}
