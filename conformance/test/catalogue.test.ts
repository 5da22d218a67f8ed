// The case catalogue and the shipped target files: every clause a case names exists in
// the spec, ids are unique, every conformance clause is checked by some case, the bundled
// targets and expected-failure files follow their schemas and name real cases, and every
// mutation wording of the invalid-packet vectors is understood by the runner.
import { spec } from '@qotp/spec';
import { allTests, fromHex, loadVectors } from '@qotp/vectors';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allCases } from '../src/cases/index.js';
import { parseMutation, UnknownMutationError } from '../src/peer/mutations.js';
import { schemaValidator } from '../src/schemas.js';
import { bundledTarget, loadTarget, type TargetConfig } from '../src/targets/target.js';

const targetsDir = fileURLToPath(new URL('../targets/', import.meta.url));
const clauseIds = new Set(spec.clauses.map((c) => c.id));

describe('case catalogue', () => {
  it('has at least 40 cases with unique ids', () => {
    const ids = allCases.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(40);
  });

  it('names only clauses that exist in the spec', () => {
    for (const c of allCases) for (const clause of c.clauses) expect(clauseIds, `${c.id} -> ${clause}`).toContain(clause);
  });

  it('checks every clause the spec marks as tested by conformance', () => {
    const checked = new Set(allCases.flatMap((c) => c.clauses));
    const unchecked = spec.clauses.filter((c) => c.testedBy.includes('conformance') && !checked.has(c.id)).map((c) => c.id);
    expect(unchecked).toEqual([]);
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

  it.each(listed)('%s (version %s) follows the target schema and its expected failures name real cases with reasons and a clause of that case', (file, version) => {
    const target = loadTarget(`${targetsDir}${file}`, version === undefined ? {} : { expectedFailuresFor: version });
    const ids = new Set(allCases.map((c) => c.id));
    const byId = new Map(allCases.map((c) => [c.id, c]));
    for (const [id, entry] of target.expectedFailures) {
      expect(ids, `${file}: ${id}`).toContain(id);
      expect(entry.reason.length).toBeGreaterThan(20);
      // The shipped files say under which clause each failure is expected, one the case checks.
      expect(byId.get(id)?.clauses, `${file}: ${id} -> ${entry.clause}`).toContain(entry.clause);
    }
  });

  it("the Go target's version pattern reads a module build, a Go workspace and a replace directive", () => {
    const config = JSON.parse(readFileSync(`${targetsDir}go.json`, 'utf8')) as TargetConfig;
    const read = (output: string) => new RegExp(config.version?.pattern ?? '', 'm').exec(output)?.groups?.version;
    const deps = (qotp: string) => `bin/endpoint: go1.26.8\n\tpath\tgithub.com/qotp-conformance/interop/cmd/endpoint\n\tmod\tgithub.com/qotp-conformance/interop\t(devel)\t\n${qotp}\tdep\tgolang.org/x/crypto\tv0.42.0\th1:x=\n`;
    expect(read(deps('\tdep\tgithub.com/qo-proto/qotp\tv0.2.18\th1:jZPu8Nubpqz3RN8Cere+mMj87Q96MwcTXbmOBxs7Uq0=\n'))).toBe('v0.2.18');
    expect(read(deps('\tdep\tgithub.com/qo-proto/qotp\t(devel)\t\n'))).toBe('(devel)');
    expect(read(deps('\tdep\tgithub.com/qo-proto/qotp\tv0.2.18\n\t=>\t/src/qotp\t(devel)\t\n'))).toBe('(devel)');
    expect(read(deps('\tdep\tgithub.com/qo-proto/qotp\tv0.2.18\n\t=>\tgithub.com/fork/qotp\tv0.2.20\th1:y=\n'))).toBe('v0.2.20');
  });

  it('a target with one expected-failures file per version uses the one for the version its probe reads', () => {
    const go = bundledTarget('go');
    expect(go.implementation.version, go.implementation.versionSource).toMatch(/^v\d+\.\d+\.\d+$|^\(devel\)$/);
    if (go.implementation.version === '(devel)') expect(go.implementation.expectedFailuresFile).toBeNull();
    else expect(go.implementation.expectedFailuresFile).toBe(`go.${go.implementation.version}.expected-failures.json`);
  });

  it('the expected-failures schema rejects an entry without a reason', () => {
    const problems = schemaValidator('expected-failures.schema.json')({ target: 'x', entries: [{ case: 'streams.ping' }] });
    expect(problems.join('\n')).toMatch(/must have required property 'reason'/);
  });

  it('the reference is expected to pass everything', () => {
    expect([...bundledTarget('reference').expectedFailures.keys()]).toEqual([]);
  });
});

describe('vector mutations', () => {
  const tests = [...allTests(loadVectors('invalid-packets')), ...allTests(loadVectors('crypto-messages'))].map((t) => t.test).filter((t) => t.mutation !== undefined);

  it('understands the wording of every mutation except the re-seal the vector case builds itself', () => {
    const unknown = tests.filter((t) => {
      if (t.mutation?.startsWith('re-seal')) return false;
      try {
        parseMutation(t.mutation as string, t.message, fromHex(t.packet));
        return false;
      } catch (e) {
        if (e instanceof UnknownMutationError) return true;
        throw e;
      }
    });
    expect(unknown.map((t) => `${t.id}: ${t.mutation}`)).toEqual([]);
  });

  it('reproduces the vector packet from the unmutated one', () => {
    // A vector's packet is its sealing mutated; rebuilding the unmutated packet by undoing a
    // flip and applying the parsed mutation must give the vector's bytes again.
    const flips = tests.filter((t) => t.mutation?.startsWith('flip'));
    expect(flips.length).toBeGreaterThan(100);
    for (const t of flips) {
      const packet = fromHex(t.packet);
      const mutate = parseMutation(t.mutation as string, t.message, packet);
      const original = mutate(packet.slice()); // a flip is its own inverse
      expect(Buffer.from(mutate(original.slice())).toString('hex'), t.id).toBe(t.packet);
      expect(Buffer.from(original).toString('hex')).not.toBe(t.packet);
    }
  });

  it('rejects wording it does not know', () => {
    expect(() => parseMutation('rotate the tag', 'Data', new Uint8Array(40))).toThrow(UnknownMutationError);
  });
});
