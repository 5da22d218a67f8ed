// The command templates of a target file: which placeholders each kind of command may use,
// what keeps one from running, and filling them in.
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { TargetError, type Target } from './config.js';

/** The placeholders each kind of command may use. */
const PLACEHOLDERS = {
  server: ['node', 'dir', 'listen', 'seed', 'keylog'],
  client: ['node', 'dir', 'peer', 'pubkey', 'input', 'keylog', 'seed'],
  version: ['node', 'dir'],
} as const;

/** Where a program would be run from: a path as given, or the first match on PATH; null when none. */
function findProgram(program: string, dir: string): string | null {
  const executable = (path: string) => {
    try {
      accessSync(path, fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (program.includes('/')) return executable(isAbsolute(program) ? program : resolve(dir, program)) ? program : null;
  for (const entry of (process.env.PATH ?? '').split(delimiter))
    if (entry !== '' && executable(join(entry, program))) return join(entry, program);
  return null;
}

/**
 * What keeps a target's launch commands from running, one line each: a placeholder the
 * command may not use, or a program that is not there. Empty when they can run.
 */
export function launchProblems(t: Pick<Target, 'config' | 'dir'>): string[] {
  const problems: string[] = [];
  const commands: [keyof typeof PLACEHOLDERS, string, string[] | undefined][] = [
    ['server', 'server.command', t.config.server?.command],
    ['server', 'server.sinkArgs', t.config.server?.sinkArgs],
    ['client', 'client.command', t.config.client?.command],
    ['client', 'client.zeroRttArgs', t.config.client?.zeroRttArgs],
    ['version', 'version.command', t.config.version?.command],
  ];
  for (const [kind, where, argv] of commands) {
    if (argv === undefined) continue;
    const allowed: readonly string[] = PLACEHOLDERS[kind];
    for (const arg of argv) {
      for (const [, name] of arg.matchAll(/\{(\w+)\}/g)) {
        if (!allowed.includes(name as string))
          problems.push(
            `${where}: unknown placeholder {${name}} (${kind} commands take ${allowed.map((n) => `{${n}}`).join(' ')})`,
          );
      }
    }
    if (where.endsWith('.command') && kind !== 'version' && problems.length === 0) {
      const program = (argv[0] as string).replace('{node}', process.execPath).replace('{dir}', t.dir);
      if (!/\{\w+\}/.test(program) && findProgram(program, t.dir) === null) {
        problems.push(
          `${where}: ${program} ${program.includes('/') ? 'does not exist or is not executable' : 'is not on PATH'}`,
        );
      }
    }
  }
  return problems;
}

/** A command template with its placeholders filled; a TargetError for one that has no value. */
export function fill(template: string[], values: Record<string, string>): string[] {
  return template.map((arg) =>
    arg.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const v = values[name];
      if (v === undefined) throw new TargetError(`unknown placeholder ${whole} in command template`);
      return v;
    }),
  );
}
