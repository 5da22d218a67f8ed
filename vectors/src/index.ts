// @qotp/vectors: QOTP test vectors and a loader that validates them against their
// JSON Schemas before handing them out.
//
//   import { loadVectors, allTests } from '@qotp/vectors';
//   for (const { group, test } of allTests(loadVectors('payloads'))) { ... }
//
// The raw files are also exported (`@qotp/vectors/data/<name>.json`, schemas under
// `@qotp/vectors/schemas/`) for use from any language.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import type { VectorFile, VectorFileName, VectorFiles } from './types.js';

export type * from './types.js';
export { applyDamage, DamageError, describeDamage, withType, withVersion, type Damage, type Reseal } from './damage.js';

/** Every vector file and the schema it follows. */
export const vectorFileSchemas: Record<VectorFileName, string> = {
  'uint-codec': 'uint-codec.schema.json',
  'rcv-window': 'rcv-window.schema.json',
  payloads: 'payloads.schema.json',
  'crypto-messages': 'packets.schema.json',
  'invalid-packets': 'packets.schema.json',
  rto: 'rto.schema.json',
  'sn-mask': 'sn-mask.schema.json',
  'rcv-buffer': 'rcv-buffer.schema.json',
};
export const vectorFileNames = Object.keys(vectorFileSchemas) as VectorFileName[];

export const dataDir = fileURLToPath(new URL('../data/', import.meta.url));
export const schemasDir = fileURLToPath(new URL('../schemas/', import.meta.url));
export const dataPath = (name: VectorFileName): string => `${dataDir}${name}.json`;
export const schemaPath = (name: VectorFileName): string => `${schemasDir}${vectorFileSchemas[name]}`;

export class VectorFileError extends Error {
  override readonly name = 'VectorFileError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} does not match its schema:\n  ${problems.join('\n  ')}`);
  }
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

let ajv: Ajv2020 | undefined;
/** An Ajv instance that knows every vector schema (draft 2020-12, strict). */
export function vectorAjv(): Ajv2020 {
  if (ajv === undefined) {
    ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    ajv.addSchema(readJson(`${schemasDir}common.schema.json`) as object);
    for (const file of new Set(Object.values(vectorFileSchemas)))
      ajv.addSchema(readJson(`${schemasDir}${file}`) as object, file);
  }
  return ajv;
}

const describe = (e: ErrorObject): string =>
  `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`;

/** Schema problems of a parsed vector file, or [] when it conforms. */
export function schemaProblems(name: VectorFileName, data: unknown): string[] {
  const validate = vectorAjv().getSchema(vectorFileSchemas[name]);
  if (validate === undefined) throw new Error(`schema ${vectorFileSchemas[name]} is not loaded`);
  if (validate(data)) return [];
  return (validate.errors ?? []).map(describe);
}

/**
 * Reads, schema-checks and returns one vector file; throws VectorFileError if it does
 * not conform. `path` reads another copy of that kind of file (a modified or newer one).
 */
export function loadVectors<N extends VectorFileName>(name: N, path = dataPath(name)): VectorFiles[N] {
  const data = readJson(path);
  const problems = schemaProblems(name, data);
  if (problems.length > 0) throw new VectorFileError(path, problems);
  return data as VectorFiles[N];
}

/** Every test of a file with its group, in file order. */
export function* allTests<G extends { tests: unknown[] }>(
  file: VectorFile<G>,
): Generator<{ group: G; test: G['tests'][number] }> {
  for (const group of file.testGroups) for (const test of group.tests) yield { group, test };
}
export { fromHex, toHex, HexError } from './hex.js';
export { buildPacket, receiverContext } from './packets.js';
