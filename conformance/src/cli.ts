#!/usr/bin/env node
// qotp-conformance: checks QOTP endpoints over real UDP, clause by clause.
//
//   qotp-conformance                                  the bundled targets (Go original, TS reference)
//   qotp-conformance --target HOST:PORT --pubkey HEX  a server started by hand
//   qotp-conformance --config my-impl.json            a target file (launch commands, capabilities)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import runnerPackage from '../package.json' with { type: 'json' };
import { parseHostPort, selectCryptoBackend } from '@qotp/reference/node';
import { cryptoBackend, QotpError } from '@qotp/reference';
import { pinnedRelease, spec } from '@qotp/spec';
import type { CaseDefinition } from './kit/case.js';
import { allCases } from './cases/index.js';
import { shellWord } from './capture/wireshark.js';
import { htmlReport } from './report/html.js';
import { junitXml } from './report/junit.js';
import { markdownSummary } from './report/markdown.js';
import { progress, summaryTable } from './report/console.js';
import { buildReport, implementationLine, targetReport, type Report, type TargetReport } from './report/model.js';
import { needsOf, runCases, type CaseResult } from './runner.js';
import { attachProblem } from './targets/attach-check.js';
import { baselineOf } from './report/baseline.js';
import { launchProblems } from './targets/commands.js';
import { type Target, TargetError } from './targets/config.js';
import { withExpectedFailures } from './targets/expected-failures.js';
import { stopAllLaunched } from './targets/process.js';
import { attachedTarget, bundledTarget, bundledTargetNames, loadTarget } from './targets/target.js';

const RUNNER_VERSION = runnerPackage.version;

const USAGE = `usage: qotp-conformance [options]

targets (default: the bundled ones, ${'`'}--bundled reference,go${'`'}):
  --target HOST:PORT --pubkey HEX   attach to a running server (server-role cases only)
  --manifest FILE                   with --target: a target file declaring MTU and capabilities
  --config FILE                     a target file; may be given several times
  --bundled NAMES                   bundled targets by name, comma-separated (reference, go)
selection and verdict:
  --list                            list the cases (id, level, role, needs, clauses, title) and exit;
                                    with --json FILE, as JSON
  --quick                           only the cases that wait on no long timer, resend schedule or
                                    impaired transfer (each slow case says why; the run lists them)
  --grep REGEX                      only cases whose id or title matches
  --exclude REGEX                   leave out cases whose id or title matches
  --strict                          SHOULD failures count towards the verdict (a failure counts at the
                                    level of the clause that failed, whatever the case's level)
  --fail-on-unexpected-pass         a case listed as an expected failure that passed fails the run
                                    (keeps a release's baseline current)
  --expected-failures-for VERSION   a target with expected failures per version uses VERSION's file,
                                    whatever its version probe reads (e.g. for a "(devel)" Go build)
timing:
  --timeout SECONDS                 limit per case (60; a case's own limit may be lower)
  --deadline SECONDS                limit of the whole run (300): later cases are reported as timeouts
  --concurrency N                   cases run at the same time (4), besides those that
                                    only wait on the endpoint's timer (1: all one at a time)
  --seed N                          the run's seed (random by default): every case draws from a seed
                                    derived from it, so the impairment cases lose the same datagrams again
  --repeat N                        run each case N times with successive seeds (a chance-dependent
                                    impair.* case repeats its relay runs) and report how many ended which
                                    way; the first run that did not pass is the case's result (1; raise
                                    --deadline too)
  --until-fail N                    like --repeat N, but stop a case at its first failing run
A failed case prints the command that replays it (the same target, seed and verdict options,
--grep '^ID$'; --repeat K for a failure in run K).
output:
  --json FILE  --junit FILE  --html FILE
  --markdown FILE                   a short summary for a CI page: per target its counts, the cases
                                    that did not pass with clause, reason and replay command, a link
                                    to the HTML report
baselines (FILE may hold {target}, and must with several targets):
  --write-expected FILE             writes an expected-failures file from this run: every case that
                                    did not pass, with its clause and a pattern of its message (an
                                    entry already listed and failing as listed is kept as it was)
  --expected-failures FILE          takes the expected failures from FILE instead of the target's
  --out DIR                         per-case pcaps and key logs (none without it)
  --crypto node|noble               the tester's crypto backend (node:crypto when available)
  --version                         the runner's version, the spec it checks, and exit
Exit status: 0 when no counted case failed, 1 when one did, 2 on bad usage or an unusable target.`;

