// The case catalogue and the shipped target files: every clause a case names exists in
// the spec, ids are unique, every conformance clause is checked by some case, the bundled
// targets and expected-failure files follow their schemas and name real cases, and every
// damaged invalid-packet vector carries its damage as data the runner applies.
import { spec } from '@qotp/spec';
import { allTests, applyDamage, DamageError, fromHex, loadVectors, type Damage } from '@qotp/vectors';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { coverage, isChecked, renderCasesMarkdown } from '../scripts/cases-md.js';
import { allCases } from '../src/cases/index.js';
import { MONITOR_RULES } from '../src/monitor.js';
import { schemaValidator } from '../src/schemas.js';
import { type TargetConfig } from '../src/targets/config.js';
import { bundledTarget, loadTarget } from '../src/targets/target.js';
import { plantedFailures } from './support/planted-defects.js';

const targetsDir = fileURLToPath(new URL('../targets/', import.meta.url));
const clauseIds = new Set(spec.clauses.map((c) => c.id));

describe('case catalogue', () => {
  it('has at least 40 cases with unique ids', () => {
    const ids = allCases.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(40);
  });

  it('names only clauses that exist in the spec', () => {
    for (const c of allCases)
      for (const clause of c.clauses) expect(clauseIds, `${c.id} -> ${clause}`).toContain(clause);
  });

  it('checks every clause the spec marks as tested by conformance', () => {
    const checked = new Set(allCases.flatMap((c) => c.clauses));
    const unchecked = spec.clauses
      .filter((c) => c.testedBy.includes('conformance') && !checked.has(c.id))
      .map((c) => c.id);
    expect(unchecked).toEqual([]);
  });
});

describe('clause coverage (CASES.md)', () => {
  const rows = coverage();

  it(
    'CASES.md is the rendering of the spec, the cases, the vectors and the planted defects (run `npm run ' +
      'spec:generate` when this fails)',
    () => {
      expect(readFileSync(fileURLToPath(new URL('../CASES.md', import.meta.url)), 'utf8')).toBe(renderCasesMarkdown());
    },
  );

  // Only the reference's simulation tests hold it to these; an implementation in another
  // language is checked against none of them. The list may only shrink: a clause that gains a
  // case or a vector must leave it, and a new clause without either fails.
  const notCheckedYet: string[] = [];

  it(
    'every MUST and SHOULD clause about the protocol has a case, a vector or a monitor rule, but for the listed ' +
      'ones',
    () => {
      expect(
        rows
          .filter((r) => isChecked(r.clause) && r.cases.length === 0 && r.vectors === 0 && r.rules.length === 0)
          .map((r) => r.clause.id),
      ).toEqual(notCheckedYet);
    },
  );

  // A check that was never seen failing may be one that cannot fail: each MUST and SHOULD
  // clause has a planted defect (an endpoint's, proven by defects.test, or a vector mutant's,
  // proven by vectors/test/mutants.test) that fails under it.
  it('every MUST and SHOULD clause about the protocol has a planted defect that fails under it', () => {
    expect(
      rows
        .filter((r) => isChecked(r.clause) && r.defects.length === 0 && r.mutants.length === 0)
        .map((r) => r.clause.id),
    ).toEqual([]);
  });

  it(
    "a clause's testedBy says what checks it: 'conformance' exactly when a case names it, 'vectors' exactly when " +
      "a vector does, 'monitor' exactly when a monitor rule does",
    () => {
      expect(
        rows
          .filter((r) => r.clause.testedBy.includes('monitor') !== r.rules.length > 0)
          .map(
            (r) => `${r.clause.id}: testedBy ${r.clause.testedBy.join(', ')}, rules ${r.rules.join(', ') || 'none'}`,
          ),
      ).toEqual([]);
      expect(
        rows
          .filter((r) => r.clause.testedBy.includes('conformance') !== r.cases.length > 0)
          .map((r) => `${r.clause.id}: testedBy ${r.clause.testedBy.join(', ')}, ${r.cases.length} cases`),
      ).toEqual([]);
      expect(
        rows
          .filter((r) => r.clause.testedBy.includes('vectors') !== r.vectors > 0)
          .map((r) => `${r.clause.id}: testedBy ${r.clause.testedBy.join(', ')}, ${r.vectors} vectors`),
      ).toEqual([]);
    },
  );

  it('every planted defect names a case of the catalogue and a clause of the spec', () => {
    const ids = new Set(allCases.map((c) => c.id));
    // The clause need not be one the case lists: a diagnosis names the rule the packets break.
    for (const r of rows)
      for (const d of r.defects) expect(ids, `${d} -> ${r.clause.id}`).toContain(/\((.+)\)$/.exec(d)?.[1]);
    expect(rows.flatMap((r) => r.defects).length).toBe(plantedFailures().length);
  });
});

