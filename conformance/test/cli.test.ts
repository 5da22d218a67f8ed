// The command line: listing, bad input, attaching to a server started by hand, the exit
// status on a MUST failure, and the global deadline that stops a run that would hang.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaValidator } from '../src/schemas.js';

const cli = fileURLToPath(new URL('../bin/qotp-conformance.js', import.meta.url));
const referenceCli = fileURLToPath(new URL('../../reference/dist/cli.js', import.meta.url));
const defective = fileURLToPath(new URL('./support/defective-endpoint.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'qotp-cli-'));

function run(args: string[], timeoutMs = 60_000) {
  const r = spawnSync(process.execPath, [cli, '--out', join(dir, 'artifacts'), ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** Starts a server by hand and returns its address and key from the line it prints. */
function startByHand(argv: string[]): Promise<{ address: string; publicKey: string; stop: () => void }> {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^qotp listening (\S+) ([0-9a-f]{64})$/m.exec(out);
      if (m) resolve({ address: m[1] as string, publicKey: m[2] as string, stop: () => child.kill('SIGKILL') });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

let server: Awaited<ReturnType<typeof startByHand>>;
beforeAll(async () => {
  server = await startByHand([referenceCli, 'serve', '--seed', 'conformance-cli-test']);
});
afterAll(() => {
  server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('qotp-conformance', () => {
  it('--list prints every case with level, role and clauses', () => {
    const r = run(['--list']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^handshake\.in-band\s+MUST\s+server\s+crypto\.init-rcv\.layout/m);
    const count = Number(/^(\d+) cases$/m.exec(r.out)?.[1]);
    expect(count).toBeGreaterThanOrEqual(40);
  });

  it.each([
    [['--target', '127.0.0.1:1'], /--target needs --pubkey/],
    [['--target', '127.0.0.1:1', '--pubkey', 'xyz'], /--pubkey must be 64 hex digits, got 'xyz'/],
    [['--target', 'localhost', '--pubkey', 'ab'.repeat(32)], /--target: invalid-argument: not a host:port address: 'localhost'/],
    [['--grep', '('], /--grep: Invalid regular expression/],
    [['--crypto', 'openssl'], /--crypto: invalid-argument: crypto backend must be node or noble, got 'openssl'/],
    [['--grep', 'no-such-case'], /no case matches --grep no-such-case/],
    [['--timeout', '0'], /--timeout must be a positive number, got '0'/],
    [['--config', '/nonexistent/target.json'], /cannot read \/nonexistent\/target.json/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ])('rejects %j with exit 2 and says why', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('rejects a target file that does not follow the schema, naming the problem', () => {
    const file = join(dir, 'bad-target.json');
    writeFileSync(file, JSON.stringify({ name: 'Bad Name', description: 'x', mtu: 1400, capabilities: { zeroRtt: true } }));
    const r = run(['--config', file]);
    expect(r.status).toBe(2);
    expect(r.err).toContain('is not a valid target file');
    expect(r.err).toMatch(/\/name must match pattern/);
    expect(r.err).toMatch(/must have required property 'pingInHandshakeReply'/);
  });

  it('attaches to a server started by hand (--target, --pubkey) and writes a valid JSON report', () => {
    const json = join(dir, 'attached.json');
    const r = run(['--target', server.address, '--pubkey', server.publicKey, '--grep', '^(handshake\\.in-band|streams\\.in-order|client\\.data)$', '--json', json]);
    expect(r.status, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^attached: 2 passed, 0 failed, 1 unsupported$/m);
    const report: unknown = JSON.parse(readFileSync(json, 'utf8'));
    expect(schemaValidator('report.schema.json')(report)).toEqual([]);
  });

  it('works over IPv6 loopback ([::1]), pcap included', async () => {
    const v6 = await startByHand([referenceCli, 'serve', '--listen', '[::1]:0']);
    try {
      const json = join(dir, 'v6.json');
      const r = run(['--target', v6.address, '--pubkey', v6.publicKey, '--grep', '^handshake\\.in-band$', '--json', json]);
      expect(r.status, r.out + r.err).toBe(0);
      const report = JSON.parse(readFileSync(json, 'utf8')) as { targets: { cases: { timeline: { from: string }[]; artifacts: { pcap: string } }[] }[] };
      const c = report.targets[0]?.cases[0];
      expect(c?.timeline[0]?.from).toMatch(/^\[::1\]:\d+$/);
      expect(readFileSync(c?.artifacts.pcap as string)[24 + 16]! >> 4).toBe(6); // the first packet's IP version
    } finally {
      v6.stop();
    }
  });

  it('exits 1 when a MUST case fails, and names the clause', async () => {
    const bad = await startByHand(['--import', 'tsx', defective, '--defect', 'wrong-direction-bit']);
    try {
      const r = run(['--target', bad.address, '--pubkey', bad.publicKey, '--grep', '^encryption\\.direction-bit$']);
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/fail\s+MUST\s+encryption\.direction-bit\s+crypto\.nonce\.direction-bit .*initiator's direction bit/);
      expect(r.out).toMatch(/^attached: 0 passed, 1 failed$/m);
    } finally {
      bad.stop();
    }
  });

  it('stops at the global deadline: a case that would take 9 s is reported as a timeout', () => {
    const started = Date.now();
    const r = run(['--target', server.address, '--pubkey', server.publicKey, '--grep', '^retransmission\\.give-up$', '--deadline', '2']);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/timeout\s+MUST\s+retransmission\.give-up .*no verdict within/);
  });
});
