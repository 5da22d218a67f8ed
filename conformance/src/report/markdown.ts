// A short Markdown summary for a CI page (a GitHub job summary, a merge-request comment): per
// target its summary line and the cases that count against it, each with its clause, one line
// of why and the command that replays it; a link to the HTML report when there is one.
import { counts, summaryLine } from '../verdict.js';
import type { Report } from './model.js';

/** Text for a table cell: one line, no pipe that would end the cell. */
const cell = (s: string): string => s.split('\n')[0]?.replaceAll('|', '\\|').slice(0, 300) ?? '';

export function markdownSummary(report: Report, htmlLink: string | null): string {
  const out = [`## QOTP conformance (${report.protocol} ${report.protocolVersion})`, ''];
  out.push(
    `Seed ${report.seed ?? '-'}${report.strict ? ', --strict' : ''}; ${(report.durationMs / 1000).toFixed(0)} ` +
      `s.${htmlLink === null ? '' : ` Full report: [${htmlLink}](${htmlLink}).`}`,
    '',
  );
  out.push('| target | verdict | summary |', '|---|---|---|');
  for (const t of report.targets)
    out.push(
      `| ${cell(t.name)} | ${t.summary.verdict === 'pass' ? 'pass' : '**fail**'} ` +
        `| ${cell(summaryLine(t.name, t.summary).slice(t.name.length + 2))} |`,
    );
  for (const t of report.targets) {
    const failing = t.cases.filter(
      (c) => c.outcome !== 'pass' && c.outcome !== 'unsupported' && c.expectedFailure === null,
    );
    if (failing.length === 0) continue;
    out.push(
      '',
      `### ${cell(t.name)}: ${failing.length} not passed`,
      '',
      '| case | level | outcome | clause | why | replay |',
      '|---|---|---|---|---|---|',
    );
    for (const c of failing) {
      const outcome = counts(c, report.strict) ? c.outcome : `${c.outcome} (not counted)`;
      out.push(
        `| \`${c.id}\` | ${c.level} | ${outcome} | ${c.failedClause === null ? '-' : `\`${c.failedClause}\``} ` +
          `| ${cell(c.message ?? '')} | ${c.replay === undefined ? '-' : `\`${cell(c.replay)}\``} |`,
      );
    }
  }
  const unexpected = report.targets.filter((t) => t.summary.unexpectedPasses.length > 0);
  for (const t of unexpected)
    out.push(
      '',
      `${cell(t.name)}: listed as expected failures but ` +
        `passed: ${t.summary.unexpectedPasses.map((id) => `\`${id}\``).join(', ')}`,
    );
  return `${out.join('\n')}\n`;
}
