// What the terminal shows: a line per finished case while the run goes on, then a
// table per target and its summary line.
import type { CaseDefinition } from '../kit/case.js';
import type { CaseResult } from '../runner.js';
import { implementationLine, type Report } from './model.js';
import { summaryLine } from '../verdict.js';

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const OUTCOME_COLOR: Record<CaseResult['outcome'], number> = {
  pass: 32,
  fail: 31,
  unsupported: 90,
  timeout: 35,
  'harness-error': 35,
};

function label(r: CaseResult): string {
  const text =
    r.outcome !== 'pass' && r.outcome !== 'unsupported' && r.expectedFailure !== null ? `${r.outcome}*` : r.outcome;
  return paint(r.expectedFailure !== null && r.outcome !== 'pass' ? 33 : OUTCOME_COLOR[r.outcome], text.padEnd(13));
}

/** How far the whole run is; shared by the targets, which run side by side. */
export interface RunCounter {
  done: number;
  total: number;
}

/** Live progress: "[ 3/102] go  pass  handshake.in-band  (120 ms)", one count for all targets. */
export function progress(
  targetName: string,
  counter: RunCounter,
  write: (s: string) => void = (s) => process.stdout.write(s),
) {
  const total = counter.total;
  return {
    start(_c: CaseDefinition) {},
    end(r: CaseResult) {
      const done = ++counter.done;
      const why =
        r.outcome === 'pass' || r.message === null
          ? ''
          : `  ${r.failedClause ? `[${r.failedClause}] ` : ''}${r.message.split('\n')[0]}`;
      write(
        `[${String(done).padStart(String(total).length)}/${total}] ${targetName.padEnd(10)} ${label(r)} ${r.id} ` +
          `(${r.durationMs.toFixed(0)} ms)${why}\n`,
      );
    },
  };
}

const SHORT: Record<CaseResult['outcome'], string> = {
  pass: 'pass',
  fail: 'FAIL',
  unsupported: '-',
  timeout: 'TIMEOUT',
  'harness-error': 'ERROR',
};

/** With several targets: every case in a row, one column per target ("fail*": an expected failure). */
function matrix(report: Report): string[] {
  const names = report.targets.map((t) => t.name);
  const ids = report.targets[0]?.cases.map((c) => c.id) ?? [];
  const width = Math.max(...ids.map((id) => id.length), 4);
  const columns = names.map((n) => Math.max(n.length, 8));
  const lines = ['', `${'case'.padEnd(width)}  ${names.map((n, i) => n.padEnd(columns[i] as number)).join('  ')}`];
  for (const id of ids) {
    const cells = report.targets.map((t, i) => {
      const c = t.cases.find((x) => x.id === id);
      const text =
        c === undefined
          ? ''
          : SHORT[c.outcome] +
            (c.outcome !== 'pass' && c.outcome !== 'unsupported' && c.expectedFailure !== null ? '*' : '');
      return text.padEnd(columns[i] as number);
    });
    lines.push(`${id.padEnd(width)}  ${cells.join('  ')}`.trimEnd());
  }
  lines.push(`(* an expected failure, with its reason below; - unsupported)`);
  return lines;
}

/** The closing table: the matrix (several targets), every case that did not pass, then one summary line per target. */
export function summaryTable(report: Report): string {
  const lines: string[] = report.targets.length > 1 ? matrix(report) : [];
  for (const t of report.targets) {
    const notPassed = t.cases.filter((c) => c.outcome !== 'pass');
    lines.push('', `${t.name}: ${t.description}`, `  ${implementationLine(t.implementation)}`);
    for (const [role, diagnosis] of Object.entries(t.firstContact ?? {}))
      lines.push(`  first contact as ${role}: nothing it sent authenticated and decoded: ${diagnosis}`);
    if (notPassed.length === 0) lines.push('  every case passed');
    for (const c of notPassed) {
      const reason =
        c.expectedFailure !== null && c.outcome !== 'unsupported'
          ? `expected: ${c.expectedFailure}`
          : (c.message ?? '').split('\n')[0];
      const clause = c.failedClause ? `${c.failedClause} ` : '';
      lines.push(`  ${c.outcome.padEnd(13)} ${c.level.padEnd(6)} ${c.id.padEnd(38)} ${clause}${reason}`);
      if (c.expectedFailure !== null || c.outcome === 'unsupported') continue;
      // An unexpected failure: the rest of the cause and what the endpoint said last.
      // A harness error is the runner's own trouble: all of its cause, so nobody needs the JSON.
      for (const more of (c.message ?? '').split('\n').slice(1, c.outcome === 'harness-error' ? 20 : 6))
        lines.push(`${' '.repeat(16)}${more}`);
      const said = c.endpointOutput.trim().split('\n').filter(Boolean).slice(-3);
      if (said.length > 0) lines.push(`${' '.repeat(16)}endpoint's last output: ${said.join(' | ').slice(0, 400)}`);
      if (c.replay !== undefined) lines.push(`${' '.repeat(16)}replay: ${c.replay}`);
      if (c.artifacts !== null) lines.push(`${' '.repeat(16)}open the capture: ${c.artifacts.tshark}`);
    }
    if (t.summary.unexpectedPasses.length > 0)
      lines.push(`  listed as expected failures but passed: ${t.summary.unexpectedPasses.join(', ')}`);
  }
  for (const e of report.harnessErrors ?? [])
    lines.push(
      '',
      `harness error outside any case (a bug of the runner): ${e.split('\n').slice(0, 12).join('\n    ')}`,
    );
  lines.push('');
  for (const t of report.targets) lines.push(summaryLine(t.name, t.summary));
  return `${lines.join('\n')}\n`;
}
