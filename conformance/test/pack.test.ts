// A third party's path, with no clone and no Go: the public packages packed as npm would
// publish them, installed from the tarballs into an empty folder, and the runner started
// with npx against the reference launched from the installed @qotp/reference, through a
// target file of the third party's own.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { schemaValidator } from '../src/schemas.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PUBLIC = ['spec', 'reference', 'vectors', 'conformance'];
const dir = mkdtempSync(join(tmpdir(), 'qotp-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(command: string, args: string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}) {
  const r = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false', ...env },
  });
  return { status: r.status, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

/** What a pull request evaluates the recipe's step conditions to; any other condition is an error. */
const PULL_REQUEST: Record<string, boolean> = {
  "github.event_name == 'pull_request'": true,
  "github.event_name != 'pull_request'": false,
  'always()': true,
};

/**
 * The README's CI recipe ("In your CI"): the baseline command, and the `run:` steps of its
 * workflow that a pull request runs, in order, leaving out those marked `# yours`.
 */
function ciRecipe(): { baseline: string; steps: string[] } {
  const readme = readFileSync(join(root, 'conformance/README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## In your CI'));
  const baseline = /```sh\n(npx qotp-conformance [^\n]*--write-expected[^\n]*)\n```/.exec(section)?.[1];
  const yaml = /```yaml\n# \.github\/workflows\/qotp-conformance\.yml\n([\s\S]*?)```/.exec(section)?.[1];
  if (baseline === undefined || yaml === undefined)
    throw new Error("conformance/README.md's 'In your CI' has no baseline command or no workflow");
  const parsed: { if?: string; run?: string }[] = [];
  for (const line of yaml.split('\n')) {
    const m = /^\s+(- )?(if|run|uses|with|name): (.*)$/.exec(line);
    if (m === null) continue;
    if (m[1] !== undefined) parsed.push({});
    const step = parsed.at(-1);
    if (step !== undefined && m[3] !== undefined && (m[2] === 'if' || m[2] === 'run')) step[m[2]] = m[3];
  }
  const runs = (step: { if?: string }) => {
    if (step.if === undefined) return true;
    const value = PULL_REQUEST[step.if];
    if (value === undefined) throw new Error(`the recipe's condition '${step.if}' is not one this test knows`);
    return value;
  };
  const steps = parsed
    .filter((p) => p.run !== undefined && !p.run.includes('# yours') && runs(p))
    .map((p) => p.run as string);
  return { baseline, steps };
}

it("the packed packages install into an empty folder and check a third-party target by the README's CI recipe", () => {
  const tarballs = PUBLIC.map((p) => {
    const r = sh('npm', ['pack', '--silent', '--pack-destination', dir], join(root, p), 60_000);
    expect(r.status, r.all).toBe(0);
    return join(dir, r.out.trim().split('\n').at(-1) as string);
  });
  const consumer = join(dir, 'consumer');
  sh('mkdir', ['-p', consumer], dir, 5000);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'their-implementation', private: true, type: 'module' }),
  );

  // Their target file: "their" server and client are the installed reference's CLI.
  const cli = '{dir}/node_modules/@qotp/reference/dist/cli.js';
  writeFileSync(
    join(consumer, 'qotp-target.json'),
    JSON.stringify({
      name: 'their',
      description: 'a third-party implementation (here: the installed @qotp/reference)',
      mtu: 1400,
      capabilities: { zeroRtt: true, pingInHandshakeReply: true },
      server: {
        command: ['{node}', cli, 'serve', '--listen', '{listen}', '--seed-hex', '{seed}', '--keylog', '{keylog}'],
        sinkArgs: ['--mode', 'sink'],
      },
      client: {
        command: [
          '{node}',
          cli,
          'connect',
          '--to',
          '{peer}',
          '--file',
          '{input}',
          '--keylog',
          '{keylog}',
          '--timeout',
          '15',
        ],
        zeroRttArgs: ['--pubkey', '{pubkey}'],
      },
    }),
  );
  // The README's CI recipe, step by step as a pull request runs it, after the one-off baseline
  // (narrowed to --quick here: the full run against the reference is bundled.test.ts's).
  const { baseline, steps } = ciRecipe();
  const env = { GITHUB_STEP_SUMMARY: join(consumer, 'step-summary.md') };
  expect(steps[0], 'the install comes first').toMatch(/^npm install /);
  for (const [i, step] of steps.entries()) {
    const command = i === 0 ? step.replace('@qotp/conformance', tarballs.join(' ')) : step;
    const r = sh('bash', ['-c', command], consumer, 240_000, env);
    expect(r.status, `${command}\n${r.all.slice(-3000)}`).toBe(0);
    if (command.includes('--quick')) console.log(`pack: ${r.out.trim().split('\n').at(-1)}`);
    if (i > 0) continue;
    const first = sh('bash', ['-c', `${baseline} --quick`], consumer, 240_000, env);
    expect(first.status, first.all.slice(-3000)).toBe(0);
    expect(JSON.parse(readFileSync(join(consumer, 'qotp-expected.json'), 'utf8')).entries).toEqual([]);
  }
  expect(
    steps.filter((c) => c.startsWith('npx qotp-conformance')).length,
    'one run of the suite in a pull request',
  ).toBe(1);
  const report: unknown = JSON.parse(readFileSync(join(consumer, 'qotp-results/report.json'), 'utf8'));
  expect(schemaValidator('report.schema.json')(report)).toEqual([]);
  const junit = readFileSync(join(consumer, 'qotp-results/junit.xml'), 'utf8');
  expect(junit).toMatch(/<testsuite name="qotp-conformance their" tests="\d+" failures="0" errors="0"/);
  expect(readFileSync(join(consumer, 'step-summary.md'), 'utf8')).toMatch(/^\| their \| pass \| \d+ passed, 0 failed/m);
  expect(
    readdirSync(join(consumer, 'qotp-results'), { recursive: true }).some((f) => String(f).endsWith('.pcap')),
    'pcaps under --out',
  ).toBe(true);
  expect(existsSync(join(consumer, 'qotp-results/report.html'))).toBe(true);
  // Beside the captures, the lines that open them in tshark, with the dissector the package ships.
  const tshark = readFileSync(join(consumer, 'qotp-results/their/tshark.txt'), 'utf8');
  const dissector = /-X lua_script:(\S+) /.exec(tshark)?.[1] ?? '';
  expect(dissector.startsWith(join(consumer, 'node_modules')), tshark.slice(0, 500)).toBe(true);
  expect(readFileSync(dissector, 'utf8')).toContain('register_heuristic("udp"');

  // The default targets of an installed runner: the reference runs, the Go target (built
  // only in a clone) is left out with one line saying why, and the run passes.
  const defaults = sh('npx', ['--no-install', 'qotp-conformance', '--grep', '^handshake\\.in-band$'], consumer, 60_000);
  expect(defaults.status, defaults.all).toBe(0);
  expect(defaults.out).toMatch(
    new RegExp(
      /^qotp-conformance: target go left out: server\.command: /.source +
        /.*interop\/go\/bin\/endpoint does not exist or is not executable/.source,
      'm',
    ),
  );
  expect(defaults.out).toMatch(/^reference: 1 passed, 0 failed$/m);
  expect(defaults.out).toContain('no pcaps or key logs (--out DIR writes them)');
  expect(existsSync(join(consumer, 'conformance-results')), 'pcaps written without --out').toBe(false);
}, 480_000);
