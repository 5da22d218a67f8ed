// A third party's path, with no clone and no Go: the public packages packed as npm would
// publish them, installed from the tarballs into an empty folder, and the runner started
// with npx against the reference launched from the installed @qotp/reference, through a
// target file of the third party's own.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PUBLIC = ['spec', 'reference', 'vectors', 'conformance'];
const dir = mkdtempSync(join(tmpdir(), 'qotp-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(command: string, args: string[], cwd: string, timeoutMs: number) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false' } });
  return { status: r.status, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

it('the packed packages install into an empty folder and check a third-party target with one npx command', () => {
  const tarballs = PUBLIC.map((p) => {
    const r = sh('npm', ['pack', '--silent', '--pack-destination', dir], join(root, p), 60_000);
    expect(r.status, r.all).toBe(0);
    return join(dir, r.out.trim().split('\n').at(-1) as string);
  });
  const consumer = join(dir, 'consumer');
  sh('mkdir', ['-p', consumer], dir, 5000);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'their-implementation', private: true, type: 'module' }));
  const install = sh('npm', ['install', '--no-save', ...tarballs], consumer, 180_000);
  expect(install.status, install.all).toBe(0);

  // Their target file: "their" server and client are the installed reference's CLI.
  const cli = '{dir}/node_modules/@qotp/reference/dist/cli.js';
  writeFileSync(
    join(consumer, 'their.json'),
    JSON.stringify({
      name: 'their',
      description: 'a third-party implementation (here: the installed @qotp/reference)',
      mtu: 1400,
      capabilities: { zeroRtt: true, pingInHandshakeReply: true },
      server: { command: ['{node}', cli, 'serve', '--listen', '{listen}', '--seed-hex', '{seed}', '--keylog', '{keylog}'], sinkArgs: ['--mode', 'sink'] },
      client: { command: ['{node}', cli, 'connect', '--to', '{peer}', '--file', '{input}', '--keylog', '{keylog}', '--timeout', '15'], zeroRttArgs: ['--pubkey', '{pubkey}'] },
    }),
  );
  // --quick: the whole suite against the reference is bundled.test.ts's; here the installed path counts.
  const run = sh('npx', ['--no-install', 'qotp-conformance', '--config', 'their.json', '--quick', '--junit', 'out.xml'], consumer, 240_000);
  expect(run.status, run.all.slice(-3000)).toBe(0);
  expect(run.out).toMatch(/^their: \d+ passed, 0 failed/m);
  expect(existsSync(join(consumer, 'conformance-results')), 'pcaps written without --out').toBe(false);
  expect(run.out).toContain('no pcaps or key logs (--out DIR writes them)');
  const junit = readFileSync(join(consumer, 'out.xml'), 'utf8');
  expect(junit).toMatch(/<testsuite name="qotp-conformance their" tests="\d+" failures="0" errors="0"/);
  console.log(`pack: ${run.out.trim().split('\n').at(-1)}`);

  // The default targets of an installed runner: the reference runs, the Go target (built
  // only in a clone) is left out with one line saying why, and the run passes.
  const defaults = sh('npx', ['--no-install', 'qotp-conformance', '--grep', '^handshake\\.in-band$'], consumer, 60_000);
  expect(defaults.status, defaults.all).toBe(0);
  expect(defaults.out).toMatch(/^qotp-conformance: target go left out: server\.command: .*interop\/go\/bin\/endpoint does not exist or is not executable/m);
  expect(defaults.out).toMatch(/^reference: 1 passed, 0 failed$/m);
}, 480_000);
