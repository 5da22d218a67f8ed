// The runner's JSON Schemas (targets, expected failures, the report), compiled once.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';

export const schemasDir = fileURLToPath(new URL('../schemas/', import.meta.url));
export type SchemaName = 'target.schema.json' | 'expected-failures.schema.json' | 'report.schema.json';

let ajv: Ajv2020 | undefined;

const describe = (e: ErrorObject): string =>
  `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`;

/** A function that returns the schema problems of a value, [] when it conforms. */
export function schemaValidator(name: SchemaName): (value: unknown) => string[] {
  ajv ??= new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  const validate =
    ajv.getSchema(name) ??
    ajv.addSchema(JSON.parse(readFileSync(`${schemasDir}${name}`, 'utf8')) as object, name).getSchema(name);
  if (validate === undefined) throw new Error(`schema ${name} did not compile`);
  return (value) => (validate(value) ? [] : (validate.errors ?? []).map(describe));
}
