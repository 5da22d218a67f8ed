// qotp-ref's own command line: help, usage errors in one line, runtime errors without the
// usage, and a connect that says what it is waiting for instead of going quiet.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (args: string[], input = '') =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', input, timeout: 20_000 });

describe('qotp-ref', () => {
  it.each([[['--help']], [['-h']], [['serve', '--help']], [['connect', '-h']]])(
    '%j prints the usage and exits 0',
    (args) => {
      const r = run(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^usage:\n {2}qotp-ref serve/);
    },
  );

  it.each([
    [[], /^qotp-ref: missing command: serve or connect \(qotp-ref --help for usage\)$/],
    [['srve'], /^qotp-ref: unknown command 'srve': serve or connect \(qotp-ref --help for usage\)$/],
    [['serve', '--bogus'], /^qotp-ref: Unknown option '--bogus'.* \(qotp-ref --help for usage\)$/],
    [['serve', '--mode', 'loop'], /^qotp-ref: --mode must be echo or sink, got 'loop'/],
    [['connect', '--to', '127.0.0.1:9', '--pubkey', 'zz'], /^qotp-ref: a public key must be 64 hex digits, got 'zz'/],
    [['connect'], /^qotp-ref: connect needs --to HOST:PORT/],
    [['connect', '--to', 'nowhere'], /^qotp-ref: not a host:port address: 'nowhere'/],
    [['serve', '--seed', 'x', '--seed-hex', '00'], /^qotp-ref: give --seed-hex or --seed, not both/],
  ])('%j is a usage error: one line, exit 2', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  });

  it('a busy port is a runtime error: one line without the usage, exit 1', async () => {
    const first = spawn(process.execPath, [cli, 'serve', '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve) =>
        first.stdout.once('data', (c: Buffer) => resolve(c.toString())),
      );
      const address = /^qotp listening (\S+) /.exec(line)?.[1] as string;
      const r = run(['serve', '--listen', address]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe(`qotp-ref: cannot listen on ${address}: the address is in use`);
    } finally {
      first.kill('SIGKILL');
    }
  });

  it('connect to a port where nothing answers says so within seconds, and the timeout says what it waited for', () => {
    const r = run(['connect', '--to', '127.0.0.1:9', '--timeout', '3'], 'hello');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('qotp: no reply from 127.0.0.1:9 after 2 s: is a QOTP server listening there?');
    expect(r.stdout.trim()).toBe('qotp timeout after 3 s, waiting for the handshake reply from 127.0.0.1:9');
  });

  it("connect with a key that is not the server's says what to check: the 0-RTT packet goes unanswered", async () => {
    const server = spawn(process.execPath, [cli, 'serve', '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve) =>
        server.stdout.once('data', (c: Buffer) => resolve(c.toString())),
      );
      const address = /^qotp listening (\S+) /.exec(line)?.[1] as string;
      const r = run(['connect', '--to', address, '--pubkey', 'ab'.repeat(32), '--timeout', '3'], 'hello');
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `qotp: no reply from ${address} after 2 s: is a QOTP server listening there? For 0-RTT, is --pubkey ` +
          `its identity key?`,
      );
    } finally {
      server.kill('SIGKILL');
    }
  });
});
