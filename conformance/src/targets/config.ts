// What a target is: the target file's settings (schema: schemas/target.schema.json), what
// the runner found out about the implementation behind it, and the error for a target that
// cannot be used as given.
import { readFileSync } from 'node:fs';
import type { Capability } from '../kit/case.js';
import type { ExpectedFailure } from '../verdict.js';

export interface TargetConfig {
  name: string;
  description: string;
  mtu: number;
  capabilities: Record<Capability, boolean>;
  server?: { command: string[]; ready?: string; sinkArgs?: string[] };
  client?: { command: string[]; zeroRttArgs?: string[] };
  version?: { command: string[]; pattern: string; source?: string };
  /** One file, or one per version (as the version probe reads it). */
  expectedFailures?: string | Record<string, string>;
}

/** What the runner found out about the implementation behind a target. */
export interface Implementation {
  /** As the version probe read it ("v0.2.18", "(devel)"), or null without a probe or when it failed. */
  version: string | null;
  /** How the version was read, or why it could not be. */
  versionSource: string;
  /** The expected-failures file in use, relative to the target file; null for none. */
  expectedFailuresFile: string | null;
  /** Why that file (or none) was chosen, when there was a choice. */
  expectedFailuresNote: string | null;
}

/** An implementation whose version nobody asked, with no expected failures. */
export const unprobed = (why: string): Implementation => ({
  version: null,
  versionSource: why,
  expectedFailuresFile: null,
  expectedFailuresNote: null,
});

export interface Target {
  config: TargetConfig;
  /** Directory of the target file: {dir} in commands. */
  dir: string;
  /** Case id -> its entry in the expected-failures file. */
  expectedFailures: Map<string, ExpectedFailure>;
  implementation: Implementation;
  /** Set for an attached (already running) server. */
  attached: { address: string; publicKey: Uint8Array } | null;
  /** The command-line arguments that chose this target (`--bundled go`, ...): the CLI sets them. */
  chosenBy?: string[];
  /**
   * The command that runs this target again with the same seed and verdict options (the CLI
   * sets it): a failed case's replay is it with `--grep '^ID$'`.
   */
  replay?: string;
}

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

/** A JSON file's contents; a TargetError saying which file when it cannot be read. */
export function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TargetError(`cannot read ${path}: ${(e as Error).message}`);
  }
}
