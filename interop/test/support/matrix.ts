// The interop matrix under impairment as one self-contained HTML page (no scripts, no
// external resources), like quic-interop-runner's results: rows are clients, columns are
// servers, each cell lists the scenarios that passed and names the ones that failed.

export interface MatrixRun {
  client: string;
  server: string;
  handshake: '1-RTT' | '0-RTT';
  scenario: string;
  passed: boolean;
  seconds: number;
  /** Why it failed, in one line; null when it passed. */
  why: string | null;
  /**
   * Why a failure does not fail the test: the finding of the Go original it is, per release, or a give-up the spec
   * allows; null otherwise.
   */
  expected: string | null;
  /** The relay's seed: a run with it replays the same fates. */
  seed: number;
  relay: string;
  fates: Record<string, number>;
  /** The run's capture and key logs, relative to the matrix files. */
  artifacts: { pcap: string; keyLogs: string[] };
}

export interface Matrix {
  tool: 'qotp-interop-impaired';
  startedAt: string;
  goRelease: string;
  bytes: number;
  runs: MatrixRun[];
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function cell(runs: MatrixRun[]): string {
  if (runs.length === 0) return '<td class="none">not run</td>';
  const passed = runs.filter((r) => r.passed).length;
  const cls = passed === runs.length ? 'ok' : runs.every((r) => r.passed || r.expected !== null) ? 'expected' : 'bad';
  const lines = runs.map((r) => {
    const mark = r.passed ? '&#10003;' : r.expected !== null ? '*' : '&#10007;';
    const title = `${r.seconds} s, seed ${r.seed}; ${Object.entries(r.fates)
      .map(([f, n]) => `${n} ${f}`)
      .join(', ')}${r.why ? `; ${r.why}` : ''}${r.expected ? `; not failed: ${r.expected}` : ''}`;
    const keyLogs = r.artifacts.keyLogs.map((k, i) => `<a href="${esc(k)}">key log ${i + 1}</a>`);
    return (
      `<li class="${r.passed ? 'ok' : r.expected !== null ? 'expected' : 'bad'}" ` +
      `title="${esc(title)}">${mark} ${esc(r.handshake)} ${esc(r.scenario)} <span class="muted">${r.seconds} s ` +
      `&middot; <a href="${esc(r.artifacts.pcap)}">pcap</a> ${keyLogs.join(' ')}</span>` +
      `${r.why && !r.passed ? `<br><small>${esc(r.why)}</small>` : ''}</li>`
    );
  });
  return `<td class="${cls}"><b>${passed}/${runs.length}</b><ul>${lines.join('')}</ul></td>`;
}

export function renderMatrix(m: Matrix): string {
  const clients = [...new Set(m.runs.map((r) => r.client))];
  const servers = [...new Set(m.runs.map((r) => r.server))];
  const rows = clients.map((c) => {
    const cells = servers.map((s) => cell(m.runs.filter((r) => r.client === c && r.server === s)));
    return `<tr><th>${esc(c)} client</th>${cells.join('')}</tr>`;
  });
  const legend =
    `${esc(m.startedAt)} &middot; Go original ${esc(m.goRelease)} &middot; ${m.bytes} bytes echoed per run ` +
    '&middot; &#10003; passed, &#10007; failed, * a listed finding of the Go original or a give-up the spec allows ' +
    "(hover for why) &middot; each run's pcap is what the relay received, before its impairment; its key logs " +
    'open it in Wireshark';
  const head = servers.map((s) => `<th>${esc(s)} server</th>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>QOTP interop under impairment</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:6px 10px;vertical-align:top;text-align:left}
td.ok{background:#eafaf1}td.bad{background:#fdecea}td.expected{background:#fef5e7}td.none{color:#999}
ul{margin:.3em 0;padding-left:1.1em}li.bad{color:#c0392b}li.expected{color:#b9770e}.muted{color:#777}
</style></head><body>
<h1>QOTP interop under impairment</h1>
<p class="muted">${legend}</p>
<table><thead><tr><th>client \\ server</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>
</body></html>
`;
}
