// A short run of the benchmark: it prints the table and writes results that follow the
// schema, with a row for every implementation. The figures themselves are never asserted.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect, it } from 'vitest';

it('npm run bench --quick prints the tables and writes schema-valid JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qotp-bench-'));
  try {
    const out = join(dir, 'bench.json');
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, '--quick', '--out', out], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^implementation\s+seal \(median, spread\)/m);
    const results = JSON.parse(readFileSync(out, 'utf8')) as { sealOpen: { implementation: string }[]; handshakes: { server: string; mode: string }[] };
    const schema = JSON.parse(readFileSync(fileURLToPath(new URL('../schemas/bench.schema.json', import.meta.url)), 'utf8')) as object;
    const validate = new Ajv2020({ strict: true }).compile(schema);
    expect(validate(results), JSON.stringify(validate.errors)).toBe(true);
    expect(results.sealOpen.map((row) => row.implementation)).toEqual([
      'reference (noble)',
      'reference (node)',
      'node:crypto AEAD only (ceiling)',
      'Go original (qotp encryptData/decryptData)',
    ]);
    expect(results.handshakes.map((row) => `${row.server} ${row.mode}`)).toEqual(['reference 1-RTT', 'reference 0-RTT', 'go 1-RTT', 'go 0-RTT']);
    expect(r.stdout).toMatch(/^server\s+handshake\s+handshakes\/s/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
