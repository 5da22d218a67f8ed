// Prints one closing line summed over vitest JSON reports: "N passed, N failed", after a line
// for each failed test (file, name, first line of its message).
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
  testResults: { name: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

/** The failed tests of a report, one line each, so the tail of a CI log names them. */
function failures(report: VitestReport): string[] {
  return report.testResults.flatMap((file) =>
    file.assertionResults
      .filter((t) => t.status === 'failed')
      .map((t) => {
        const why = (t.failureMessages[0] ?? '').split('\n')[0]!.slice(0, 300);
        return `${file.name.replace(root + '/', '')} > ${t.fullName}: ${why}`;
      }),
  );
}

const root = join(import.meta.dirname, '..');
const { values, positionals } = parseArgs({ options: { label: { type: 'string' } }, allowPositionals: true });
const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] })
  .workspaces;
const reports: [string, string][] =
  positionals.length > 0
    ? positionals.map((p) => [p, resolve(p)])
    : workspaces.map((w) => [w, join(root, w, '.vitest-report.json')]);

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
  if (positionals.length === 0)
    console.log(`tests: ${name.padEnd(12)} ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  for (const line of failures(r)) console.log(`tests:   failed: ${line}`);
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}
const prefix = values.label ? `${values.label}: ` : '';
console.log(`${prefix}${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
