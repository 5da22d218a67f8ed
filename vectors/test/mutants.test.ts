// The vectors must be able to fail: the reference with one rule wrong (support/mutants.ts)
// disagrees with at least one vector naming each clause of that rule, and with none of the
// vectors that name no such clause only by chance: the count is printed for the reader.
import { nobleBackend, setCryptoBackend } from '@qotp/reference';
import { afterEach, describe, expect, it } from 'vitest';
import { reference } from './support/implementation.js';
import { replay, vectorsOf } from './support/replay.js';
import { VECTOR_MUTANTS, type Mutant } from './support/mutants.js';

/** How many vectors naming `clause` the mutant fails, of how many. */
function rejected(m: Mutant, clause: string): { failed: number; of: number } {
  setCryptoBackend({ ...nobleBackend, ...m.backend, name: 'mutant' });
  const impl = { ...reference, ...m.impl };
  let failed = 0;
  let of = 0;
  for (const file of m.files) {
    for (const entry of vectorsOf(file).filter((e) => e.test.clauses.includes(clause))) {
      of++;
      try {
        replay(file, impl, entry);
      } catch {
        failed++;
      }
    }
  }
  return { failed, of };
}

describe('the vectors reject an implementation with one rule wrong', () => {
  afterEach(() => setCryptoBackend(nobleBackend));
  const rows = Object.entries(VECTOR_MUTANTS as Record<string, Mutant>).flatMap(([name, m]) =>
    m.clauses.map((clause) => [name, clause, m] as const),
  );
  it.each(rows)('%s fails vectors naming %s', (name, clause, m) => {
    const { failed, of } = rejected(m, clause);
    console.log(`mutant ${name} (${m.what}): ${failed} of ${of} vectors naming ${clause} reject it`);
    expect(of, `no vector in ${m.files.join(', ')} names ${clause}`).toBeGreaterThan(0);
    expect(failed, `${name} passed all ${of} vectors naming ${clause}`).toBeGreaterThan(0);
  });

  it('the reference itself passes the same vectors (the replay alone rejects nothing)', () => {
    const control: Mutant = { what: 'nothing', clauses: [], files: [] };
    for (const [, clause, m] of rows) expect(rejected({ ...control, files: m.files }, clause).failed).toBe(0);
  });
});
