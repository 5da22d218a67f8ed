// Launched processes: each in a process group of its own, its output kept (the start and the
// end when it prints much) and scanned for a line, and all of them stopped when the runner is.
import { spawn, type ChildProcess } from 'node:child_process';

export interface LaunchedProcess {
  child: ChildProcess;
  /** What the process printed on stdout and stderr: the start and the end when it printed much. */
  output(): string;
  /** The first line it printed that matched `watch`, if any (scanned as lines arrive, so none is missed). */
  matched(): RegExpExecArray | null;
  /** Resolves with the exit code when the process ends (-1 for a signal or a spawn failure). */
  exited: Promise<number | null>;
  /** Set when the command could not be started at all (ENOENT, EACCES): the target file's fault, not the endpoint's. */
  spawnError(): string | null;
  /** Kills the process and everything it started (its process group). */
  stop(): void;
}

/** Every launched process group still alive, so that a signalled runner can end them all. */
const live = new Set<LaunchedProcess>();

/** Kills every endpoint the runner launched and has not stopped yet (on SIGINT or SIGTERM). */
export function stopAllLaunched(): number {
  const n = live.size;
  for (const p of [...live]) p.stop();
  return n;
}

const OUTPUT_HEAD = 16_000;
const OUTPUT_TAIL = 32_000;

/**
 * Starts a command in a process group of its own: an endpoint launched through a wrapper
 * script (a shell, npx, a container runner) leaves no child behind when the group is killed.
 */
export function launch(argv: string[], watch: RegExp | null = null): LaunchedProcess {
  const [file, ...args] = argv as [string, ...string[]];
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let head = '';
  let tail = '';
  let dropped = 0;
  let match: RegExpExecArray | null = null;
  let spawnFailure: string | null = null;
  const keep = (text: string) => {
    if (head.length < OUTPUT_HEAD) {
      const room = OUTPUT_HEAD - head.length;
      head += text.slice(0, room);
      text = text.slice(room);
    }
    tail += text;
    if (tail.length > 2 * OUTPUT_TAIL) {
      dropped += tail.length - OUTPUT_TAIL;
      tail = tail.slice(-OUTPUT_TAIL);
    }
  };
  const scanner = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const text = chunk.toString();
      keep(text);
      if (watch === null || match !== null) return;
      const lines = (partial + text).split('\n');
      partial = (lines.pop() as string).slice(-4096); // a line longer than that cannot be a ready line
      for (const line of lines) {
        const m = watch.exec(line.replace(/\r$/, ''));
        if (m !== null) {
          match = m;
          return;
        }
      }
    };
  };
  child.stdout?.on('data', scanner());
  child.stderr?.on('data', scanner());
  const proc: LaunchedProcess = {
    child,
    output: () => (dropped > 0 ? `${head}\n[... ${dropped} bytes of output left out ...]\n${tail}` : head + tail),
    matched: () => match,
    spawnError: () => spawnFailure,
    exited: new Promise<number | null>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(proc);
        resolve(code ?? (signal ? -1 : null));
      });
      child.once('error', (e) => {
        spawnFailure = `cannot run '${argv.join(' ')}': ${e.message}`;
        keep(`\n${spawnFailure}`);
        live.delete(proc);
        resolve(-1);
      });
    }),
    stop: () => {
      live.delete(proc);
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL'); // the whole group: wrapper and endpoint
      } catch {
        // the group is gone already
      }
    },
  };
  live.add(proc);
  return proc;
}
