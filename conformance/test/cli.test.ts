// The command line: listing, bad input, attaching to a server started by hand, the exit
// status on a MUST failure, and the global deadline that stops a run that would hang.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaValidator } from '../src/schemas.js';
import { builtOf } from './support/endpoints.js';

const cli = fileURLToPath(new URL('../bin/qotp-conformance.js', import.meta.url));
const referenceCli = fileURLToPath(new URL('../../reference/dist/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'qotp-cli-'));

function run(args: string[], timeoutMs = 60_000) {
  const r = spawnSync(process.execPath, [cli, '--out', join(dir, 'artifacts'), ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
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

/** The arguments that attach the runner to a server started by hand. */
const attach = (s: { address: string; publicKey: string }) => ['--target', s.address, '--pubkey', s.publicKey];
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
    expect(r.out).toMatch(/^handshake\.in-band\s+MUST\s+server\s+-\s+crypto\.init-rcv\.layout/m);
    const count = Number(/^(\d+) cases$/m.exec(r.out)?.[1]);
    expect(count).toBeGreaterThanOrEqual(40);
  });

  it.each([
    [['--target', '127.0.0.1:1'], /--target needs --pubkey/],
    [['--target', '127.0.0.1:1', '--pubkey', 'xyz'], /--pubkey must be 64 hex digits, got 'xyz'/],
    [
      ['--target', 'localhost', '--pubkey', 'ab'.repeat(32)],
      /^qotp-conformance: --target: not a host:port address: 'localhost' \(IPv6 as \[::1\]:port\)$/m,
    ],
    [['--grep', '('], /--grep: Invalid regular expression/],
    [['--crypto', 'openssl'], /^qotp-conformance: --crypto: crypto backend must be node or noble, got 'openssl'$/m],
    [
      ['--bundled', 'refrence'],
      /^qotp-conformance: --bundled: no bundled target named 'refrence' \(bundled: reference, go\)$/m,
    ],
    [['--exclude', '['], /--exclude: Invalid regular expression/],
    [['--grep', 'handshake', '--exclude', '.'], /no case left after --grep handshake and --exclude \./],
    [['--grep', 'no-such-case'], /no case left after --grep no-such-case/],
    [['--timeout', '0'], /--timeout must be a positive number, got '0'/],
    [['--repeat', '0'], /--repeat must be a whole number from 1 to 999, got '0'/],
    [['--repeat', '1.5'], /--repeat must be a whole number from 1 to 999, got '1.5'/],
    [['--until-fail', '0'], /--until-fail must be a whole number from 1 to 999, got '0'/],
    [['--repeat', '2', '--until-fail', '2'], /--repeat and --until-fail go one at a time/],
    [['--config', '/nonexistent/target.json'], /cannot read \/nonexistent\/target.json/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ])('rejects %j with exit 2 and says why in one line', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(message);
    // The message (and, for a usage error, a pointer to --help); not the whole usage.
    expect(r.err.trim().split('\n').length).toBeLessThanOrEqual(2);
    expect(r.err).not.toContain('usage:');
  });

  it('--repeat runs a chance-dependent case with successive relay seeds and counts how the runs ended', () => {
    const json = join(dir, 'repeat.json');
    const r = run(
      [...attach(server), '--grep', '^impair.handshake-loss$', '--seed', '7', '--repeat', '3', '--json', json],
      120_000,
    );
    expect(r.status, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/seed 7 .*; every case runs 3 times \(--repeat\)/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      seed: number;
      repeat: number;
      targets: { cases: { notes: string[] }[] }[];
    };
    expect([report.seed, report.repeat]).toEqual([7, 3]);
    expect(schemaValidator('report.schema.json')(report)).toEqual([]);
    const notes = report.targets[0]?.cases[0]?.notes ?? [];
    const seeds = notes
      .map((n) => /^run (\d) of 3 \(relay seed (\d+)\): relay seed \2/.exec(n))
      .filter((m) => m !== null)
      .map((m) => Number(m[2]));
    expect(seeds).toHaveLength(3);
    expect([seeds[1]! - seeds[0]!, seeds[2]! - seeds[1]!]).toEqual([1, 1]);
    expect(notes.at(-1)).toMatch(/^3 runs: \d intact \(\d+ %\), \d ended in a give-up the spec allows, none failed$/);
  });

  it('--quick leaves out every case that declares itself slow, and --list shows why each is', () => {
    const all = join(dir, 'all.json');
    const quick = join(dir, 'quick.json');
    expect(run(['--list', '--json', all]).status).toBe(0);
    expect(run(['--list', '--quick', '--json', quick]).status).toBe(0);
    const rows = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as { id: string; slow?: string }[];
    const slow = rows(all).filter((r) => r.slow !== undefined);
    expect(slow.map((r) => r.id)).toEqual(
      expect.arrayContaining(['connection.idle-timeout', 'retransmission.give-up', 'impair.transfer-loss-15']),
    );
    expect(rows(quick).map((r) => r.id)).toEqual(
      rows(all)
        .filter((r) => r.slow === undefined)
        .map((r) => r.id),
    );
    // Those that only wait on the endpoint's timer run beside the others; each is a slow case.
    const waiting = rows(all)
      .filter((r) => (r as { waitsOnTimer?: boolean }).waitsOnTimer === true)
      .map((r) => r.id);
    expect(waiting).toEqual(
      expect.arrayContaining(['connection.idle-timeout', 'connection.idle-refresh', 'retransmission.give-up']),
    );
    expect(waiting.every((id) => slow.some((r) => r.id === id))).toBe(true);
    expect(run(['--list', '--grep', '^connection\\.idle-timeout$']).out).toContain(
      "slow: waits out the 30 s idle timeout (waits on the endpoint's timer, beside the others)",
    );
    expect(run(['--quick', '--grep', '^connection\\.idle-timeout$']).err).toMatch(
      /no case left after --grep \^connection\\.idle-timeout\$ and --quick/,
    );
  });

  it('--version names the runner, the case count and the spec', () => {
    const r = run(['--version']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^qotp-conformance 0\.1\.0: \d+ cases, spec of QOTP v0\.2\.19 \(Go original v0\.2\.19\)$/m);
  });

  it('--list shows titles and needs, --exclude leaves cases out, and --list --json writes the list', () => {
    const r = run(['--list', '--grep', '^connection\\.key-log', '--exclude', '0rtt']);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(
      new RegExp(
        /^connection\.key-log\s+SHOULD server launched server\+key log\s+keylog\.format\n/.source +
          /\s+The endpoint's key log has a line/.source,
        'm',
      ),
    );
    expect(r.out).toMatch(/^1 case$/m);
    const file = join(dir, 'list.json');
    const j = run(['--list', '--json', file, '--grep', 'key-log']);
    expect(j.out).toContain(`wrote ${file} (2 cases)`);
    const rows = JSON.parse(readFileSync(file, 'utf8')) as { id: string; title: string; needs: string[] }[];
    expect(rows.map((x) => x.id)).toEqual(['connection.key-log', 'connection.key-log-0rtt']);
    expect(rows[1]?.needs).toEqual(['zeroRtt', 'launched server', 'key log']);
  });

  it.each([
    [
      'a placeholder typo',
      { server: { command: ['{node}', referenceCli, 'serve', '--listen', '{lisen}'] } },
      new RegExp(
        /server\.command: unknown placeholder \{lisen\} /.source +
          /\(server commands take \{node\} \{dir\} \{listen\} \{seed\} \{keylog\}\)/.source,
      ),
    ],
    [
      'a program that is not there',
      { server: { command: ['./no-such-server', 'serve'] } },
      /server\.command: \.\/no-such-server does not exist or is not executable/,
    ],
    [
      'a program not on PATH',
      { client: { command: ['no-such-qotp-client', '--to', '{peer}'] } },
      /client\.command: no-such-qotp-client is not on PATH/,
    ],
  ])('rejects a target file with %s at load, before any case, with exit 2', (_, part, message) => {
    const file = join(dir, `target-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        name: 'mine',
        description: 'x',
        mtu: 1400,
        capabilities: { zeroRtt: false, pingInHandshakeReply: false },
        ...part,
      }),
    );
    const r = run(['--config', file]);
    expect(r.status).toBe(2);
    expect(r.err).toContain(`${file} cannot be launched:`);
    expect(r.err).toMatch(message);
    expect(r.out).not.toMatch(/\[\s*1\//); // no case ran
  });

  it('checks an attached server first: nothing answering, or another key, is one line and exit 2', () => {
    const silent = run(['--target', '127.0.0.1:9', '--pubkey', 'ab'.repeat(32)]);
    expect(silent.status).toBe(2);
    expect(silent.err).toMatch(
      /^qotp-conformance: --target: nothing answers at 127\.0\.0\.1:9: no reply to 3 InitSnd sent 1000 ms apart$/m,
    );
    const wrongKey = run(['--target', server.address, '--pubkey', 'ab'.repeat(32)]);
    expect(wrongKey.status).toBe(2);
    expect(wrongKey.err).toContain(
      `--target: the server at ${server.address} answers with identity key ${server.publicKey}, not the ` +
        `--pubkey ${'ab'.repeat(32)}`,
    );
  });

  it('rejects a target file that does not follow the schema, naming the problem', () => {
    const file = join(dir, 'bad-target.json');
    writeFileSync(
      file,
      JSON.stringify({ name: 'Bad Name', description: 'x', mtu: 1400, capabilities: { zeroRtt: true } }),
    );
    const r = run(['--config', file]);
    expect(r.status).toBe(2);
    expect(r.err).toContain('is not a valid target file');
    expect(r.err).toMatch(/\/name must match pattern/);
    expect(r.err).toMatch(/must have required property 'pingInHandshakeReply'/);
  });

  it('attaches to a server started by hand (--target, --pubkey) and writes a valid JSON report', () => {
    const json = join(dir, 'attached.json');
    const r = run([
      ...attach(server),
      '--grep',
      '^(handshake\\.in-band|streams\\.in-order|client\\.data)$',
      '--json',
      json,
    ]);
    expect(r.status, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^attached: 2 passed, 0 failed, 1 unsupported$/m);
    const report: unknown = JSON.parse(readFileSync(json, 'utf8'));
    expect(schemaValidator('report.schema.json')(report)).toEqual([]);
  });

  it('works over IPv6 loopback ([::1]), pcap included', async () => {
    const v6 = await startByHand([referenceCli, 'serve', '--listen', '[::1]:0']);
    try {
      const json = join(dir, 'v6.json');
      const r = run([...attach(v6), '--grep', '^handshake\\.in-band$', '--json', json]);
      expect(r.status, r.out + r.err).toBe(0);
      const report = JSON.parse(readFileSync(json, 'utf8')) as {
        targets: { cases: { timeline: { from: string }[]; artifacts: { pcap: string } }[] }[];
      };
      const c = report.targets[0]?.cases[0];
      expect(c?.timeline[0]?.from).toMatch(/^\[::1\]:\d+$/);
      expect(readFileSync(c?.artifacts.pcap as string)[24 + 16]! >> 4).toBe(6); // the first packet's IP version
    } finally {
      v6.stop();
    }
  });

  it('exits 1 when a MUST case fails, and names the clause', async () => {
    const bad = await startByHand([builtOf('defective-endpoint'), '--defect', 'wrong-direction-bit']);
    try {
      const r = run([...attach(bad), '--grep', '^encryption\\.direction-bit$']);
      expect(r.status).toBe(1);
      expect(r.out).toMatch(
        /fail\s+MUST\s+encryption\.direction-bit\s+crypto\.nonce\.direction-bit .*initiator's direction bit/,
      );
      expect(r.out).toMatch(/^attached: 0 passed, 1 failed$/m);
      // The failure says how to run it again, and that command, run as printed, fails the same way.
      const replay = /^\s+replay: (.+)$/m.exec(r.out)?.[1];
      expect(replay).toBe(
        `npx qotp-conformance --target ${bad.address} --pubkey ${bad.publicKey} ` +
          `--seed ${/seed (\d+)/.exec(r.out)?.[1]} --grep '^encryption\\.direction-bit$'`,
      );
      const again = spawnSync('bash', ['-c', replay as string], {
        encoding: 'utf8',
        timeout: 60_000,
        cwd: fileURLToPath(new URL('..', import.meta.url)),
      });
      expect(again.status, again.stdout + again.stderr).toBe(1);
      expect(again.stdout).toMatch(
        /fail\s+MUST\s+encryption\.direction-bit\s+crypto\.nonce\.direction-bit .*initiator's direction bit/,
      );
      expect(again.stdout).toContain(`replay: ${replay}`);
      // --until-fail stops a case at its first failing run and says which run it was.
      const json = join(dir, 'until-fail.json');
      const u = run([
        ...attach(bad),
        '--grep',
        '^encryption\\.direction-bit$',
        '--seed',
        '5',
        '--until-fail',
        '3',
        '--json',
        json,
      ]);
      expect(u.status).toBe(1);
      expect(u.out).toMatch(/every case runs up to 3 times, until its first failure \(--until-fail\)/);
      const c = (
        JSON.parse(readFileSync(json, 'utf8')) as { targets: { cases: { message: string; notes: string[] }[] }[] }
      ).targets[0]?.cases[0];
      expect(c?.message).toMatch(/^run 1 of 3 \(seed \d+\): /);
      expect(c?.notes.at(-1)).toBe('1 of 3 runs (stopped at the first failure, --until-fail): 1 fail');
      // A baseline written from a failing run makes the next run pass: the failure is now expected.
      const baseline = join(dir, 'baseline.json');
      const markdown = join(dir, 'summary.md');
      const grep = ['--grep', '^(encryption\\.direction-bit|streams\\.in-order)$'];
      const first = run([
        ...attach(bad),
        ...grep,
        '--write-expected',
        baseline,
        '--markdown',
        markdown,
        '--html',
        join(dir, 'summary.html'),
      ]);
      expect(first.status).toBe(1);
      const written = JSON.parse(readFileSync(baseline, 'utf8')) as {
        entries: { case: string; clause?: string; observed?: string }[];
      };
      expect(schemaValidator('expected-failures.schema.json')(written)).toEqual([]);
      expect(written.entries.map((e) => [e.case, e.clause])).toEqual([
        ['encryption.direction-bit', 'crypto.nonce.direction-bit'],
        ['streams.in-order', 'crypto.nonce.direction-bit'],
      ]);
      const md = readFileSync(markdown, 'utf8');
      expect(md).toMatch(/^\| attached \| \*\*fail\*\* \| 0 passed, 2 failed \|$/m);
      expect(md).toMatch(
        new RegExp(
          /^\| `encryption\.direction-bit` \| MUST \| fail \| `crypto\.nonce\.direction-bit` \| .* \| /.source +
            /`npx qotp-conformance --target .* --grep '\^encryption\\\.direction-bit\$'` \|$/.source,
          'm',
        ),
      );
      expect(md).toContain('Full report: [summary.html](summary.html)');
      const second = run([...attach(bad), ...grep, '--expected-failures', baseline, '--fail-on-unexpected-pass']);
      expect(second.status, second.out).toBe(0);
      expect(second.out).toMatch(/^attached: 0 passed, 2 failed \(2 expected\)$/m);
    } finally {
      bad.stop();
    }
  });

  it('--repeat runs any case again under the next seed and counts how the runs ended', () => {
    const json = join(dir, 'repeat-any.json');
    const r = run([
      ...attach(server),
      '--grep',
      '^streams\\.in-order$',
      '--seed',
      '9',
      '--repeat',
      '2',
      '--json',
      json,
    ]);
    expect(r.status, r.out + r.err).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as {
      targets: { cases: { outcome: string; notes: string[]; replay?: string }[] }[];
    };
    expect(schemaValidator('report.schema.json')(report)).toEqual([]);
    const c = report.targets[0]?.cases[0];
    expect([c?.outcome, c?.notes.at(-1), c?.replay]).toEqual(['pass', '2 of 2 runs: 2 pass', undefined]);
  });

  it('stops at the global deadline: a case that would take 9 s is reported as a timeout', () => {
    const started = Date.now();
    const r = run([...attach(server), '--grep', '^retransmission\\.give-up$', '--deadline', '2']);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/timeout\s+MUST\s+retransmission\.give-up .*no verdict within/);
  });
});
