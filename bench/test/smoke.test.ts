// A short run of the benchmark: it prints the table and writes results that follow the
// schema, with a row for every implementation. The figures themselves are never asserted.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect, it } from 'vitest';

it('npm run bench --quick prints the tables and writes schema-valid JSON with every section', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qotp-bench-'));
  try {
    const out = join(dir, 'bench.json');
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, '--quick', '--out', out], {
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^implementation\s+seal \(median, spread\)/m);
    const results = JSON.parse(readFileSync(out, 'utf8')) as {
      sealOpen: { implementation: string }[];
      handshakes: { server: string; mode: string }[];
      bulk: { mode: string; client: string; server: string; runs: number; completed: number; failure: string | null }[];
      suite: { endpoint: string; run: string; cases: number; verdict: string }[];
    };
    const schema = JSON.parse(
      readFileSync(fileURLToPath(new URL('../schemas/bench.schema.json', import.meta.url)), 'utf8'),
    ) as object;
    const validate = new Ajv2020({ strict: true }).compile(schema);
    expect(validate(results), JSON.stringify(validate.errors)).toBe(true);
    expect(results.sealOpen.map((row) => row.implementation)).toEqual([
      'reference (noble)',
      'reference (node)',
      'node:crypto AEAD only (ceiling)',
      'Go original (qotp encryptData/decryptData)',
    ]);
    expect(results.handshakes.map((row) => `${row.server} ${row.mode}`)).toEqual([
      'reference 1-RTT',
      'reference 0-RTT',
      'go 1-RTT',
      'go 0-RTT',
    ]);
    expect(r.stdout).toMatch(/^server\s+handshake\s+handshakes\/s/m);
    // Every pair in both loads ran; a run either completed or says why not.
    expect(results.bulk.map((row) => `${row.mode} ${row.client}->${row.server}`)).toEqual(
      ['sink', 'echo'].flatMap((mode) =>
        ['go->go', 'reference->reference', 'reference->go', 'go->reference'].map((pair) => `${mode} ${pair}`),
      ),
    );
    for (const row of results.bulk)
      expect(row.completed === row.runs || row.failure !== null, JSON.stringify(row)).toBe(true);
    // The impaired section: every pair through the relay's first path, completed or saying why not.
    const impaired = (
      results as unknown as {
        impaired: {
          path: string;
          client: string;
          server: string;
          runs: number;
          completed: number;
          failure: string | null;
        }[];
      }
    ).impaired;
    expect(impaired.map((row) => `${row.path} ${row.client}->${row.server}`)).toEqual(
      ['go->go', 'reference->reference', 'reference->go', 'go->reference'].map((pair) => `loss 5 % ${pair}`),
    );
    for (const row of impaired)
      expect(row.completed === row.runs || row.failure !== null, JSON.stringify(row)).toBe(true);
    // The reference completes its own transfers, so their rows carry figures.
    expect(
      results.bulk
        .filter((row) => row.client === 'reference' && row.server === 'reference')
        .map((row) => row.completed),
    ).toEqual([1, 1]);
    expect(r.stdout).toMatch(/^load\s+client -> server\s+MB\/s/m);
    expect(results.suite.map((row) => `${row.endpoint} ${row.run} ${row.cases}`)).toEqual([
      'reference quick 1',
      'go quick 1',
    ]);
    expect(results.suite[0]?.verdict).toBe('reference: 1 passed, 0 failed');
    expect(r.stdout).toMatch(/^endpoint\s+run\s+cases\s+wall time/m);
    const scaling = (
      results as unknown as {
        scaling: { perDatagram: { liveConnections: number }[]; flood: { sent: number; clientSays: string } };
      }
    ).scaling;
    expect(scaling.perDatagram.map((row) => row.liveConnections)).toEqual([0, 100]);
    expect(scaling.flood.sent).toBeGreaterThan(0);
    expect(scaling.flood.clientSays).not.toBe('');
    expect(r.stdout).toMatch(/^live connections\s+us per datagram/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
