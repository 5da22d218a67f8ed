#!/usr/bin/env node
// qotp-conformance: checks QOTP endpoints over real UDP, clause by clause.
//
//   qotp-conformance                                  the bundled targets (Go original, TS reference)
//   qotp-conformance --target HOST:PORT --pubkey HEX  a server started by hand
//   qotp-conformance --config my-impl.json            a target file (launch commands, capabilities)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseHostPort, selectCryptoBackend } from '@qotp/reference/node';
import { cryptoBackend } from '@qotp/reference';
import { allCases } from './cases/index.js';
import { htmlReport } from './report/html.js';
import { junitXml } from './report/junit.js';
import { progress, summaryTable } from './report/console.js';
import { buildReport, implementationLine, targetReport, type Report, type TargetReport } from './report/model.js';
import { runCases, type CaseResult } from './runner.js';
import { attachedTarget, bundledTarget, loadTarget, stopAllLaunched, TargetError, type Target } from './targets/target.js';

const USAGE = `usage: qotp-conformance [options]

targets (default: the bundled ones, ${'`'}--bundled reference,go${'`'}):
  --target HOST:PORT --pubkey HEX   attach to a running server (server-role cases only)
  --manifest FILE                   with --target: a target file declaring MTU and capabilities
  --config FILE                     a target file; may be given several times
  --bundled NAMES                   bundled targets by name, comma-separated (reference, go)
selection and verdict:
  --list                            list the cases and exit
  --grep REGEX                      only cases whose id or title matches
  --strict                          SHOULD cases count towards the verdict
  --expected-failures-for VERSION   a target with expected failures per version uses VERSION's file,
                                    whatever its version probe reads (e.g. for a "(devel)" Go build)
timing:
  --timeout SECONDS                 limit per case (60; a case's own limit may be lower)
  --deadline SECONDS                limit of the whole run (300): later cases are reported as timeouts
  --concurrency N                   cases run at the same time (4)
output:
  --json FILE  --junit FILE  --html FILE
  --out DIR                         per-case pcap and key logs (conformance-results)
  --crypto node|noble               the tester's crypto backend (node:crypto when available)
Exit status: 0 when no counted case failed, 1 when one did, 2 on bad usage.`;

