// The reports of a real (small) run against the reference: the JSON report follows its
// published schema, the JUnit XML counts what happened, the pcap holds every datagram of
// the timeline, and the HTML report renders in headless Chromium with the timeline shown.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCases } from '../src/cases/index.js';
import { DISSECTOR } from '../src/capture/wireshark.js';
import { htmlReport } from '../src/report/html.js';
import { junitXml } from '../src/report/junit.js';
import { buildReport, replayOf, targetReport, type Report } from '../src/report/model.js';
import { runCases } from '../src/runner.js';
import { schemaValidator } from '../src/schemas.js';
import { bundledTarget } from '../src/targets/target.js';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'qotp-reports-'));
const ids = ['handshake.in-band', 'streams.ack-fields', 'retransmission.ping-not-resent'];
let report: Report;
let results: Awaited<ReturnType<typeof runCases>>;

beforeAll(async () => {
  const target = bundledTarget('reference');
  // Two cases the reference passes and one it is declared not to support.
  target.config = { ...target.config, capabilities: { ...target.config.capabilities, pingInHandshakeReply: false } };
  const cases = allCases.filter((c) => ids.includes(c.id));
  results = await runCases(cases, target, {
    caseTimeoutMs: 20_000,
    deadline: performance.now() + 60_000,
    concurrency: 2,
    artifactsDir: dir,
  });
  report = buildReport([targetReport(target, results, { strict: false })], new Date(), 1234, { strict: false });
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reports', () => {
  it('JSON report validates against schemas/report.schema.json', () => {
    const json: unknown = JSON.parse(JSON.stringify(report));
    expect(schemaValidator('report.schema.json')(json)).toEqual([]);
    const outcomes = report.targets[0]?.cases.map((c) => [c.id, c.outcome]);
    expect(outcomes).toEqual([
      ['handshake.in-band', 'pass'],
      ['streams.ack-fields', 'pass'],
      ['retransmission.ping-not-resent', 'unsupported'],
    ]);
  });

  it(
    'JUnit fails exactly what the verdict counts: a SHOULD shortfall is skipped unless --strict, a MUST clause ' +
      'failed in a SHOULD case fails',
    () => {
      const planted = (strict: boolean, failedClause: string): Report => {
        const r = JSON.parse(JSON.stringify(report)) as Report;
        const c = r.targets[0]?.cases[1];
        if (c === undefined) throw new Error('no case');
        Object.assign(c, { level: 'SHOULD', outcome: 'fail', failedClause, message: 'planted for this test' });
        r.strict = strict;
        return r;
      };
      const lenient = junitXml(planted(false, 'flow.round-robin'));
      expect(lenient).toMatch(/failures="0" errors="0" skipped="2"/);
      expect(lenient).toContain(
        '<skipped message="SHOULD not met, counted only with --strict: flow.round-robin: planted for this test"/>',
      );
      const strict = junitXml(planted(true, 'flow.round-robin'));
      expect(strict).toMatch(/failures="1" errors="0" skipped="1"/);
      expect(strict).toContain('<failure message="flow.round-robin: planted for this test" type="flow.round-robin"/>');
      // ack.segment is a MUST clause: failing it counts as a failure whatever the case's own level.
      const must = junitXml(planted(false, 'ack.segment'));
      expect(must).toMatch(/failures="1" errors="0" skipped="1"/);
      expect(must).toContain('<failure message="ack.segment: planted for this test" type="ack.segment"/>');
    },
  );

  it(
    'the HTML report puts passes of listed failures first, names the failing clause in the matrix and shows ' +
      'expected against observed',
    () => {
      const r = JSON.parse(JSON.stringify(report)) as Report;
      Object.assign(r.targets[0]?.cases[0] ?? {}, { expectedFailure: 'planted: listed although it passes' });
      Object.assign(r.targets[0]?.cases[1] ?? {}, {
        outcome: 'fail',
        failedClause: 'ack.segment',
        message: 'planted',
        observation: { expected: 'ACK stream 0 offset 0 length 6', observed: 'ACK stream 0 offset 0 length 7' },
      });
      expect(schemaValidator('report.schema.json')(JSON.parse(JSON.stringify(r)))).toEqual([]);
      const html = htmlReport(r, dir);
      expect(html).toContain(
        '<tr><th>expected</th><td>ACK stream 0 offset 0 length 6</td></tr><tr><th>observed</th><td>ACK stream 0 ' +
          'offset 0 length 7</td></tr>',
      );
      const first = html.indexOf('Passed although listed as expected failures');
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThan(html.indexOf('<h2>Matrix</h2>'));
      expect(html).toContain('pass (listed as expected to fail)');
      expect(html).toMatch(/<span class="badge fail">fail<\/span> <code>ack\.segment<\/code>/);
    },
  );

  it('keeps the first and the last 2000 datagrams of a long timeline and says how many it left out', () => {
    const r = results[1];
    const d = r?.timeline[0];
    if (r === undefined || d === undefined) throw new Error('no datagram');
    const long = { ...r, timeline: Array.from({ length: 5000 }, (_, index) => ({ ...d, index })) };
    const target = targetReport(bundledTarget('reference'), [long], { strict: false });
    const c = target.cases[0];
    expect([c?.timeline.length, c?.timelineOmitted, c?.timeline[1999]?.index, c?.timeline[2000]?.index]).toEqual([
      4000, 1000, 1999, 3000,
    ]);
    const json: unknown = JSON.parse(JSON.stringify(buildReport([target], new Date(), 1, { strict: false })));
    expect(schemaValidator('report.schema.json')(json)).toEqual([]);
    expect(htmlReport(json as Report, dir)).toContain(
      'Packet timeline (5000 datagrams; the 1000 after the first 2000 and before the last 2000 are left out, ' +
        'the pcap has them)',
    );
  });

  it('the schema rejects a report with an unknown outcome', () => {
    const broken = JSON.parse(JSON.stringify(report)) as { targets: { cases: { outcome: string }[] }[] };
    (broken.targets[0]?.cases[0] as { outcome: string }).outcome = 'maybe';
    expect(schemaValidator('report.schema.json')(broken).join('\n')).toMatch(/outcome/);
  });

  it('JUnit XML has one testcase per case and reports unsupported as skipped', () => {
    const xml = junitXml(report);
    expect(xml.match(/<testcase /g)).toHaveLength(3);
    expect(xml).toContain('tests="3" failures="0" errors="0" skipped="1"');
    expect(xml).toContain('<skipped message="unsupported: the target does not declare pingInHandshakeReply"/>');
  });

  it('writes a pcap with every datagram of the timeline and a key log per case', () => {
    const c = report.targets[0]?.cases[0];
    const pcap = readFileSync(c?.artifacts?.pcap as string);
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.readUInt32LE(20)).toBe(101); // raw IP
    let records = 0;
    for (let at = 24; at < pcap.length; at += 16 + pcap.readUInt32LE(at + 8)) records++;
    expect(records).toBe(c?.timeline.length);
    expect(readFileSync(c?.artifacts?.keylog as string, 'utf8')).toMatch(
      /^QOTP_SHARED_SECRET [0-9a-f]+ [0-9a-f]{64}$/m,
    );
    // The command that opens it: the dissector built into the package, this key log, this pcap.
    expect(c?.artifacts?.tshark).toBe(
      `tshark -X lua_script:${DISSECTOR} -o udp.try_heuristic_first:TRUE -o qotp.keylog_file:${c?.artifacts?.keylog} ` +
        `-r ${c?.artifacts?.pcap}`,
    );
    expect(existsSync(DISSECTOR), 'the build copies wireshark/qotp.lua into dist').toBe(true);
  });

  it('the HTML report renders in headless Chromium and shows the packet timeline', async () => {
    expect(
      existsSync(CHROMIUM),
      `no ${CHROMIUM}: install Debian's chromium package (apt-get install chromium), as .ci/run does`,
    ).toBe(true);
    const html = join(dir, 'report.html');
    writeFileSync(html, htmlReport(report, dir));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`file://${html}`);
      expect(await page.locator('table.matrix tbody tr').count()).toBe(3);
      const details = page.locator('details', { hasText: 'handshake.in-band' });
      await details.locator('summary').click();
      const rows = details.locator('table.timeline tbody tr');
      expect(await rows.count()).toBe(report.targets[0]?.cases[0]?.timeline.length);
      await expect.poll(() => rows.first().isVisible()).toBe(true);
      expect(await rows.first().innerText()).toContain('InitSnd');
      const png = join(dir, 'report.png');
      await page.screenshot({ path: png, fullPage: true });
      expect(statSync(png).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('the replay command of a failed case', () => {
  const target = { replay: 'npx qotp-conformance --bundled go --seed 7' };
  it('narrows the target to the case, and repeats up to the run that failed', () => {
    expect(replayOf(target, { id: 'streams.in-order', message: 'the echo differs' })).toBe(
      "npx qotp-conformance --bundled go --seed 7 --grep '^streams\\.in-order$'",
    );
    expect(
      replayOf(target, {
        id: 'impair.transfer-loss-5',
        message: 'run 3 of 5 (relay seed 9): 0 of 1000000 bytes echoed',
      }),
    ).toBe("npx qotp-conformance --bundled go --seed 7 --grep '^impair\\.transfer-loss-5$' --repeat 3");
    expect(replayOf(target, { id: 'x.y', message: 'run 1 of 5 (seed 9): failed' })).toBe(
      "npx qotp-conformance --bundled go --seed 7 --grep '^x\\.y$'",
    );
  });
  it('is left out for a target the CLI did not choose (a test target)', () => {
    expect(replayOf({}, { id: 'x.y', message: null })).toBeUndefined();
  });
});
