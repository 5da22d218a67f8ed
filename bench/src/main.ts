// npm run bench: the figures of the reference next to the Go original's, measured in the
// same run on the same machine, printed as tables and written as JSON
// (schemas/bench.schema.json): seal and open of a 1400-byte Data packet, handshakes per
// second with the time to the first echoed byte, bulk transfers between every pair of
// endpoints with their CPU time, the conformance suite's wall time per endpoint, and how
// the reference server's cost per datagram grows with its connections (and a flood).
//
//   tsx src/main.ts [--quick] [--only SECTION,...] [--out FILE]
//   --quick: short runs, for the smoke test; sections: seal-open, handshakes, bulk, impaired, suite, scaling
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { selectCryptoBackend } from '@qotp/reference/node';
import { bulkRows, type BulkLoad, type BulkRow } from './bulk.js';
import { goSealOpenRow } from './go.js';
import { handshakeRows, type HandshakeRow } from './handshakes.js';
import { busyFraction, type Summary } from './measure.js';
import { sealOpenRows, type SealOpenRow } from './seal-open.js';
import { floodRow, scalingRows, type FloodRow, type ScalingRow } from './scaling.js';
import { suiteRows, type SuiteRow } from './suite.js';

const schemaPath = fileURLToPath(new URL('../schemas/bench.schema.json', import.meta.url));
const SECTIONS = ['seal-open', 'handshakes', 'bulk', 'impaired', 'suite', 'scaling'] as const;
type Section = (typeof SECTIONS)[number];

const MiB = 1 << 20;
const IMPAIRED_PATHS: NonNullable<BulkLoad['path']>[] = [
  { name: 'loss 5 %', both: { loss: 0.05 } },
  { name: 'reorder 10 % by 20 ms', both: { reorder: { rate: 0.1, ms: 20 } } },
  { name: 'duplicate 10 %', both: { duplicate: 0.1 } },
  { name: 'corrupt 5 %', both: { corrupt: 0.05 } },
  { name: '10 Mbit/s, 64 kB queue', both: { rate: { bitsPerSecond: 10e6, queueBytes: 64 * 1024 }, delayMs: 5 } },
];
const FULL = {
  packetSize: 1400,
  ms: 1000,
  repeats: 5,
  handshakes: 200,
  bulkLoads: [
    { mode: 'sink', bytes: 64 * MiB },
    // Echo loads both directions; 16 MiB is what the Go original completes (README, G12).
    { mode: 'echo', bytes: 16 * MiB },
  ] as BulkLoad[],
  bulkRepeats: 3,
  bulkTimeoutSeconds: 60,
  // Goodput of a 1 MiB echo per pair through the interop matrix's impaired paths.
  impairedLoads: IMPAIRED_PATHS.map((path) => ({ mode: 'echo', bytes: MiB, path })) as BulkLoad[],
  suiteArgs: [] as string[],
  suiteRuns: ['quick', 'full'] as SuiteRow['run'][],
  scalingConnections: [0, 1000, 5000, 20_000],
  scalingDatagrams: 2000,
  flood: { perSecond: 2000, seconds: 5 },
};
const QUICK: typeof FULL = {
  packetSize: 1400,
  ms: 50,
  repeats: 2,
  handshakes: 5,
  bulkLoads: [
    { mode: 'sink', bytes: 64 * 1024 },
    { mode: 'echo', bytes: 64 * 1024 },
  ],
  bulkRepeats: 1,
  bulkTimeoutSeconds: 15,
  impairedLoads: [{ mode: 'echo', bytes: 64 * 1024, path: IMPAIRED_PATHS[0] as NonNullable<BulkLoad['path']> }],
  suiteArgs: ['--grep', '^handshake\\.in-band$'],
  suiteRuns: ['quick'],
  scalingConnections: [0, 100],
  scalingDatagrams: 50,
  flood: { perSecond: 200, seconds: 2 },
};

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`);
const cell = (s: Summary): string => `${fmt(s.median)}/s (${fmt(s.min)}-${fmt(s.max)})`;
const mbps = (s: Summary, size: number): string => `${((s.median * size) / 1e6).toFixed(0)} MB/s`;
const spread = (s: Summary | null, digits: number, unit = ''): string =>
  s === null ? '-' : `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;

