// One self-contained HTML file: the matrix of cases by target, then per target and case
// the verdict, the clauses with their text, the checks, timings next to what the spec
// expects, and the packet timeline (who sent what, when, decrypted). No scripts, no
// external resources: it opens anywhere and can be attached to a CI run.
import { spec } from '@qotp/spec';
import { relative } from 'node:path';
import type { CaseReport, Report, TargetReport } from './model.js';
import { implementationLine } from './model.js';
import { summaryLine } from '../verdict.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const clauseText = new Map(spec.clauses.map((c) => [c.id, `${c.level}: ${c.text}`]));
const anchor = (t: string, c: string) => `case-${t}-${c}`.replace(/[^a-zA-Z0-9-]/g, '-');

/** Listed as an expected failure, yet it passed: the list is out of date. */
const unexpectedPass = (c: CaseReport): boolean => c.outcome === 'pass' && c.expectedFailure !== null;

function badge(c: CaseReport): string {
  const label = unexpectedPass(c)
    ? 'pass (listed as expected to fail)'
    : c.outcome !== 'pass' && c.outcome !== 'unsupported' && c.expectedFailure !== null
      ? `${c.outcome} (expected)`
      : c.outcome;
  const cls = unexpectedPass(c)
    ? 'unexpected-pass'
    : c.outcome !== 'pass' && c.expectedFailure !== null
      ? 'expected'
      : c.outcome;
  // The clause a failure names, in the cell itself: the matrix alone then says what broke.
  const clause = c.outcome === 'fail' && c.failedClause !== null ? ` <code>${esc(c.failedClause)}</code>` : '';
  return `<span class="badge ${cls}">${esc(label)}</span>${clause}`;
}

/** Cases listed as expected failures that passed, first on the page: what to remove from the list. */
function unexpectedPasses(report: Report): string {
  const rows = report.targets.flatMap((t) =>
    t.cases
      .filter(unexpectedPass)
      .map(
        (c) =>
          `<li><a href="#${anchor(t.name, c.id)}">${esc(t.name)}: ${esc(c.id)}</a> &mdash; listed ` +
          `because: ${esc(c.expectedFailure ?? '')}</li>`,
      ),
  );
  return rows.length === 0
    ? ''
    : `<div class="unexpected-passes"><h2>Passed although listed as expected ` +
        `failures</h2><ul>${rows.join('')}</ul></div>`;
}

