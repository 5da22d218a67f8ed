// JUnit XML for CI systems: one testsuite per target, one testcase per case.
// Expected failures, unsupported cases and (without --strict) SHOULD shortfalls are reported
// as skipped, with the reason, so that JUnit's failures are exactly the verdict's.
import { counts, levelOf } from '../verdict.js';
import type { Report } from './model.js';

const escape = (s: string): string =>
  s
    .replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string)
    // XML 1.0 allows only these characters: the rest is dropped, control characters included.
    // eslint-disable-next-line no-control-regex
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd]/g, '');

export function junitXml(report: Report): string {
  const suites = report.targets.map((t) => {
    const cases = t.cases.map((c) => {
      const name = `${c.id} [${c.level}]`;
      const time = (c.durationMs / 1000).toFixed(3);
      const head =
        `    <testcase classname="qotp.${escape(t.name)}.${escape(c.id.split('.')[0] as string)}" ` +
        `name="${escape(name)}" time="${time}">`;
      let body = '';
      if (c.outcome === 'unsupported')
        body = `\n      <skipped message="${escape(`unsupported: ${c.message ?? ''}`)}"/>`;
      else if (c.outcome !== 'pass' && c.expectedFailure !== null)
        body =
          `\n      <skipped ` +
          `message="${escape(`expected failure: ${c.expectedFailure} (observed: ${c.message ?? c.outcome})`)}"/>`;
      else if (c.outcome !== 'pass' && !counts(c, report.strict))
        body =
          `\n      <skipped message="` +
          escape(
            `${levelOf(c)} not met, counted only with --strict: ${c.failedClause ?? c.outcome}: ${c.message ?? ''}`,
          ) +
          '"/>';
      else if (c.outcome === 'fail')
        body =
          `\n      <failure message="${escape(`${c.failedClause}: ${c.message ?? ''}`)}" ` +
          `type="${escape(c.failedClause ?? 'fail')}"/>`;
      else if (c.outcome !== 'pass')
        body = `\n      <error message="${escape(`${c.outcome}: ${c.message ?? ''}`)}" type="${c.outcome}"/>`;
      const notes = c.notes.length > 0 ? `\n      <system-out>${escape(c.notes.join('\n'))}</system-out>` : '';
      return `${head}${body}${notes}\n    </testcase>`;
    });
    // The same cases as the verdict's: a SHOULD shortfall without --strict is skipped, with its reason.
    const counted = (c: (typeof t.cases)[number]) => c.expectedFailure === null && counts(c, report.strict);
    const failures = t.cases.filter((c) => c.outcome === 'fail' && counted(c)).length;
    const errors = t.cases.filter(
      (c) => (c.outcome === 'timeout' || c.outcome === 'harness-error') && counted(c),
    ).length;
    const skipped = t.cases.filter(
      (c) =>
        c.outcome !== 'pass' &&
        !((c.outcome === 'fail' || c.outcome === 'timeout' || c.outcome === 'harness-error') && counted(c)),
    ).length;
    const time = (t.cases.reduce((s, c) => s + c.durationMs, 0) / 1000).toFixed(3);
    const i = t.implementation;
    const properties: [string, string][] = [
      ['implementation.version', i.version ?? 'unknown'],
      ['implementation.version-source', i.versionSource],
      ['expected-failures', i.expectedFailuresFile ?? 'none'],
    ];
    if (i.expectedFailuresNote !== null) properties.push(['expected-failures.note', i.expectedFailuresNote]);
    const props = properties.map(
      ([name, value]) => `      <property name="${escape(name)}" value="${escape(value)}"/>`,
    );
    return (
      `  <testsuite name="qotp-conformance ${escape(t.name)}" tests="${t.cases.length}" failures="${failures}" ` +
      `errors="${errors}" skipped="${skipped}" time="${time}">\n    <properties>\n${props.join('\n')}\n    ` +
      `</properties>\n${cases.join('\n')}\n  </testsuite>`
    );
  });
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ` +
    `name="qotp-conformance">\n${suites.join('\n')}\n</testsuites>\n`
  );
}