function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cols: string[]) =>
    cols
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

function sealOpenTable(rows: SealOpenRow[], size: number): string {
  const go = rows[rows.length - 1] as SealOpenRow;
  const head = [
    'implementation',
    'seal (median, spread)',
    'seal MB/s',
    'open (median, spread)',
    'open MB/s',
    'seal vs Go',
  ];
  return table(
    head,
    rows.map((r) => [
      r.implementation,
      cell(r.seal),
      mbps(r.seal, size),
      cell(r.open),
      mbps(r.open, size),
      `${(r.seal.median / go.seal.median).toFixed(2)}x`,
    ]),
  );
}

function handshakeTable(rows: HandshakeRow[]): string {
  const head = [
    'server',
    'handshake',
    'handshakes/s (median, spread)',
    'first echoed byte (median, spread)',
    'resent',
    'failed',
  ];
  return table(
    head,
    rows.map((r) => [
      r.server,
      r.mode,
      spread(r.perSecond, 0, '/s'),
      spread(r.firstByteMs, 2, ' ms'),
      String(r.resent),
      String(r.failed),
    ]),
  );
}

const size = (bytes: number): string => (bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / 1024} KiB`);
const short = (text: string, n = 90): string => (text.length > n ? `${text.slice(0, n - 3)}...` : text);

function bulkTable(rows: BulkRow[]): string {
  const head = [
    'load',
    'client -> server',
    'MB/s (median, spread)',
    'client CPU s',
    'server CPU s',
    'vs Go->Go',
    'done',
    'first failure',
  ];
  return table(
    head,
    rows.map((r) => [
      `${r.mode} ${size(r.bytes)}${r.path === undefined ? '' : `, ${r.path}`}`,
      `${r.client} -> ${r.server}`,
      spread(r.mbPerSecond, 2),
      spread(r.clientCpuSeconds, 2),
      spread(r.serverCpuSeconds, 2),
      r.vsGoGo === null ? '-' : `${r.vsGoGo.toFixed(2)}x`,
      `${r.completed}/${r.runs}`,
      r.failure === null ? '' : short(r.failure),
    ]),
  );
}

function suiteTable(rows: SuiteRow[]): string {
  return table(
    ['endpoint', 'run', 'cases', 'wall time s (median, spread)', 'verdict (last run)'],
    rows.map((r) => [r.endpoint, r.run, String(r.cases), spread(r.seconds, 1), r.verdict]),
  );
}

function scalingTable(rows: ScalingRow[], flood: FloodRow): string {
  const base = rows[0]?.usPerDatagram ?? 0;
  const cost = table(
    ['live connections', 'us per datagram', 'x the first row'],
    rows.map((r) => [
      String(r.liveConnections),
      r.usPerDatagram.toFixed(1),
      base > 0 ? (r.usPerDatagram / base).toFixed(2) : '-',
    ]),
  );
  const during =
    `flood of ${flood.initSndPerSecond} InitSnd/s for ${flood.floodSeconds} s (${flood.sent} sent): a 1-RTT echo ` +
    `client launched 1 s in ${flood.clientCompleted ? 'completed' : 'FAILED'} ` +
    `after ${(flood.clientMs / 1000).toFixed(2)} s (${flood.clientSays})`;
  return `${cost}\n${during}`;
}

function parseSections(text: string | undefined): Section[] {
  if (text === undefined) return [...SECTIONS];
  const names = text.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown section(s) ${unknown.join(', ')}; sections: ${SECTIONS.join(', ')}\n`);
    process.exit(2);
  }
  return SECTIONS.filter((s) => names.includes(s));
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    only: { type: 'string' },
    out: { type: 'string', default: 'bench-results/bench.json' },
  },
});
const settings = values.quick ? QUICK : FULL;
const sections = parseSections(values.only);
const progress = (line: string) => process.stdout.write(`bench: ${line}\n`);
if (process.platform !== 'linux') {
  process.stderr.write(
    `bench: needs Linux: CPU times and the machine's load come from /proc (this is ${process.platform})\n`,
  );
  process.exit(2);
}
// Figures taken next to other busy processes say little; say so up front (and in the JSON).
const busyBefore = await busyFraction(1000);
if (busyBefore > 0.1)
  progress(
    `warning: the CPUs were ${(100 * busyBefore).toFixed(0)} % busy with other work in the second before the ` +
      `bench; the figures will be skewed`,
  );
