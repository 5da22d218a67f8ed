// Wall time of the whole conformance suite against each bundled endpoint, one endpoint at a
// time (the suite's own defaults otherwise: 4 cases at once). The run's verdict line is
// kept with the time, so a fast run that failed does not pass for a fast suite.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summaryLine, type Report } from '@qotp/conformance';
import { summarize, type Summary } from './measure.js';

const cli = fileURLToPath(new URL('../../conformance/bin/qotp-conformance.js', import.meta.url));

export interface SuiteRow {
  endpoint: string;
  /** `--quick` (the edit-run loop's run) or every case (the verdict's). */
  run: 'quick' | 'full';
  cases: number;
  seconds: Summary;
  /** The suite's summary line of the last run, e.g. "go: 47 passed, 11 failed (11 expected), 1 unsupported". */
  verdict: string;
}

export interface SuiteOptions {
  endpoints: string[];
  repeats: number;
  /** Extra runner arguments, e.g. a --grep for the smoke run. */
  args: string[];
  /** The runs to time: --quick, every case, or both. */
  runs: SuiteRow['run'][];
  progress: (line: string) => void;
}

function runSuite(endpoint: string, args: string[], json: string): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, '--bundled', endpoint, '--json', json, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => {
      // 1 only says a counted case failed; the verdict line says which. 2 is a usage or harness error.
      if (code !== 0 && code !== 1)
        reject(new Error(`qotp-conformance --bundled ${endpoint} exited with ${code}: ${stderr.slice(-500)}`));
      else resolve(JSON.parse(readFileSync(json, 'utf8')) as Report);
    });
  });
}

export async function suiteRows(o: SuiteOptions): Promise<SuiteRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'qotp-bench-suite-'));
  const rows: SuiteRow[] = [];
  try {
    for (const [endpoint, run] of o.endpoints.flatMap((e) =>
      o.runs.map((run): [string, SuiteRow['run']] => [e, run]),
    )) {
      const seconds: number[] = [];
      let cases = 0;
      let verdict = '';
      for (let r = 1; r <= o.repeats; r++) {
        const report = await runSuite(
          endpoint,
          [...(run === 'quick' ? ['--quick'] : []), ...o.args],
          join(dir, `${endpoint}-${run}-${r}.json`),
        );
        const target = report.targets[0];
        if (target === undefined) throw new Error(`the conformance report for ${endpoint} names no target`);
        cases = target.cases.length;
        verdict = summaryLine(target.name, target.summary);
        seconds.push(report.durationMs / 1000);
        o.progress(
          `conformance suite (${run}) vs ${endpoint} run ${r}: ${(report.durationMs / 1000).toFixed(1)} s, ${verdict}`,
        );
      }
      rows.push({ endpoint, run, cases, seconds: summarize(seconds), verdict });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