/** One line on standard error, exit 2: bad usage or a target that cannot be used. */
function usage(message: string): never {
  process.stderr.write(`qotp-conformance: ${message}\n(qotp-conformance --help lists the options)\n`);
  process.exit(2);
}

/** An error's message for people: a QotpError's reason without its code. */
const reasonOf = (e: unknown): string => (e instanceof QotpError ? e.reason : (e as Error).message);

function pattern(text: string | undefined, name: string): RegExp | null {
  if (text === undefined) return null;
  try {
    return new RegExp(text);
  } catch (e) {
    return usage(`--${name}: ${(e as Error).message}`);
  }
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

/** Cases at once in a `--quick` run, unless --concurrency says otherwise. */
const QUICK_CONCURRENCY = 8;

/** A word as a POSIX shell reads it back: quoted unless it is plain. */

/** Beside a target's captures (--out): for each case, the tshark command that shows its capture decrypted. */
function tsharkLines(t: TargetReport): string {
  const lines = t.cases.flatMap((c) => (c.artifacts === null ? [] : [`# ${c.id}: ${c.outcome}`, c.artifacts.tshark]));
  return `# Each case's capture, decoded and decrypted by the suite's dissector: paste a line.\n${lines.join('\n')}\n`;
}

/**
 * The command that runs `t` again as this run did: how it was chosen (bundled by name, a target
 * file, an attached server), the seed and the options that change a verdict.
 */
function replayCommand(
  t: Target,
  values: Record<string, string | boolean | string[] | undefined>,
  seed: number,
  expectedFailures: string | undefined,
): string {
  const flags = [
    ...(values['expected-failures-for'] === undefined
      ? []
      : ['--expected-failures-for', values['expected-failures-for'] as string]),
    ...(expectedFailures === undefined ? [] : ['--expected-failures', expectedFailures]),
    ...(values.strict === true ? ['--strict'] : []),
    ...(values.crypto === undefined ? [] : ['--crypto', values.crypto as string]),
  ];
  return ['npx', 'qotp-conformance', ...(t.chosenBy ?? []), '--seed', String(seed), ...flags].map(shellWord).join(' ');
}

function targetsFrom(values: Record<string, string | boolean | string[] | undefined>): Target[] {
  const configs = (values.config as string[] | undefined) ?? [];
  const options =
    values['expected-failures-for'] === undefined
      ? {}
      : { expectedFailuresFor: values['expected-failures-for'] as string };
  const targets: Target[] = [];
  if (values.target !== undefined) {
    if (values.pubkey === undefined) usage('--target needs --pubkey (the server identity public key in hex)');
    try {
      parseHostPort(values.target as string);
    } catch (e) {
      usage(`--target: ${reasonOf(e)}`);
    }
    const manifest = values.manifest === undefined ? null : loadTarget(values.manifest as string).config;
    const chosenBy = [
      '--target',
      values.target as string,
      '--pubkey',
      values.pubkey as string,
      ...(values.manifest === undefined ? [] : ['--manifest', values.manifest as string]),
    ];
    targets.push({
      ...attachedTarget(values.target as string, parsePubkey(values.pubkey as string), manifest),
      chosenBy,
    });
  } else if (values.pubkey !== undefined || values.manifest !== undefined)
    usage('--pubkey and --manifest go with --target');
  for (const c of configs) targets.push({ ...loadTarget(c, options), chosenBy: ['--config', c] });
  if (values.bundled !== undefined) {
    const names = (values.bundled as string).split(',').filter(Boolean);
    const unknown = names.filter((n) => !bundledTargetNames.includes(n));
    if (unknown.length > 0)
      usage(
        `--bundled: no bundled target named ${unknown.map((n) => `'${n}'`).join(', ')} ` +
          `(bundled: ${bundledTargetNames.join(', ')})`,
      );
    for (const n of names) targets.push({ ...bundledTarget(n, options), chosenBy: ['--bundled', n] });
  } else if (targets.length === 0) {
    // The default: every bundled target that can run here. The Go endpoint is built from a
    // clone (interop/go), so an installed package or an unbuilt clone has none.
    for (const n of bundledTargetNames) {
      const t = bundledTarget(n, { ...options, check: false });
      const missing = launchProblems(t);
      if (missing.length === 0) targets.push({ ...bundledTarget(n, options), chosenBy: ['--bundled', n] });
      else
        process.stdout.write(
          `qotp-conformance: target ${n} left out: ${missing[0]}` +
            `${n === 'go' ? ' (in a clone: npm run build:endpoint --workspace=@qotp/interop)' : ''}\n`,
        );
    }
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
        quick: { type: 'boolean' },
        grep: { type: 'string' },
        exclude: { type: 'string' },
        version: { type: 'boolean' },
        strict: { type: 'boolean' },
        'fail-on-unexpected-pass': { type: 'boolean' },
        'expected-failures-for': { type: 'string' },
        timeout: { type: 'string' },
        deadline: { type: 'string' },
        concurrency: { type: 'string' },
        seed: { type: 'string' },
        repeat: { type: 'string' },
        'until-fail': { type: 'string' },
        'write-expected': { type: 'string' },
        'expected-failures': { type: 'string' },
        markdown: { type: 'string' },
        json: { type: 'string' },
        junit: { type: 'string' },
        html: { type: 'string' },
        out: { type: 'string' },
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
  if (values.version) {
    process.stdout.write(
      `qotp-conformance ${RUNNER_VERSION}: ${allCases.length} cases, spec ` +
        `of ${spec.protocol} ${spec.protocolVersion} (Go original ${pinnedRelease().version})\n`,
    );
    return 0;
  }
  const grep = pattern(values.grep, 'grep');
  const exclude = pattern(values.exclude, 'exclude');
  const matches = (re: RegExp, c: CaseDefinition) => re.test(c.id) || re.test(c.title);
  const chosen = allCases.filter(
    (c) => (grep === null || matches(grep, c)) && (exclude === null || !matches(exclude, c)),
  );
  // --quick: the cases that declare no long wait (CaseDefinition.slow); the rest is said, not hidden.
  const leftOut = values.quick === true ? chosen.filter((c) => c.slow !== undefined) : [];
  const cases = chosen.filter((c) => !leftOut.includes(c));
  if (values.list) {
    const rows = cases.map((c) => ({
      id: c.id,
      title: c.title,
      level: c.level,
      role: c.role,
      clauses: c.clauses,
      needs: needsOf(c),
      ...(c.slow === undefined ? {} : { slow: c.slow }),
      ...(c.waitsOnTimer ? { waitsOnTimer: true } : {}),
    }));
    if (values.json !== undefined) {
      writeFileSync(values.json, `${JSON.stringify(rows, null, 1)}\n`);
      process.stdout.write(`wrote ${values.json} (${rows.length} ${rows.length === 1 ? 'case' : 'cases'})\n`);
      return 0;
    }
    const INDENT = ' '.repeat(41);
    const slowness = (r: (typeof rows)[number]) =>
      r.slow === undefined
        ? ''
        : `${INDENT}slow: ${r.slow}${r.waitsOnTimer ? " (waits on the endpoint's timer, beside the others)" : ''}\n`;
    for (const r of rows)
      process.stdout.write(
        `${r.id.padEnd(40)} ${r.level.padEnd(6)} ${r.role.padEnd(6)} ${(r.needs.join('+') || '-').padEnd(22)} ` +
          `${r.clauses.join(', ')}\n${INDENT}${r.title}\n${slowness(r)}`,
      );
    process.stdout.write(`${rows.length} ${rows.length === 1 ? 'case' : 'cases'}\n`);
    return 0;
  }
  if (cases.length === 0)
    usage(
      `no case left after ` +
        [
          values.grep === undefined ? '' : `--grep ${values.grep}`,
          values.exclude === undefined ? '' : `--exclude ${values.exclude}`,
          values.quick === true ? '--quick' : '',
        ]
          .filter(Boolean)
          .join(' and '),
    );

  try {
    selectCryptoBackend(values.crypto);
  } catch (e) {
    usage(`--crypto: ${reasonOf(e)}`);
  }
  const selected = targetsFrom(values);
  const perTarget = (flag: 'write-expected' | 'expected-failures', t: Target): string | undefined => {
    const file = values[flag];
    if (file === undefined) return undefined;
    if (selected.length > 1 && !file.includes('{target}'))
      usage(`--${flag}: with ${selected.length} targets the file name needs {target}, e.g. expected-{target}.json`);
    return file.replaceAll('{target}', t.config.name);
  };
  const targets = selected.map((t) => {
    perTarget('write-expected', t);
    const file = perTarget('expected-failures', t);
    try {
      return file === undefined ? t : withExpectedFailures(t, file);
    } catch (e) {
      return usage(`--expected-failures: ${reasonOf(e)}`);
    }
  });
  for (const t of targets) {
    if (t.attached === null) continue;
    const problem = await attachProblem(t.attached.address, t.attached.publicKey, t.config.mtu);
    if (problem !== null) usage(`--target: ${problem}`);
  }
  const caseTimeoutMs = positive(values.timeout, 'timeout', 60) * 1000;
  const deadline = performance.now() + positive(values.deadline, 'deadline', 300) * 1000;
  // A quick run is short cases that mostly wait on the network: more of them at once.
  const concurrency = Math.floor(
    positive(values.concurrency, 'concurrency', values.quick === true ? QUICK_CONCURRENCY : 4),
  );
  const verdict = { strict: values.strict === true, failOnUnexpectedPass: values['fail-on-unexpected-pass'] === true };
  if (values.seed !== undefined && !/^\d{1,10}$/.test(values.seed))
    usage(`--seed must be a whole number, got '${values.seed}'`);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Number(values.seed) >>> 0;
  for (const flag of ['repeat', 'until-fail'] as const) {
    const v = values[flag];
    if (v !== undefined && !/^[1-9]\d{0,2}$/.test(v))
      usage(`--${flag} must be a whole number from 1 to 999, got '${v}'`);
  }
  if (values.repeat !== undefined && values['until-fail'] !== undefined)
    usage('--repeat and --until-fail go one at a time');
  const untilFail = values['until-fail'] !== undefined;
  const repeat = Number(values.repeat ?? values['until-fail'] ?? 1);
  for (const t of targets) t.replay = replayCommand(t, values, seed, perTarget('expected-failures', t));
  const artifactsDir = values.out === undefined ? null : resolve(values.out);
  const startedAt = new Date();
  const t0 = performance.now();

  process.stdout.write(
    `qotp-conformance ${RUNNER_VERSION}: ${cases.length} ${cases.length === 1 ? 'case' : 'cases'} ` +
      `against ${targets.map((t) => t.config.name).join(', ')}; ` +
      `crypto ${cryptoBackend().name}; ` +
      (artifactsDir === null
        ? 'no pcaps or key logs (--out DIR writes them)'
        : `pcaps and key logs in ${artifactsDir}`) +
      '\n',
  );
  for (const t of targets) process.stdout.write(`  ${t.config.name}: ${implementationLine(t.implementation)}\n`);
  if (leftOut.length > 0)
    process.stdout.write(
      `  --quick: ${leftOut.length} slow case(s) left out: ${leftOut.map((c) => `${c.id} (${c.slow})`).join('; ')}\n`,
    );
  const runs = untilFail
    ? `up to ${repeat} times, until its first failure (--until-fail)`
    : `${repeat} times (--repeat)`;
  process.stdout.write(
    `  seed ${seed} (--seed ${seed} replays what the cases drew at random)` +
      `${repeat > 1 ? `; every case runs ${runs}` : ''}\n`,
  );

  const write = (path: string | undefined, content: () => string) => {
    if (path === undefined) return;
    mkdirSync(dirname(resolve(path)), { recursive: true });
    writeFileSync(path, content());
    process.stdout.write(`wrote ${path}\n`);
  };
  const writeReports = (report: Report) => {
    if (artifactsDir !== null)
      for (const t of report.targets) write(join(artifactsDir, t.name, 'tshark.txt'), () => tsharkLines(t));
    write(values.json, () => `${JSON.stringify(report, null, 1)}\n`);
    write(values.junit, () => junitXml(report));
    write(values.html, () => htmlReport(report, dirname(resolve(values.html as string))));
    write(values.markdown, () =>
      markdownSummary(
        report,
        values.html === undefined ? null : relative(dirname(resolve(values.markdown as string)), resolve(values.html)),
      ),
    );
  };

  // Finished cases per target, in catalogue order, for a report written on a signal.
  const finished = targets.map(() => new Map<string, CaseResult>());
  const contacts = targets.map((): NonNullable<TargetReport['firstContact']> => ({}));
  const partialReport = (signal: 'SIGINT' | 'SIGTERM'): Report => {
    const reports = targets.map((t, i) =>
      targetReport(
        t,
        cases.flatMap((c) => finished[i]?.get(c.id) ?? []),
        verdict,
        contacts[i],
      ),
    );
    const notFinished = targets.length * cases.length - finished.reduce((n, m) => n + m.size, 0);
    return withHarnessErrors(
      buildReport(
        reports,
        startedAt,
        performance.now() - t0,
        verdict,
        { signal, casesNotFinished: notFinished },
        seed,
        repeat,
      ),
    );
  };
  // An error that escapes every case (a timer's, a socket's) is the runner's fault: said,
  // kept in the report and in the exit status, and the run goes on to its report.
  const harnessErrors: string[] = [];
  const withHarnessErrors = (report: Report): Report =>
    harnessErrors.length === 0 ? report : { ...report, harnessErrors };
  const escaped = (e: unknown) => {
    const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
    harnessErrors.push(text);
    process.stderr.write(
      `qotp-conformance: harness error outside any case (a bug of the runner; please report it): ${text}\n`,
    );
  };
  process.on('uncaughtException', escaped);
  process.on('unhandledRejection', escaped);
  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      const stopped = stopAllLaunched();
      process.stderr.write(
        `qotp-conformance: ${signal}: stopped ${stopped} launched endpoint process group(s); writing the ` +
          `reports of the cases that finished\n`,
      );
      writeReports(partialReport(signal));
      process.exit(status);
    });
  }

  // Targets run side by side: most of a case's time is waiting for the network or a timer.
  const counter = { done: 0, total: cases.length * targets.length };
  const reports: TargetReport[] = await Promise.all(
    targets.map(async (target, i) => {
      const shown = progress(target.config.name, counter);
      const onCaseEnd = (r: CaseResult) => {
        finished[i]?.set(r.id, r);
        shown.end(r);
      };
      const onFirstContact = (role: 'server' | 'client', diagnosis: string) => {
        (contacts[i] as NonNullable<TargetReport['firstContact']>)[role] = diagnosis;
        process.stdout.write(
          `  ${target.config.name}: nothing it sent as ${role} authenticated and decoded in its first ` +
            `cases: ${diagnosis}; its later ${role}-role cases fail at once\n`,
        );
      };
      const results = await runCases(cases, target, {
        caseTimeoutMs,
        deadline,
        concurrency,
        artifactsDir,
        seed,
        repeat,
        untilFail,
        onCaseStart: shown.start,
        onCaseEnd,
        onFirstContact,
      });
      return targetReport(target, results, verdict, contacts[i]);
    }),
  );
  const report = withHarnessErrors(
    buildReport(reports, startedAt, performance.now() - t0, verdict, undefined, seed, repeat),
  );
  writeReports(report);
  reports.forEach((t, i) => {
    const target = targets[i] as Target;
    const how =
      `a run of ${cases.length} case(s) started ${startedAt.toISOString()}, seed ${seed}, replayed ` +
      `by ${target.replay}`;
    const baseline = baselineOf(t, target.expectedFailures, how);
    write(perTarget('write-expected', target), () => `${JSON.stringify(baseline, null, 2)}\n`);
  });
  process.stdout.write(summaryTable(report));
  return reports.every((r) => r.summary.verdict === 'pass') && harnessErrors.length === 0 ? 0 : 1;
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