const results: Record<string, unknown> = {
  tool: 'qotp-bench',
  startedAt: new Date().toISOString(),
  machine: {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    platform: `${process.platform} ${process.arch}`,
    busyBefore,
  },
  settings: {
    sections,
    repeats: settings.repeats,
    packetSize: settings.packetSize,
    msPerRun: settings.ms,
    handshakesPerRun: settings.handshakes,
    bulkRepeats: settings.bulkRepeats,
    bulkTimeoutSeconds: settings.bulkTimeoutSeconds,
  },
};
const tables: string[] = [];

if (sections.includes('seal-open')) {
  progress(`seal/open of ${settings.packetSize}-byte Data packets, ${settings.repeats} runs of ${settings.ms} ms each`);
  const rows = [...sealOpenRows(settings), goSealOpenRow(settings)];
  results.sealOpen = rows;
  tables.push(sealOpenTable(rows, settings.packetSize));
}
if (sections.includes('handshakes')) {
  progress(`${settings.repeats} runs of ${settings.handshakes} handshakes with a one-byte echo against each server`);
  selectCryptoBackend(); // the tester side of the handshakes on the fastest backend
  const rows = await handshakeRows({ handshakes: settings.handshakes, repeats: settings.repeats });
  results.handshakes = rows;
  tables.push(handshakeTable(rows));
}
/** The bulk transfers of `loads` between every pair, with their table. */
async function bulkSection(
  loads: typeof settings.bulkLoads,
  what: string,
): Promise<Awaited<ReturnType<typeof bulkRows>>> {
  progress(`${what}, ${settings.bulkRepeats} runs per pair, ${settings.bulkTimeoutSeconds} s limit per run`);
  const rows = await bulkRows({
    loads,
    repeats: settings.bulkRepeats,
    timeoutSeconds: settings.bulkTimeoutSeconds,
    progress,
  });
  tables.push(bulkTable(rows));
  return rows;
}
if (sections.includes('bulk')) results.bulk = await bulkSection(settings.bulkLoads, 'bulk transfers, one stream');
if (sections.includes('impaired')) {
  const paths = settings.impairedLoads.map((l) => l.path?.name).join('; ');
  results.impaired = await bulkSection(settings.impairedLoads, `goodput through impaired paths (${paths})`);
}
if (sections.includes('suite')) {
  progress(`the conformance suite against each bundled endpoint, ${settings.bulkRepeats} runs each`);
  const rows = await suiteRows({
    endpoints: ['reference', 'go'],
    repeats: settings.bulkRepeats,
    args: settings.suiteArgs,
    runs: settings.suiteRuns,
    progress,
  });
  results.suite = rows;
  tables.push(suiteTable(rows));
}

if (sections.includes('scaling')) {
  progress(
    `reference server cost per datagram with ${settings.scalingConnections.join(', ')} live connections, then ` +
      `an InitSnd flood of ${settings.flood.perSecond}/s`,
  );
  const perDatagram = scalingRows({ connections: settings.scalingConnections, datagrams: settings.scalingDatagrams });
  const flood = await floodRow({ ...settings.flood, clientTimeoutSeconds: 20 });
  results.scaling = { perDatagram, flood };
  tables.push(scalingTable(perDatagram, flood));
}

const validate = new Ajv2020({ allErrors: true, strict: true }).compile(
  JSON.parse(readFileSync(schemaPath, 'utf8')) as object,
);
if (!validate(results)) throw new Error(`bench results do not match ${schemaPath}: ${JSON.stringify(validate.errors)}`);
const out = resolve(values.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);
process.stdout.write(`\n${tables.join('\n\n')}\nwrote ${out}\n`);
