// The parts every generated vector file shares, and its one serialization.
import { spec } from '@qotp/spec';
import type { VectorFile, VectorFileName, VectorTest } from '../types.js';
import { vectorFileSchemas } from '../index.js';

export function vectorFile<G extends { tests: VectorTest[] }>(
  name: VectorFileName,
  algorithm: string,
  header: string[],
  notes: Record<string, string>,
  testGroups: G[],
): VectorFile<G> {
  const tests = testGroups.flatMap((g) => g.tests);
  const ids = new Set<string>();
  for (const t of tests) {
    if (ids.has(t.id)) throw new Error(`${name}: duplicate test id ${t.id}`);
    ids.add(t.id);
    for (const flag of t.flags) if (!(flag in notes)) throw new Error(`${name}: flag ${flag} of ${t.id} has no note`);
  }
  return {
    $schema: `../schemas/${vectorFileSchemas[name]}`,
    algorithm,
    source: {
      generator: '@qotp/vectors (npm run vectors:generate), computed by @qotp/reference',
      protocolVersion: `QOTP ${spec.protocolVersion}`,
      // Every release the spec knows: the vector checker agrees with all of them (interop/go).
      checkedAgainst:
        `${spec.provenance.code.module} ${spec.releases.map((r) => r.version).join(' and ')} ` + `(interop/go)`,
    },
    numberOfTests: tests.length,
    header,
    notes,
    testGroups,
  };
}

/** The exact bytes a vector file is stored as. */
export const serializeVectorFile = (file: unknown): string => `${JSON.stringify(file, null, 2)}\n`;