function matrix(report: Report): string {
  const ids = [...new Set(report.targets.flatMap((t) => t.cases.map((c) => c.id)))];
  const rows = ids.map((id) => {
    const first = report.targets.flatMap((t) => t.cases).find((c) => c.id === id) as CaseReport;
    const cells = report.targets.map((t) => {
      const c = t.cases.find((x) => x.id === id);
      return `<td>${c ? `<a href="#${anchor(t.name, id)}">${badge(c)}</a>` : ''}</td>`;
    });
    return `<tr><td class="id">${esc(id)}</td><td>${first.level}</td><td>${first.role}</td>${cells.join('')}</tr>`;
  });
  const head = report.targets.map((t) => `<th>${esc(t.name)}</th>`).join('');
  return (
    `<table class="matrix"><thead><tr><th>case</th><th>level</th><th>role</th>${head}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function timeline(c: CaseReport): string {
  if (c.timeline.length === 0) return '<p class="muted">No datagrams.</p>';
  const rows = c.timeline.map((d) => {
    const arrow = d.direction === 'out' ? 'tester &rarr; endpoint' : 'endpoint &rarr; tester';
    // A datagram the tester could not read is what a failure is usually about: marked, with why.
    const problem = d.problem === null ? '' : `<br><b>${esc(d.problem)}</b>`;
    return (
      `<tr class="${d.direction}${d.problem === null ? '' : ' problem'}" id="${anchor(c.id, `d${d.index}`)}"><td ` +
      `class="num">${d.t.toFixed(1)}</td><td>${arrow}</td><td ` +
      `class="num">${d.length}</td><td>${esc(d.summary)}${problem}</td><td>${esc(d.note ?? '')}</td></tr>`
    );
  });
  return (
    `<table class="timeline"><thead><tr><th>t ` +
    `(ms)</th><th>direction</th><th>bytes</th><th>decoded</th><th>tester's ` +
    `intent</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function caseSection(t: TargetReport, c: CaseReport, reportDir: string): string {
  const clauses = c.clauses
    .map((id) => {
      const text = esc(clauseText.get(id) ?? '(not in the spec)');
      return `<li${id === c.failedClause ? ' class="failed"' : ''}><code>${esc(id)}</code> ${text}</li>`;
    })
    .join('');
  const held = new Map<string, number>();
  for (const k of c.checks) if (k.ok) held.set(k.clause, (held.get(k.clause) ?? 0) + 1);
  const checks = [
    ...[...held].map(
      ([clause, n]) => `<li class="ok">&#10003; <code>${esc(clause)}</code>${n > 1 ? ` &times;${n}` : ''}</li>`,
    ),
    ...c.checks
      .filter((k) => !k.ok)
      .map((k) => `<li class="bad">&#10007; <code>${esc(k.clause)}</code> ${esc(k.message ?? '')}</li>`),
  ].join('');
  const measurementRows = c.measurements.map((m) => {
    const ok = m.measuredMs !== null && m.measuredMs >= m.lowMs && m.measuredMs <= m.highMs;
    return (
      `<tr class="${ok ? 'ok' : 'bad'}"><td>${esc(m.name)}</td><td><code>${esc(m.clause)}</code></td>` +
      `<td class="num">${m.expectedMs} ms</td>` +
      `<td class="num">${m.measuredMs === null ? 'none' : `${m.measuredMs.toFixed(1)} ms`}</td>` +
      `<td class="num">&le; ${m.uncertaintyMs.toFixed(0)} ms</td>` +
      `<td class="num">${m.lowMs.toFixed(0)}..${m.highMs.toFixed(0)} ms</td></tr>`
    );
  });
  const measurements = c.measurements.length
    ? '<table><thead><tr><th>timing</th><th>clause</th><th>expected</th><th>measured</th><th>tester delay</th>' +
      `<th>accepted</th></tr></thead><tbody>${measurementRows.join('')}</tbody></table>`
    : '';
  const summary =
    `${badge(c)} <b>${esc(c.id)}</b> ` +
    `<span class="muted">${c.level} &middot; ${c.role} role &middot; ${c.durationMs.toFixed(0)} ms</span> ` +
    `&mdash; ${esc(c.title)}`;
  const message = c.message
    ? `<p class="message">${c.failedClause ? `<code>${esc(c.failedClause)}</code>: ` : ''}${esc(c.message)}</p>`
    : '';
  const observation = c.observation
    ? `<table class="observation"><tr><th>expected</th><td>${esc(c.observation.expected)}</td></tr>` +
      `<tr><th>observed</th><td>${esc(c.observation.observed)}</td></tr></table>`
    : '';
  const listed = unexpectedPass(c) ? 'Listed as an expected failure, but it passed' : 'Expected failure';
  const expected = c.expectedFailure ? `<p class="expected-reason">${listed}: ${esc(c.expectedFailure)}</p>` : '';
  const half = c.timeline.length / 2;
  const omitted = c.timelineOmitted
    ? `; the ${c.timelineOmitted} after the first ${half} and before the last ${half} are left out, the pcap has them`
    : '';
  const artifacts = c.artifacts
    ? `<p>Wireshark: <a href="${esc(relative(reportDir, c.artifacts.pcap))}">pcap</a>, <a ` +
      `href="${esc(relative(reportDir, c.artifacts.keylog))}">key log</a>; decoded in tshark: ` +
      `<code class="tshark">${esc(c.artifacts.tshark)}</code></p>`
    : '';
  return `<details id="${anchor(t.name, c.id)}"${c.outcome === 'fail' && c.expectedFailure === null ? ' open' : ''}>
<summary>${summary}</summary>
${message}
${observation}
${expected}
<h4>Clauses</h4><ul>${clauses}</ul>
${checks ? `<h4>Checks</h4><ul class="checks">${checks}</ul>` : ''}
${measurements}
${c.notes.length ? `<h4>Notes</h4><ul>${c.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<h4>Packet timeline (${c.timeline.length + (c.timelineOmitted ?? 0)} datagrams${omitted})</h4>
${timeline(c)}
${artifacts}
${c.endpointOutput.trim() ? `<h4>Endpoint output</h4><pre>${esc(c.endpointOutput.trim())}</pre>` : ''}
</details>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{margin-bottom:0}.muted{color:#777}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums}.id{font-family:monospace}
.badge{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;color:#fff;background:#888}
.badge.pass{background:#2a7d2a}.badge.fail{background:#c0392b}.badge.timeout,.badge.harness-error{background:#8e44ad}
.badge.unsupported{background:#999}.badge.expected{background:#d68910}
details{border:1px solid #ddd;border-radius:4px;margin:4px 0;padding:4px 8px}summary{cursor:pointer}
tr.out td{background:#f4f8ff}tr.in td{background:#f6fff4}tr.problem td{background:#fdecea;color:#922b21}
li.failed,li.bad,tr.bad td{color:#c0392b}li.ok{color:#2a7d2a}
.badge.unexpected-pass{background:#1f618d}.unexpected-passes{border:2px solid #1f618d;padding:0 1em;margin:1em 0}
.message{font-weight:bold;color:#c0392b}.expected-reason{color:#b9770e}
pre{background:#f7f7f7;padding:6px;overflow:auto;max-height:20em}
.timeline{font-size:12px}`;

export function htmlReport(report: Report, reportDir: string): string {
  const summaries = report.targets
    .map(
      (t) =>
        `<li class="${t.summary.verdict === 'pass' ? 'ok' : 'bad'}">${esc(summaryLine(t.name, t.summary))} ` +
        `&mdash; ${esc(t.description)}</li>`,
    )
    .join('');
  const sections = report.targets
    .map((t) => {
      const capabilities = Object.entries(t.capabilities).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`);
      return (
        `<h2 id="target-${esc(t.name)}">${esc(t.name)}</h2>` +
        `<p>${esc(t.description)} &middot; ${t.mode} &middot; MTU ${t.mtu} &middot; ` +
        `capabilities: ${esc(capabilities.join(', '))}</p>` +
        `<p class="implementation">${esc(implementationLine(t.implementation))}</p>` +
        t.cases.map((c) => caseSection(t, c, reportDir)).join('\n')
      );
    })
    .join('\n');
  const run =
    `${esc(report.protocol)} ${esc(report.protocolVersion)} &middot; ${esc(report.startedAt)} &middot; ` +
    `${(report.durationMs / 1000).toFixed(1)} s${report.strict ? ' &middot; strict (SHOULD cases count)' : ''}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>QOTP conformance report</title><style>${STYLE}</style></head>
<body>
<h1>QOTP conformance report</h1>
<p class="muted">${run}</p>
<ul>${summaries}</ul>
${unexpectedPasses(report)}
<h2>Matrix</h2>
${matrix(report)}
${sections}
</body></html>
`;
}
