// Targets: how the runner reaches an implementation under test. A target file (schema:
// schemas/target.schema.json) declares the endpoint's MTU and capabilities and, to launch
// it, command templates for the server and client roles; without a server template the
// runner attaches to a server that is already running (--target, --pubkey). Loading one
// checks it, probes the implementation's version and reads its expected failures.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaValidator } from '../schemas.js';
import type { ExpectedFailure } from '../verdict.js';
import { launchProblems } from './commands.js';
import { readJson, TargetError, unprobed, type Implementation, type Target, type TargetConfig } from './config.js';
import { chooseExpectedFailures, readExpectedFailures } from './expected-failures.js';
import { probeVersion } from './version.js';

export interface LoadOptions {
  /** Use the expected failures of this version whatever the probe reads (e.g. for a "(devel)" build). */
  expectedFailuresFor?: string;
  /** Check the launch commands (placeholders, programs) and throw on a problem; true unless said. */
  check?: boolean;
}

/**
 * Reads a target file, probes the implementation's version and reads the matching expected failures, all checked
 * against their schemas.
 */
export function loadTarget(path: string, options: LoadOptions = {}): Target {
  const config = readJson(path);
  const problems = schemaValidator('target.schema.json')(config);
  if (problems.length > 0) throw new TargetError(`${path} is not a valid target file:\n  ${problems.join('\n  ')}`);
  const target = config as TargetConfig;
  const dir = dirname(resolve(path));
  const unusable = options.check === false ? [] : launchProblems({ config: target, dir });
  if (unusable.length > 0) throw new TargetError(`${path} cannot be launched:\n  ${unusable.join('\n  ')}`);
  const found = probeVersion(target, dir);
  const implementation: Implementation = {
    ...found,
    ...chooseExpectedFailures(target, found, options.expectedFailuresFor),
  };
  let expectedFailures = new Map<string, ExpectedFailure>();
  if (implementation.expectedFailuresFile !== null) {
    const file = resolve(dir, implementation.expectedFailuresFile);
    const list = readExpectedFailures(file);
    if (
      list.release !== undefined &&
      typeof target.expectedFailures === 'object' &&
      target.expectedFailures[list.release] !== implementation.expectedFailuresFile
    ) {
      throw new TargetError(`${file} says it is for ${list.release}, but ${path} lists it under another version`);
    }
    expectedFailures = list.entries;
  }
  return { config: target, dir, expectedFailures, implementation, attached: null };
}

const bundledDir = fileURLToPath(new URL('../../targets/', import.meta.url));

/** The target files shipped in conformance/targets/. */
export const bundledTargetNames = ['reference', 'go'];

/** One of the target files shipped in conformance/targets/ ("reference", "go"). */
export function bundledTarget(name: string, options: LoadOptions = {}): Target {
  return loadTarget(`${bundledDir}${name}.json`, options);
}

/** A target for a server started by hand: no launch commands, so no client-role cases. */
export function attachedTarget(address: string, publicKey: Uint8Array, base: TargetConfig | null): Target {
  const config: TargetConfig = base ?? {
    name: 'attached',
    description: `endpoint at ${address}`,
    mtu: 1400,
    capabilities: { zeroRtt: true, pingInHandshakeReply: false },
  };
  return {
    config,
    dir: process.cwd(),
    expectedFailures: new Map(),
    implementation: unprobed('an attached server is not probed'),
    attached: { address, publicKey },
  };
}
