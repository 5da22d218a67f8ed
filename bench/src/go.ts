// The Go original's figures: interop/go/cmd/bench, built and run in the same session.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from './measure.js';
import type { SealOpenOptions, SealOpenRow } from './seal-open.js';

const goDir = fileURLToPath(new URL('../../interop/go/', import.meta.url));

function run(command: string, args: string[]): string {
  const r = spawnSync(command, args, {
    cwd: goDir,
    encoding: 'utf8',
    env: { ...process.env, GONOSUMDB: 'github.com/qo-proto/qotp' },
  });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

export function goSealOpenRow(o: SealOpenOptions): SealOpenRow {
  // -checklinkname=0: the bench reaches qotp's unexported encryptData/decryptData (internal/qotpx).
  run('go', ['build', '-ldflags=-checklinkname=0', '-o', 'bin/bench', './cmd/bench']);
  const out = JSON.parse(
    run('bin/bench', ['-size', String(o.packetSize), '-seconds', String(o.ms / 1000), '-repeats', String(o.repeats)]),
  ) as {
    seal: number[];
    open: number[];
  };
  return {
    implementation: 'Go original (qotp encryptData/decryptData)',
    seal: summarize(out.seal),
    open: summarize(out.open),
  };
}
