// Prints one closing line for the whole monorepo test run, summed over the JSON
// reports each package's vitest writes: "tests: N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

const root = join(import.meta.dirname, '..');
const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;

let passed = 0;
let failed = 0;
let skipped = 0;
for (const workspace of workspaces) {
  const path = join(root, workspace, '.vitest-report.json');
  if (!existsSync(path)) {
    console.log(`tests: ${workspace}: no report (its tests did not run)`);
    failed++;
    continue;
  }
  const r = JSON.parse(readFileSync(path, 'utf8')) as VitestReport;
  console.log(`tests: ${workspace.padEnd(10)} ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
