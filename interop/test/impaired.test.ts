// The interop matrix under impairment: every pair of bundled endpoints (client x server,
// TS and Go) echoes 1 MB through the conformance package's seeded relay, for each scenario
// and handshake. A run passes when the client reports the echo intact (SHA-256 checked).
// Writes interop-results/matrix.json (schema: schemas/matrix.schema.json) and matrix.html, and
// per run interop-results/runs/<run>/ with the relay's pcap and both key logs, linked from both.
//
// `npm test` runs a bounded set (5 % loss, 1-RTT, every pair); `npm run interop` sets
// QOTP_INTEROP_IMPAIRED=all for every scenario with both handshakes. Failures of the Go
// original that are findings are reported, not failed: a Go side whose last datagram was a
// sixth copy (G16, whatever the scenario), and the runs IMPAIRED_EXPECTED lists per release;
// any other failure fails the test with the relay's seed and the client's output.
// QOTP_GO_RELEASE=v0.2.19 names the release of a Go endpoint built from a local checkout (its
// version probe reads "(devel)"), as `--expected-failures-for` does for the runner.
import {
  bundledTarget,
  describeResent,
  giveUpAllowed,
  MAX_COPIES,
  noCause,
  parseKeyLog,
  readResends,
  startRelay,
  stoppedFirst,
  timeline,
  type Impairment,
  type ResendRecord,
  type Side,
} from '@qotp/conformance';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMatrix, type Matrix, type MatrixRun } from './support/matrix.js';
import { buildGoEndpoint, runClient, startServer, type Implementation } from './support/processes.js';

const SCENARIOS: { name: string; both: Impairment }[] = [
  { name: 'loss 5 %', both: { loss: 0.05 } },
  { name: 'loss 15 %', both: { loss: 0.15 } },
  { name: 'burst loss', both: { burst: { enter: 0.02, leave: 0.3, lossInBad: 0.7 } } },
  { name: 'reorder 10 % by 20 ms', both: { reorder: { rate: 0.1, ms: 20 } } },
  { name: 'duplicate 10 %', both: { duplicate: 0.1 } },
  { name: 'corrupt 5 %', both: { corrupt: 0.05 } },
  { name: 'blackhole 2 s', both: { blackholes: [{ fromMs: 300, toMs: 2300 }] } },
];
const IMPLS: Implementation[] = ['ts', 'go'];
const SIZE = 1_000_000;
const BUDGET_S = 60;

const full = process.env.QOTP_INTEROP_IMPAIRED === 'all';
const runs = IMPLS.flatMap((client) =>
  IMPLS.flatMap((server) =>
    (full ? [false, true] : [false]).flatMap((zeroRtt) =>
      (full ? SCENARIOS : SCENARIOS.slice(0, 1)).map((scenario) => ({ client, server, zeroRtt, scenario })),
    ),
  ),
);
const runName = (r: (typeof runs)[number]) =>
  `${r.client} client -> ${r.server} server, ${r.zeroRtt ? '0-RTT' : '1-RTT'}, ${r.scenario.name}`;

/**
 * Runs the Go original fails by a finding, per release, matched on the run name; a listed run
 * that passes is reported in the matrix like any other. G16: qotp closes the connection right
 * after a segment's sixth transmission, so a 2 s blackhole, and by chance 15 % loss or a
 * burst, end its connections (a Go client then waits for its --timeout).
 */
const G16 =
  'G16: qotp gives up right after the sixth transmission of a segment (max retry attempts: 6 exceeded limit 5)';
const GO_UNDER_LONG_LOSS =
  /^(go client -> \w+ server|\w+ client -> go server), [01]-RTT, (loss 15 %|burst loss|blackhole 2 s|corrupt 5 %)$/;
const IMPAIRED_EXPECTED: Record<string, [RegExp, string][]> = {
  // Measured, QOTP_INTEROP_IMPAIRED=all, 2026-12-01 (51 of the 56 runs): 39 passed, 12 failed, every
  // failure with Go on one side: 15 % loss 5 of 6, burst loss 4 of 6, the blackhole 3 of 6; TS-TS
  // passed all 14; 5 % loss, reordering, duplication and corruption passed every time.
  // Again after the verdicts came to be read from the relay's record, 2026-12-01 (all 56): 46
  // passed, 10 failed, all with Go: every TS-TS run passed; the blackhole failed in the 2 TS->Go
  // runs, 15 % loss in all 6 pairs with Go, burst loss in 2. The Go client -> TS server runs
  // were not matched by this pattern then (fixed); replayed, they end in G16 (the Go client
  // silent right after a copy acknowledged 0.5 ms later) or in a give-up the record allows.
  'v0.2.18': [[GO_UNDER_LONG_LOSS, G16]],
  // Measured on a v0.2.19 workspace build, all 56 runs, 2026-12-01: 47 passed; Go failed 15 % loss
  // in 6 of 6 pairs with Go and the blackhole in 2 of 6 (a TS-TS burst run ended in a conforming
  // give-up, accepted since).
  'v0.2.19': [[GO_UNDER_LONG_LOSS, G16]],
};

