// Prints one closing line summed over vitest JSON reports: "N passed, N failed".
//   tsx scripts/test-summary.ts                       every workspace's .vitest-report.json
//   tsx scripts/test-summary.ts --label interop FILE  the given reports, as "interop: N passed, N failed"
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

const root = join(import.meta.dirname, '..');
const { values, positionals } = parseArgs({ options: { label: { type: 'string' } }, allowPositionals: true });
const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
const reports: [string, string][] =
  positionals.length > 0 ? positionals.map((p) => [p, resolve(p)]) : workspaces.map((w) => [w, join(root, w, '.vitest-report.json')]);

let passed = 0;
let failed = 0;
let skipped = 0;
for (const [name, path] of reports) {
  if (!existsSync(path)) {
    console.log(`tests: ${name}: no report (its tests did not run)`);
    failed++;
    continue;
  }
  const r = JSON.parse(readFileSync(path, 'utf8')) as VitestReport;
  if (positionals.length === 0) console.log(`tests: ${name.padEnd(12)} ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}
const prefix = values.label ? `${values.label}: ` : '';
console.log(`${prefix}${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