function usage(message: string): never {
  process.stderr.write(`qotp-conformance: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function positive(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) usage(`--${name} must be a positive number, got '${text}'`);
  return n;
}

function parsePubkey(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) usage(`--pubkey must be 64 hex digits, got '${hex}'`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function targetsFrom(values: Record<string, string | boolean | string[] | undefined>): Target[] {
  const configs = (values.config as string[] | undefined) ?? [];
  const options = values['expected-failures-for'] === undefined ? {} : { expectedFailuresFor: values['expected-failures-for'] as string };
  const targets: Target[] = [];
  if (values.target !== undefined) {
    if (values.pubkey === undefined) usage('--target needs --pubkey (the server identity public key in hex)');
    try {
      parseHostPort(values.target as string);
    } catch (e) {
      usage(`--target: ${(e as Error).message}`);
    }
    const manifest = values.manifest === undefined ? null : loadTarget(values.manifest as string).config;
    targets.push(attachedTarget(values.target as string, parsePubkey(values.pubkey as string), manifest));
  } else if (values.pubkey !== undefined || values.manifest !== undefined) usage('--pubkey and --manifest go with --target');
  for (const c of configs) targets.push(loadTarget(c, options));
  if (targets.length === 0 || values.bundled !== undefined) {
    const names = ((values.bundled as string | undefined) ?? 'reference,go').split(',').filter(Boolean);
    for (const n of names) targets.push(bundledTarget(n, options));
  }
  return targets;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        target: { type: 'string' },
        pubkey: { type: 'string' },
        manifest: { type: 'string' },
        config: { type: 'string', multiple: true },
        bundled: { type: 'string' },
        list: { type: 'boolean' },
        grep: { type: 'string' },
        strict: { type: 'boolean' },
        'expected-failures-for': { type: 'string' },
        timeout: { type: 'string' },
        deadline: { type: 'string' },
        concurrency: { type: 'string' },
        json: { type: 'string' },
        junit: { type: 'string' },
        html: { type: 'string' },
        out: { type: 'string', default: 'conformance-results' },
        crypto: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    usage((e as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let grep: RegExp | null = null;
  try {
    grep = values.grep === undefined ? null : new RegExp(values.grep);
  } catch (e) {
    usage(`--grep: ${(e as Error).message}`);
  }
  const cases = allCases.filter((c) => grep === null || grep.test(c.id) || grep.test(c.title));
  if (values.list) {
    for (const c of cases) process.stdout.write(`${c.id.padEnd(40)} ${c.level.padEnd(6)} ${c.role.padEnd(6)} ${c.clauses.join(', ')}\n`);
    process.stdout.write(`${cases.length} cases\n`);
    return 0;
  }
  if (cases.length === 0) usage(`no case matches --grep ${values.grep}`);

  try {
    selectCryptoBackend(values.crypto);
  } catch (e) {
    usage(`--crypto: ${(e as Error).message}`);
  }
  const targets = targetsFrom(values);
  const caseTimeoutMs = positive(values.timeout, 'timeout', 60) * 1000;
  const deadline = performance.now() + positive(values.deadline, 'deadline', 300) * 1000;
  const concurrency = Math.floor(positive(values.concurrency, 'concurrency', 4));
  const strict = values.strict === true;
  const artifactsDir = resolve(values.out);
  const startedAt = new Date();
  const t0 = performance.now();

  process.stdout.write(`qotp-conformance: ${cases.length} cases against ${targets.map((t) => t.config.name).join(', ')}; crypto ${cryptoBackend().name}; artifacts in ${artifactsDir}\n`);
  for (const t of targets) process.stdout.write(`  ${t.config.name}: ${implementationLine(t.implementation)}\n`);

  const write = (path: string | undefined, content: () => string) => {
    if (path === undefined) return;
    mkdirSync(dirname(resolve(path)), { recursive: true });
    writeFileSync(path, content());
    process.stdout.write(`wrote ${path}\n`);
  };
  const writeReports = (report: Report) => {
    write(values.json, () => `${JSON.stringify(report, null, 1)}\n`);
    write(values.junit, () => junitXml(report));
    write(values.html, () => htmlReport(report, dirname(resolve(values.html as string))));
  };

  // Finished cases per target, in catalogue order, for a report written on a signal.
  const finished = targets.map(() => new Map<string, CaseResult>());
  const partialReport = (signal: 'SIGINT' | 'SIGTERM'): Report => {
    const reports = targets.map((t, i) => targetReport(t, cases.flatMap((c) => finished[i]?.get(c.id) ?? []), strict));
    const notFinished = targets.length * cases.length - finished.reduce((n, m) => n + m.size, 0);
    return buildReport(reports, startedAt, performance.now() - t0, strict, { signal, casesNotFinished: notFinished });
  };
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      const stopped = stopAllLaunched();
      process.stderr.write(`qotp-conformance: ${signal}: stopped ${stopped} launched endpoint process group(s); writing the reports of the cases that finished\n`);
      writeReports(partialReport(signal));
      process.exit(status);
    });
  }

  // Targets run side by side: most of a case's time is waiting for the network or a timer.
  const reports: TargetReport[] = await Promise.all(
    targets.map(async (target, i) => {
      const shown = progress(target.config.name, cases.length);
      const onCaseEnd = (r: CaseResult) => {
        finished[i]?.set(r.id, r);
        shown.end(r);
      };
      const results = await runCases(cases, target, { caseTimeoutMs, deadline, concurrency, artifactsDir, onCaseStart: shown.start, onCaseEnd });
      return targetReport(target, results, strict);
    }),
  );
  const report = buildReport(reports, startedAt, performance.now() - t0, strict);
  writeReports(report);
  process.stdout.write(summaryTable(report));
  return reports.every((r) => r.summary.verdict === 'pass') ? 0 : 1;
}

// Whatever ends the process, no endpoint it launched outlives it.
process.on('exit', () => stopAllLaunched());

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof TargetError) {
      process.stderr.write(`qotp-conformance: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  },
);