/**
 * G16 as the relay's record shows it: the Go side's last datagram was the sixth copy of a
 * segment (within 50 ms), and it sent nothing after; null when the record shows no such end.
 */
function g16(record: ResendRecord, run: { client: Implementation; server: Implementation }): string | null {
  for (const side of ['client', 'server'] as Side[]) {
    const last = record.lastResend[side];
    if (run[side] !== 'go' || last === null || last.copy < MAX_COPIES) continue;
    if ((record.lastDatagramMs[side] ?? Number.POSITIVE_INFINITY) - last.atMs <= 50)
      return `${G16}; the Go ${side}'s last datagram was copy ${last.copy} of ${describeResent(last.segment)}`;
  }
  return null;
}

const dir = mkdtempSync(join(tmpdir(), 'qotp-impaired-'));
const resultsDir = fileURLToPath(new URL('../interop-results/', import.meta.url));
const runsDir = join(resultsDir, 'runs');
const input = join(dir, 'input');
const results: MatrixRun[] = [];
let release = 'unknown';

beforeAll(() => {
  buildGoEndpoint();
  // Which qotp the Go endpoint was built from: QOTP_GO_RELEASE, or the Go target's own
  // version probe (go version -m), which reads "(devel)" for a local checkout.
  const found = bundledTarget('go').implementation.version ?? 'unknown';
  const asked = process.env.QOTP_GO_RELEASE;
  if (asked !== undefined && IMPAIRED_EXPECTED[asked] === undefined)
    throw new Error(
      `QOTP_GO_RELEASE=${asked}: no expected failures for that release ` +
        `(known: ${Object.keys(IMPAIRED_EXPECTED).join(', ')})`,
    );
  release = asked ?? found;
  if (IMPAIRED_EXPECTED[release] === undefined)
    console.log(
      `impaired: the Go endpoint reads as ${found}; no release's expected failures apply ` +
        `(QOTP_GO_RELEASE=v0.2.19 names the release of a local build); G16 is still recognised from the record`,
    );
  else
    console.log(
      `impaired: expected failures of ${release} ` +
        `(${asked === undefined ? 'the version probe' : 'QOTP_GO_RELEASE'}; the probe read ${found})`,
    );
  rmSync(runsDir, { recursive: true, force: true }); // the last run's captures, which this matrix replaces
  const data = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) data[i] = (i * 131 + (i >> 11)) & 0xff;
  writeFileSync(input, data);
}, 300_000);

afterAll(() => {
  mkdirSync(resultsDir, { recursive: true });
  const matrix: Matrix = {
    tool: 'qotp-interop-impaired',
    startedAt: new Date().toISOString(),
    goRelease: release,
    bytes: SIZE,
    runs: results,
  };
  writeFileSync(join(resultsDir, 'matrix.json'), `${JSON.stringify(matrix, null, 1)}\n`);
  writeFileSync(join(resultsDir, 'matrix.html'), renderMatrix(matrix));
  console.log(
    `impaired: wrote ${join(resultsDir, 'matrix.html')} and matrix.json ` +
      `(${results.filter((r) => r.passed).length} of ${results.length} runs passed)`,
  );
  rmSync(dir, { recursive: true, force: true });
});

