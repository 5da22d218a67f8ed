// npm run bench: the figures of the reference next to the Go original's, measured in the
// same run on the same machine, printed as tables and written as JSON
// (schemas/bench.schema.json). So far: seal and open of a 1400-byte Data packet, and
// handshakes per second with the time to the first echoed byte.
//
//   tsx src/main.ts [--quick] [--out FILE]     --quick: short runs, for the smoke test
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { selectCryptoBackend } from '@qotp/reference/node';
import { goSealOpenRow } from './go.js';
import { handshakeRows, type HandshakeRow } from './handshakes.js';
import type { Summary } from './measure.js';
import { sealOpenRows, type SealOpenOptions, type SealOpenRow } from './seal-open.js';

const schemaPath = fileURLToPath(new URL('../schemas/bench.schema.json', import.meta.url));

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`);
const cell = (s: Summary): string => `${fmt(s.median)}/s (${fmt(s.min)}-${fmt(s.max)})`;
const mbps = (s: Summary, size: number): string => `${((s.median * size) / 1e6).toFixed(0)} MB/s`;

function sealOpenTable(rows: SealOpenRow[], size: number, go: SealOpenRow): string {
  const head = ['implementation', 'seal (median, spread)', 'seal MB/s', 'open (median, spread)', 'open MB/s', 'seal vs Go'];
  return table(head, rows.map((r) => [r.implementation, cell(r.seal), mbps(r.seal, size), cell(r.open), mbps(r.open, size), `${(r.seal.median / go.seal.median).toFixed(2)}x`]));
}

const ms = (s: Summary): string => `${s.median.toFixed(2)} ms (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;

function handshakeTable(rows: HandshakeRow[]): string {
  const head = ['server', 'handshake', 'handshakes/s (median, spread)', 'first echoed byte (median, spread)', 'resent', 'failed'];
  return table(head, rows.map((r) => [r.server, r.mode, `${r.perSecond.median.toFixed(0)}/s (${r.perSecond.min.toFixed(0)}-${r.perSecond.max.toFixed(0)})`, ms(r.firstByteMs), String(r.resent), String(r.failed)]));
}

function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string', default: 'bench-results/bench.json' } } });
const settings: SealOpenOptions & { handshakes: number } = values.quick
  ? { packetSize: 1400, ms: 50, repeats: 2, handshakes: 5 }
  : { packetSize: 1400, ms: 1000, repeats: 5, handshakes: 200 };

process.stdout.write(`bench: seal/open of ${settings.packetSize}-byte Data packets, ${settings.repeats} runs of ${settings.ms} ms each\n`);
const go = goSealOpenRow(settings);
const rows = [...sealOpenRows(settings), go];
process.stdout.write(`bench: ${settings.repeats} runs of ${settings.handshakes} handshakes with a one-byte echo against each server\n`);
selectCryptoBackend(); // the tester side of the handshakes on the fastest backend
const handshakes = await handshakeRows({ handshakes: settings.handshakes, repeats: settings.repeats });
const results = {
  tool: 'qotp-bench',
  startedAt: new Date().toISOString(),
  machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', platform: `${process.platform} ${process.arch}` },
  settings: { packetSize: settings.packetSize, msPerRun: settings.ms, repeats: settings.repeats, handshakesPerRun: settings.handshakes },
  sealOpen: rows,
  handshakes,
};
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
if (!validate(results)) throw new Error(`bench results do not match ${schemaPath}: ${JSON.stringify(validate.errors)}`);
const out = resolve(values.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);
process.stdout.write(`\n${sealOpenTable(rows, settings.packetSize, go)}\n\n${handshakeTable(handshakes)}\nwrote ${out}\n`);
