// The version probe: the target's version command, run once when the target is loaded, and
// what its output says the implementation is (it picks the expected-failures file).
import { spawnSync } from 'node:child_process';
import { fill } from './commands.js';
import type { Implementation, TargetConfig } from './config.js';

/** How long the version command may take (`go version -m` reads the binary: milliseconds). */
const VERSION_PROBE_MS = 10_000;

/** Runs the target's version command and matches its output; never throws. */
export function probeVersion(target: TargetConfig, dir: string): Pick<Implementation, 'version' | 'versionSource'> {
  const probe = target.version;
  if (probe === undefined) return { version: null, versionSource: 'the target file has no version probe' };
  const argv = fill(probe.command, { node: process.execPath, dir });
  const shown = probe.source ?? argv.join(' ');
  const run = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: VERSION_PROBE_MS });
  if (run.error !== undefined) return { version: null, versionSource: `${shown} could not run: ${run.error.message}` };
  if (run.status !== 0)
    return {
      version: null,
      versionSource:
        `${shown} exited ` + `with ${run.status ?? run.signal}: ${(run.stderr || run.stdout).trim().slice(0, 200)}`,
    };
  const version = new RegExp(probe.pattern, 'm').exec(run.stdout)?.groups?.version;
  if (version === undefined)
    return {
      version: null,
      versionSource: `${shown} printed nothing that matches /${probe.pattern}/: ${run.stdout.trim().slice(0, 200)}`,
    };
  return { version, versionSource: shown };
}
