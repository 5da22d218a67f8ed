// The runner against endpoints that misbehave (support/hostile-endpoint.ts): each gets the
// right outcome with a message that says what happened and the endpoint's output in the
// report; the run stays within its limits; and no process it launched is left, neither
// after a case nor after a signal, also for an endpoint started through a wrapper script.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { allCases } from '../src/cases/index.js';
import { runCases, type CaseResult } from '../src/runner.js';
import type { Target, TargetConfig } from '../src/targets/config.js';
import { endpointCommand } from './support/endpoints.js';
import { testTarget } from './support/test-target.js';
import type { Mode } from './support/hostile-endpoint.js';

const cli = fileURLToPath(new URL('../bin/qotp-conformance.js', import.meta.url));
const referenceCli = fileURLToPath(new URL('../../reference/dist/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'qotp-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A token no other process carries, to find what a test left running. */
const newToken = () => `qotp-hostile-${randomBytes(6).toString('hex')}`;
const hostile = (mode: Mode, token: string) => [
  ...endpointCommand('hostile-endpoint'),
  '--mode',
  mode,
  '--token',
  token,
];

/** Processes whose command line contains `token`, after giving killed ones a moment to go. */
async function leftOver(token: string): Promise<string[]> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  const r = spawnSync('pgrep', ['-af', token], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() !== '' && !l.includes('pgrep'));
}

/** Hostile endpoints put no PING in their replies (they send none that opens). */
const target = (name: string, config: Partial<TargetConfig>): Target =>
  testTarget(name, { capabilities: { zeroRtt: true, pingInHandshakeReply: false }, ...config });

/** The one case failed under `clause` saying `says`, and the endpoint left no process behind. */
async function expectFailedAndGone(results: CaseResult[], clause: string, says: string, token: string) {
  expect(view(results[0] as CaseResult)).toMatchObject({
    outcome: 'fail',
    clause,
    message: expect.stringContaining(says),
  });
  expect(await leftOver(token)).toEqual([]);
}

async function run(t: Target, ids: string[], caseTimeoutMs = 5000): Promise<{ results: CaseResult[]; ms: number }> {
  const started = performance.now();
  const results = await runCases(
    allCases.filter((c) => ids.includes(c.id)),
    t,
    { caseTimeoutMs, deadline: performance.now() + 30_000, concurrency: 2, artifactsDir: null },
  );
  return { results, ms: performance.now() - started };
}

const view = (r: CaseResult) => ({ id: r.id, outcome: r.outcome, clause: r.failedClause, message: r.message });

describe('hostile servers', () => {
  it(
    'never ready: each case fails harness.server-ready within its limit, with the output; after two, the rest ' +
      'are not started',
    async () => {
      const token = newToken();
      const { results, ms } = await run(
        target('never-ready', { server: { command: hostile('never-ready', token) } }),
        ['handshake.in-band', 'handshake.0rtt', 'streams.in-order', 'streams.ping'],
        2000,
      );
      for (const r of results) expect(view(r)).toMatchObject({ outcome: 'fail', clause: 'harness.server-ready' });
      // Concurrency 2: the first two tried; a third may have started before both had failed;
      // the rest gave up at once.
      const tried = results.filter((r) => !r.message?.startsWith('not started'));
      expect(tried.length).toBeLessThanOrEqual(3);
      expect(results.length - tried.length).toBeGreaterThanOrEqual(1);
      expect(tried[0]?.message).toContain('printed no line matching');
      expect(tried[0]?.message).toContain('any minute now');
      expect(tried[0]?.endpointOutput).toContain('any minute now');
      expect(ms).toBeLessThan(2 * 2000 + 2000);
      expect(await leftOver(token)).toEqual([]);
    },
    20_000,
  );

  it.each([
    ['ready-then-exit', 'exited with code 0'],
    ['crash-mid', 'exited with code 3 during the case (hostile endpoint: crashing on purpose)'],
  ] as const)(
    '%s: the case fails crypto.receive.no-crash and says %s',
    async (mode, says) => {
      const token = newToken();
      const { results } = await run(target(mode, { server: { command: hostile(mode, token) } }), [
        'retransmission.backoff',
      ]);
      const r = results[0] as CaseResult;
      expect(view(r)).toMatchObject({
        outcome: 'fail',
        clause: expect.stringMatching(/^(crypto\.receive\.no-crash|harness\.server-ready)$/),
      });
      expect(r.message).toMatch(new RegExp(`${says.replace(/[()]/g, '\\$&')}|right after its ready line`));
      expect(await leftOver(token)).toEqual([]);
    },
    20_000,
  );

  it('malformed key from a custom ready pattern: fails harness.server-ready naming the key', async () => {
    const token = newToken();
    const ready = '^ready (?<address>\\S+) (?<publicKey>\\S+)$';
    const { results } = await run(
      target('malformed-key', { server: { command: hostile('malformed-key', token), ready } }),
      ['handshake.in-band'],
    );
    await expectFailedAndGone(results, 'harness.server-ready', "'not-a-key', expected 64 hex digits", token);
  }, 20_000);

  it.each([
    ['silent', 'nothing arrived from the endpoint'],
    ['garbage', 'arrived but none for this connection id'],
    ['amplifier', 'arrived but none for this connection id'],
  ] as const)(
    '%s: the handshake fails on the wire and says %s',
    async (mode, says) => {
      const token = newToken();
      const { results } = await run(target(mode, { server: { command: hostile(mode, token) } }), ['handshake.in-band']);
      await expectFailedAndGone(results, 'crypto.init-rcv.layout', says, token);
    },
    20_000,
  );

  it(
    'huge stdout after the ready line: the ready line is found and the case passes; the report keeps the start ' +
      'and the end',
    async () => {
      const token = newToken();
      const { results } = await run(
        target('huge-stdout', { server: { command: hostile('huge-stdout', token) } }),
        ['handshake.in-band'],
        20_000,
      );
      const r = results[0] as CaseResult;
      expect(view(r)).toMatchObject({ outcome: 'pass' });
      expect(r.endpointOutput.length).toBeLessThan(100_000);
      expect(await leftOver(token)).toEqual([]);
    },
    30_000,
  );

  it('a server behind a wrapper script is killed with its wrapper', async () => {
    const token = newToken();
    // "; :" keeps the shell alive as the parent, as a wrapper script would be.
    const wrapped = [
      '/bin/sh',
      '-c',
      `"${process.execPath}" "${referenceCli}" serve --listen {listen} --seed ${token}; :`,
    ];
    const { results } = await run(target('wrapped', { server: { command: wrapped } }), [
      'handshake.in-band',
      'streams.in-order',
    ]);
    for (const r of results) expect(view(r)).toMatchObject({ outcome: 'pass' });
    expect(await leftOver(token)).toEqual([]);
  }, 30_000);
});

describe('hostile clients', () => {
  it.each([
    [
      'client-exits',
      'exited with status 1 before it sent anything; its last output: client: cannot parse my own arguments',
    ],
    ['client-hangs', 'sent nothing within 8000 ms and is still running'],
  ] as const)(
    '%s: client.init-snd fails harness.client-start and says so',
    async (mode, says) => {
      const token = newToken();
      const { results } = await run(
        target(mode, { client: { command: hostile(mode, token) } }),
        ['client.init-snd'],
        15_000,
      );
      await expectFailedAndGone(results, 'harness.client-start', says, token);
    },
    30_000,
  );
});

describe('the command line under a stuck endpoint', () => {
  const config = (token: string, mode: Mode) => {
    const path = join(dir, `${token}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        name: mode,
        description: mode,
        mtu: 1400,
        capabilities: { zeroRtt: true, pingInHandshakeReply: false },
        server: { command: hostile(mode, token) },
      }),
    );
    return path;
  };

  it('an endpoint that exits with status 127 declares the case unsupported, server and client role alike', async () => {
    const token = newToken();
    const t = target('declines', {
      server: { command: hostile('declines', token) },
      client: { command: hostile('declines', token) },
    });
    const { results } = await run(t, ['handshake.in-band', 'client.init-snd']);
    for (const r of results) {
      expect(view(r)).toMatchObject({ outcome: 'unsupported', clause: null });
      expect(r.message).toMatch(/^the endpoint exited with status 127: it does not support what this case asks/);
    }
    expect(await leftOver(token)).toEqual([]);
  }, 30_000);

  it('--deadline 3 ends within 4 s although the server never gets ready', () => {
    const token = newToken();
    const json = join(dir, `${token}.report.json`);
    const started = performance.now();
    const r = spawnSync(
      process.execPath,
      [
        cli,
        '--config',
        config(token, 'never-ready'),
        '--deadline',
        '3',
        '--grep',
        '^(handshake|streams)\\.',
        '--json',
        json,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    const seconds = (performance.now() - started) / 1000;
    // The run itself (the report's duration, from when the runner started) is what the
    // deadline bounds; the process's start and exit add Node's own start-up time.
    const runSeconds = (JSON.parse(readFileSync(json, 'utf8')) as { durationMs: number }).durationMs / 1000;
    console.log(
      `hostile: --deadline 3 with a server that never gets ready: the run took ${runSeconds.toFixed(1)} s, the ` +
        `process ${seconds.toFixed(1)} s, exit ${r.status}`,
    );
    expect(r.status).toBe(1);
    expect(runSeconds).toBeLessThan(4);
    expect(seconds).toBeLessThan(8);
    expect(r.stdout).toContain('never-ready: 0 passed');
    expect(spawnSync('pgrep', ['-f', token]).status).toBe(1);
  }, 30_000);

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    '%s: kills every launched endpoint, writes the partial report and exits %i',
    async (signal, status) => {
      const token = newToken();
      const json = join(dir, `${token}.report.json`);
      // Wrapped, so that a kill of the direct child alone would leave the server running.
      const wrapped = join(dir, `${token}-wrapped.json`);
      writeFileSync(
        wrapped,
        JSON.stringify({
          name: 'wrapped',
          description: 'reference behind sh',
          mtu: 1400,
          capabilities: { zeroRtt: true, pingInHandshakeReply: true },
          server: {
            command: [
              '/bin/sh',
              '-c',
              `"${process.execPath}" "${referenceCli}" serve --listen {listen} --seed ${token}; :`,
            ],
          },
        }),
      );
      const child = spawn(
        process.execPath,
        [
          cli,
          '--config',
          wrapped,
          '--grep',
          '^(connection\\.idle-timeout|handshake\\.in-band)$',
          '--json',
          json,
          '--out',
          join(dir, token),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      // Wait until the short case finished: the idle-timeout case (30 s) is still running then.
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (out.includes('handshake.in-band')) {
            clearInterval(check);
            resolve();
          }
        }, 50);
      });
      expect((await leftOver(token)).length).toBeGreaterThan(0); // the idle-timeout case's server runs
      child.kill(signal);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(status);
      expect(await leftOver(token)).toEqual([]);
      const report = JSON.parse(readFileSync(json, 'utf8'));
      expect(report.interrupted).toEqual({ signal, casesNotFinished: 1 });
      expect(report.targets[0].cases.map((c: { id: string; outcome: string }) => [c.id, c.outcome])).toEqual([
        ['handshake.in-band', 'pass'],
      ]);
    },
    30_000,
  );
});