describe('interop under impairment', () => {
  it.each(runs.map((r) => [runName(r), r] as const))(
    '%s',
    { timeout: (BUDGET_S + 30) * 1000 },
    async (name, { client, server, zeroRtt, scenario }) => {
      const slug = name.replace(/\W+/g, '-');
      mkdirSync(join(runsDir, slug), { recursive: true });
      const keyLogs = [join(runsDir, slug, 'server.keylog'), join(runsDir, slug, 'client.keylog')] as const;
      const srv = await startServer(server, ['--listen', '127.0.0.1:0', '--keylog', keyLogs[0]]);
      const relay = await startRelay({ server: srv.address, toServer: scenario.both, toClient: scenario.both });
      const started = performance.now();
      try {
        const args = ['--to', relay.address, '--file', input, '--timeout', String(BUDGET_S), '--keylog', keyLogs[1]];
        if (zeroRtt) args.push('--pubkey', srv.publicKey);
        const run = await runClient(client, args, (BUDGET_S + 10) * 1000);
        const seconds = (performance.now() - started) / 1000;
        const hash = createHash('sha256').update(readFileSync(input)).digest('hex');
        const passed = run.status === 0 && run.stdout.includes(`qotp stream 0 echoed ${SIZE} bytes sha256 ${hash} ok`);
        const why = passed
          ? null
          : `client exit ${run.status}: ${(run.stdout.trim().split('\n').at(-1) ?? '').slice(0, 200)}`;
        // A run that ended because one side sent a segment six times without an acknowledgement
        // reaching it ended as the spec allows: the relay's record, opened with both key logs,
        // shows it; such a run is reported, not failed.
        const keys = parseKeyLog(
          keyLogs
            .filter(existsSync)
            .map((p) => readFileSync(p, 'utf8'))
            .join('\n'),
        );
        const record = passed ? null : readResends(relay.captured, keys, relay.now());
        // The side that stopped answering first ended the run (a Go give-up right after its
        // sixth copy, G16, leaves the other side's copies unanswered too); failing that, either.
        const first = record === null ? null : stoppedFirst(record);
        const gaveUp =
          record === null
            ? null
            : first !== null
              ? giveUpAllowed(record, first)
              : (giveUpAllowed(record, 'client') ?? giveUpAllowed(record, 'server'));
        const expected =
          gaveUp ??
          (record === null ? null : g16(record, { client, server })) ??
          (IMPAIRED_EXPECTED[release] ?? []).find(([pattern]) => pattern.test(name))?.[1] ??
          null;
        writeFileSync(join(runsDir, slug, 'relay.pcap'), relay.pcap());
        const artifacts = {
          pcap: `runs/${slug}/relay.pcap`,
          keyLogs: keyLogs
            .filter((p) => existsSync(p) && statSync(p).size > 0)
            .map((p) => `runs/${slug}/${p.split('/').at(-1)}`),
        };
        // For the report: the side that stopped answering first, else one that fell silent 5 s
        // or more before the end (its last resend says how it gave up).
        const silent =
          record === null || first !== null
            ? null
            : ((['client', 'server'] as const).find(
                (side) => record.endMs - (record.lastDatagramMs[side] ?? record.endMs) >= 5000,
              ) ?? null);
        const reading =
          record === null
            ? ''
            : first !== null
              ? `the ${first} stopped answering first: ${giveUpAllowed(record, first) ?? noCause(record, first)}`
              : silent !== null
                ? `the ${silent} fell silent: ${giveUpAllowed(record, silent) ?? noCause(record, silent)}`
                : 'neither side stopped answering first';
        results.push({
          client,
          server,
          handshake: zeroRtt ? '0-RTT' : '1-RTT',
          scenario: scenario.name,
          passed,
          seconds: Math.round(seconds * 10) / 10,
          why,
          expected,
          seed: relay.seed,
          relay: relay.description,
          fates: relay.stats(),
          artifacts,
        });
        const fates = Object.entries(relay.stats()).map(([f, n]) => `${n} ${f}`);
        console.log(
          `impaired: ${name}: ${passed ? 'pass' : 'FAIL'} in ${seconds.toFixed(1)} s ` +
            `(seed ${relay.seed}; ${fates.join(', ')})` +
            `${expected ? ` [listed: ${expected}]` : ''}${reading ? ` (${reading})` : ''}`,
        );
        if (expected !== null) return; // a finding of the Go original: reported in the matrix, not failed
        const decoded = passed ? '' : timeline(relay.captured, keys, 20);
        expect(
          passed,
          `${why}\n${reading}\nrelay seed ${relay.seed} ` +
            `(${relay.description})\nclient:\n${run.stdout}\n${run.stderr}\nserver:\n${srv.output()}\ntimeline ` +
            `(as the relay received it, before its impairment):\n${decoded}`,
        ).toBe(true);
      } finally {
        srv.stop();
        await relay.close();
      }
    },
  );

  it('the matrix so far follows its schema', () => {
    const schema = JSON.parse(
      readFileSync(fileURLToPath(new URL('../schemas/matrix.schema.json', import.meta.url)), 'utf8'),
    );
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
    const ok = validate({
      tool: 'qotp-interop-impaired',
      startedAt: new Date().toISOString(),
      goRelease: release,
      bytes: SIZE,
      runs: results,
    });
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(results.length).toBe(runs.length);
    // The page links each run's capture and key logs, and they are there: a pcap (its magic
    // number, at least the handshake's datagrams) and a key log with the connection's secret.
    const html = renderMatrix({
      tool: 'qotp-interop-impaired',
      startedAt: new Date().toISOString(),
      goRelease: release,
      bytes: SIZE,
      runs: results,
    });
    for (const r of results) {
      expect(html).toContain(`href="${r.artifacts.pcap}"`);
      const pcap = readFileSync(join(resultsDir, r.artifacts.pcap));
      expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
      expect(pcap.length).toBeGreaterThan(24 + 2 * (16 + 28 + 1000));
      // A key log for every side that writes one (a v0.2.18 Go server writes none: finding G11).
      expect(r.artifacts.keyLogs.length).toBeGreaterThan(0);
      for (const k of r.artifacts.keyLogs)
        expect(readFileSync(join(resultsDir, k), 'utf8')).toMatch(/^QOTP_SHARED_SECRET [0-9a-f]+ [0-9a-f]{64}$/m);
    }
  });
});