describe('shipped targets', () => {
  const files = readdirSync(targetsDir).filter((f) => f.endsWith('.json') && !f.includes('expected-failures'));

  // Every expected-failures file a shipped target lists: the only one, or one per version.
  const listed = files.flatMap((file): [string, string | undefined][] => {
    const config = JSON.parse(readFileSync(`${targetsDir}${file}`, 'utf8')) as TargetConfig;
    const files = config.expectedFailures;
    return typeof files === 'object' ? Object.keys(files).map((version) => [file, version]) : [[file, undefined]];
  });

  it.each(listed)(
    '%s (version %s) follows the target schema and its expected failures name real cases with reasons and a ' +
      'clause of that case',
    (file, version) => {
      const target = loadTarget(`${targetsDir}${file}`, version === undefined ? {} : { expectedFailuresFor: version });
      const ids = new Set(allCases.map((c) => c.id));
      const byId = new Map(allCases.map((c) => [c.id, c]));
      for (const [id, entry] of target.expectedFailures) {
        expect(ids, `${file}: ${id}`).toContain(id);
        expect(entry.reason.length).toBeGreaterThan(20);
        // The shipped files say what each failure must look like: a clause the case checks, or a
        // monitor rule's with the rule named in the message, or (where the same defect shows under
        // either of two clauses) the message it gives.
        expect(
          entry.clause !== undefined || entry.observed !== undefined,
          `${file}: ${id} says neither clause nor observed`,
        ).toBe(true);
        const rule = MONITOR_RULES.find(
          (r) => r.clause === entry.clause && entry.observed?.includes(`monitor \\(${r.id}\\)`),
        );
        if (entry.clause !== undefined && rule === undefined)
          expect(byId.get(id)?.clauses, `${file}: ${id} -> ${entry.clause}`).toContain(entry.clause);
      }
    },
  );

  it("the Go target's version pattern reads a module build, a Go workspace and a replace directive", () => {
    const config = JSON.parse(readFileSync(`${targetsDir}go.json`, 'utf8')) as TargetConfig;
    const read = (output: string) => new RegExp(config.version?.pattern ?? '', 'm').exec(output)?.groups?.version;
    const deps = (qotp: string) =>
      'bin/endpoint: go1.26.8\n' +
      '\tpath\tgithub.com/qotp-conformance/interop/cmd/endpoint\n' +
      '\tmod\tgithub.com/qotp-conformance/interop\t(devel)\t\n' +
      `${qotp}\tdep\tgolang.org/x/crypto\tv0.42.0\th1:x=\n`;
    expect(
      read(deps('\tdep\tgithub.com/qo-proto/qotp\tv0.2.18\th1:jZPu8Nubpqz3RN8Cere+mMj87Q96MwcTXbmOBxs7Uq0=\n')),
    ).toBe('v0.2.18');
    expect(read(deps('\tdep\tgithub.com/qo-proto/qotp\t(devel)\t\n'))).toBe('(devel)');
    expect(read(deps('\tdep\tgithub.com/qo-proto/qotp\tv0.2.18\n\t=>\t/src/qotp\t(devel)\t\n'))).toBe('(devel)');
    expect(read(deps('\tdep\tgithub.com/qo-proto/qotp\tv0.2.18\n\t=>\tgithub.com/fork/qotp\tv0.2.20\th1:y=\n'))).toBe(
      'v0.2.20',
    );
  });

  it('a target with one expected-failures file per version uses the one for the version its probe reads', () => {
    const go = bundledTarget('go');
    expect(go.implementation.version, go.implementation.versionSource).toMatch(/^v\d+\.\d+\.\d+$|^\(devel\)$/);
    if (go.implementation.version === '(devel)') expect(go.implementation.expectedFailuresFile).toBeNull();
    else expect(go.implementation.expectedFailuresFile).toBe(`go.${go.implementation.version}.expected-failures.json`);
  });

  it('the expected-failures schema rejects an entry without a reason', () => {
    const problems = schemaValidator('expected-failures.schema.json')({
      target: 'x',
      entries: [{ case: 'streams.ping' }],
    });
    expect(problems.join('\n')).toMatch(/must have required property 'reason'/);
  });

  it('the reference is expected to pass everything', () => {
    expect([...bundledTarget('reference').expectedFailures.keys()]).toEqual([]);
  });
});

describe('vector damage', () => {
  const tests = [...allTests(loadVectors('invalid-packets')), ...allTests(loadVectors('crypto-messages'))]
    .map((t) => t.test)
    .filter((t) => t.mutation !== undefined);

  it('every damaged vector says how, as data the runner applies (no parsing of the English text)', () => {
    expect(tests.length).toBeGreaterThan(200);
    expect(tests.filter((t) => t.damage === undefined).map((t) => t.id)).toEqual([]);
  });

  it('undoes and redoes every bit flip: applying the damage twice gives the vector packet back', () => {
    const flips = tests.filter((t) => t.damage?.op === 'flip-bit');
    expect(flips.length).toBeGreaterThan(100);
    for (const t of flips) {
      const damage = t.damage as Damage;
      const original = applyDamage(fromHex(t.packet), damage); // a flip is its own inverse
      expect(Buffer.from(original).toString('hex')).not.toBe(t.packet);
      expect(Buffer.from(applyDamage(original, damage)).toString('hex'), t.id).toBe(t.packet);
    }
  });

  it("refuses a 're-seal' without the packet's keys, and a byte beyond the packet", () => {
    expect(() => applyDamage(new Uint8Array(40), { op: 're-seal', plaintext: '00', what: 'x' })).toThrow(DamageError);
    expect(() => applyDamage(new Uint8Array(40), { op: 'flip-bit', byte: 40, bit: 0 })).toThrow(
      /byte 40 is beyond the 40-byte packet/,
    );
  });
});
