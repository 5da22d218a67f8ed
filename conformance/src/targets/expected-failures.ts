// Expected-failures files: which one a target uses (one file, or one per probed version),
// reading one against its schema, and replacing a target's with another (--expected-failures).
import { resolve } from 'node:path';
import { schemaValidator } from '../schemas.js';
import type { ExpectedFailure } from '../verdict.js';
import { readJson, TargetError, type Implementation, type Target, type TargetConfig } from './config.js';

/** Picks the expected-failures file: the only one, or the one for the probed (or the asked-for) version. */
export function chooseExpectedFailures(
  target: TargetConfig,
  found: Pick<Implementation, 'version' | 'versionSource'>,
  asked: string | undefined,
): Pick<Implementation, 'expectedFailuresFile' | 'expectedFailuresNote'> {
  const files = target.expectedFailures;
  if (files === undefined) return { expectedFailuresFile: null, expectedFailuresNote: null };
  if (typeof files === 'string') return { expectedFailuresFile: files, expectedFailuresNote: null };
  const known = Object.keys(files).join(', ');
  const key = asked ?? found.version;
  const how = asked !== undefined ? `chosen by --expected-failures-for` : `for the version found`;
  if (key !== null && files[key] !== undefined) {
    const although =
      asked !== undefined && found.version !== key
        ? ` although the version found is ${found.version ?? 'unknown'}`
        : '';
    return { expectedFailuresFile: files[key], expectedFailuresNote: `${how}${although}` };
  }
  const why = key === null ? `the version is unknown (${found.versionSource})` : `there is none for ${key}`;
  return {
    expectedFailuresFile: null,
    expectedFailuresNote:
      `no expected failures: ${why}; there are files for ${known} (--expected-failures-for VERSION picks one); ` +
      `every failure counts`,
  };
}

/** Reads an expected-failures file, checked against its schema and with every pattern compiled: case id -> entry. */
export function readExpectedFailures(file: string): { release?: string; entries: Map<string, ExpectedFailure> } {
  const data = readJson(file);
  const errors = schemaValidator('expected-failures.schema.json')(data);
  if (errors.length > 0)
    throw new TargetError(`${file} is not a valid expected-failures file:\n  ${errors.join('\n  ')}`);
  const list = data as { release?: string; entries: ExpectedFailure[] };
  const entries = new Map<string, ExpectedFailure>();
  for (const e of list.entries) {
    if (e.observed !== undefined) compilePattern(e.observed, `${file}: entry ${e.case}: observed`);
    entries.set(e.case, e);
  }
  return { ...(list.release === undefined ? {} : { release: list.release }), entries };
}

/** The target with the expected failures of `file` (`--expected-failures`, a baseline) instead of its own. */
export function withExpectedFailures(target: Target, file: string): Target {
  const { entries } = readExpectedFailures(resolve(file));
  return {
    ...target,
    expectedFailures: entries,
    implementation: {
      ...target.implementation,
      expectedFailuresFile: file,
      expectedFailuresNote: 'given by --expected-failures',
    },
  };
}

function compilePattern(pattern: string, where: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new TargetError(`${where}: not a regular expression: ${(e as Error).message}`);
  }
}
