// The committed vector files: schema-valid, consistent with the spec, and exactly
// what the generators produce from the current reference.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spec } from '@qotp/spec';
import { describe, expect, it } from 'vitest';
import { generators, serializeVectorFile } from '../src/generators/index.js';
import { allTests, dataPath, loadVectors, schemaProblems, vectorFileNames, VectorFileError } from '../src/index.js';
import type { VectorTest } from '../src/types.js';

const everyTest = (): { file: string; test: VectorTest }[] =>
  vectorFileNames.flatMap((file) =>
    [...allTests<{ tests: VectorTest[] }>(loadVectors(file))].map(({ test }) => ({ file, test })),
  );

describe.each(vectorFileNames)('%s.json', (name) => {
  it('conforms to its schema', () => {
    expect(schemaProblems(name, JSON.parse(readFileSync(dataPath(name), 'utf8')))).toEqual([]);
  });

  it('is byte-identical to a fresh generation (run `npm run vectors:generate` when this fails)', () => {
    expect(readFileSync(dataPath(name), 'utf8')).toBe(serializeVectorFile(generators[name]()));
  });

  it('counts its tests correctly', () => {
    const file = loadVectors(name);
    expect(file.numberOfTests).toBe([...allTests<{ tests: VectorTest[] }>(file)].length);
  });
});

describe('vector set', () => {
  const tests = everyTest();

  it('has at least 500 tests with unique ids', () => {
    expect(tests.length).toBeGreaterThanOrEqual(500);
    expect(new Set(tests.map((t) => t.test.id)).size).toBe(tests.length);
  });

  it('names only clauses that exist in the spec', () => {
    const known = new Set(spec.clauses.map((c) => c.id));
    for (const { test } of tests) for (const c of test.clauses) expect(known, `${test.id} -> ${c}`).toContain(c);
  });

  it('exercises every clause the spec says vectors test', () => {
    const used = new Set(tests.flatMap((t) => t.test.clauses));
    const missing = spec.clauses.filter((c) => c.testedBy.includes('vectors') && !used.has(c.id)).map((c) => c.id);
    expect(missing).toEqual([]);
  });

  it('backs every erratum that cites vectors with a file or test that exists', () => {
    const names = new Set<string>([...vectorFileNames, ...tests.map((t) => t.test.id)]);
    for (const e of spec.errata)
      for (const v of e.evidence.vectors ?? []) expect(names, `${e.id} cites ${v}`).toContain(v);
  });
});

describe('loader', () => {
  it('refuses a file that breaks its schema, saying where', () => {
    const problems = schemaProblems('uint-codec', { ...loadVectors('uint-codec'), numberOfTests: -1 });
    expect(problems.join('\n')).toMatch(/numberOfTests/);
  });

  it('refuses an invalid test without an error code', () => {
    const file = structuredClone(loadVectors('payloads'));
    const invalid = file.testGroups.flatMap((g) => g.tests).find((t) => t.result === 'invalid');
    if (invalid === undefined) throw new Error('payloads.json has no invalid test');
    delete invalid.error;
    expect(schemaProblems('payloads', file)).not.toEqual([]);
  });

  it('throws VectorFileError naming the file and the problem', () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'qotp-vectors-')), 'rto.json');
    writeFileSync(bad, JSON.stringify({ ...loadVectors('rto'), testGroups: [] }));
    expect(() => loadVectors('rto', bad)).toThrow(VectorFileError);
    expect(() => loadVectors('rto', bad)).toThrow(/rto\.json[\s\S]*testGroups/);
  });
});
