// Bulk transfer over loopback, one stream, every client/server pair of the reference (TS)
// and the Go original: MB/s, the CPU seconds each process spent, and the ratio to Go->Go.
// Both endpoints are launched from the conformance targets' command lines (sink or echo
// server, `connect` client), a fresh server per run.
//
//   sink: the client sends the file and closes; timed from the client's launch to the
//         server's "received <n> bytes sha256 <hex>" line, which must name the whole file.
//   echo: the server writes everything back; timed to the client's "echo complete" line
//         (both directions carry the file, so MB/s counts it twice); the client's final
//         line must report the echo intact.
// CPU time is each process's user + system time from its launch to that moment
// (/proc/<pid>/stat), so a process's start-up counts and its close handshake does not.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledTarget, fill, launch, startRelay, startServer, type Impairment, type Target } from '@qotp/conformance';
import { summarize, type Summary } from './measure.js';

export type Implementation = 'go' | 'reference';
export type Mode = 'sink' | 'echo';

export interface BulkLoad {
  mode: Mode;
  bytes: number;
  /** Through the conformance package's seeded relay with this impairment (both ways); direct when absent. */
  path?: { name: string; both: Impairment };
}

export interface BulkRow {
  mode: Mode;
  bytes: number;
  /** The impaired path's name, for the impaired section; absent for direct transfers. */
  path?: string;
  client: Implementation;
  server: Implementation;
  runs: number;
  completed: number;
  /** Megabytes (10^6) per second moved over the wire; null when no run completed. */
  mbPerSecond: Summary | null;
  clientCpuSeconds: Summary | null;
  serverCpuSeconds: Summary | null;
  /** Median MB/s over Go->Go's median MB/s for the same load; null when either has none. */
  vsGoGo: number | null;
  /** Why the first failed run failed (the endpoints' last words), null when all completed. */
  failure: string | null;
}

export interface BulkOptions {
  loads: BulkLoad[];
  repeats: number;
  /** Per run; a transfer that has not completed by then fails. */
  timeoutSeconds: number;
  /** Reports each run as it ends (a 64 MB run takes seconds to minutes). */
  progress: (line: string) => void;
}

const PAIRS: [Implementation, Implementation][] = [
  ['go', 'go'],
  ['reference', 'reference'],
  ['reference', 'go'],
  ['go', 'reference'],
];

/** Clock ticks per second of /proc/<pid>/stat's CPU times. */
const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU seconds (user + system) a process has used so far; null once it has ended. */
function cpuSecondsOf(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces) start with field 3, the state;
  // utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

const SAMPLE_MS = 20;

/**
 * Follows a process's CPU time. Read at the moment a transfer completes; a client that
 * ended on its own just before (a sink client exits once its close is confirmed) is
 * reported with its last sample, at most SAMPLE_MS old.
 */
function followCpu(pid: number): { now(): number; stop(): void } {
  let last = 0;
  const sample = () => {
    last = cpuSecondsOf(pid) ?? last;
    return last;
  };
  const timer = setInterval(sample, SAMPLE_MS);
  return { now: sample, stop: () => clearInterval(timer) };
}

interface RunResult {
  seconds: number;
  clientCpu: number;
  serverCpu: number;
}

const lastLines = (text: string, n = 3): string => text.trim().split('\n').slice(-n).join(' | ');

async function oneRun(
  client: Target,
  server: Target,
  load: BulkLoad,
  input: string,
  sha256: string,
  timeoutSeconds: number,
): Promise<RunResult | string> {
  const srv = await startServer(server, '/dev/null', load.mode);
  const relay =
    load.path === undefined
      ? null
      : await startRelay({ server: srv.address, toServer: load.path.both, toClient: load.path.both });
  try {
    const clientConfig = client.config.client;
    if (clientConfig === undefined) throw new Error(`target ${client.config.name} has no client command`);
    // Later options override the template's (both CLIs take the last value given).
    const argv = fill([...clientConfig.command, '--mode', load.mode, '--timeout', String(timeoutSeconds)], {
      node: process.execPath,
      dir: client.dir,
      peer: relay?.address ?? srv.address,
      input,
      keylog: '/dev/null',
    });
    const done =
      load.mode === 'sink'
        ? /^qotp stream 0 received (\d+) bytes sha256 ([0-9a-f]{64})$/m
        : /^qotp echo complete after \d+ ms$/m;
    const start = performance.now();
    const cli = launch(argv);
    const source = load.mode === 'sink' ? srv : cli;
    const clientCpu = followCpu(cli.child.pid as number);
    const finished = await new Promise<RunResult | null>((resolve) => {
      const check = () => {
        if (done.test(source.output()))
          resolve({
            seconds: (performance.now() - start) / 1000,
            clientCpu: clientCpu.now(),
            serverCpu: cpuSecondsOf(srv.child.pid as number) ?? 0,
          });
      };
      source.child.stdout?.on('data', check);
      source.child.stderr?.on('data', check);
      // the server's last line may trail the client's exit
      void cli.exited.then(() => setTimeout(() => resolve(null), 200));
    });
    clientCpu.stop();
    // The server's line proves a sink transfer; the client's close handshake is not timed, and
    // a Go client whose close qotp never confirms (G4) would sit out its timeout.
    if (finished !== null && load.mode === 'sink') cli.stop();
    const status = await cli.exited;
    if (finished === null)
      return `client exit ${status}: ${lastLines(cli.output())}; server: ${lastLines(srv.output())}`;
    const got = done.exec(source.output());
    if (load.mode === 'sink' && (Number(got?.[1]) !== load.bytes || got?.[2] !== sha256))
      return `server received ${got?.[1]} bytes sha256 ${got?.[2]}, not the file's ${load.bytes} bytes ${sha256}`;
    if (load.mode === 'echo' && !cli.output().includes(` bytes sha256 ${sha256} ok`))
      return `echo differs: ${lastLines(cli.output())}`;
    return finished;
  } finally {
    srv.stop();
    await relay?.close();
  }
}

export async function bulkRows(o: BulkOptions): Promise<BulkRow[]> {
  const targets: Record<Implementation, Target> = {
    go: bundledTarget('go'),
    reference: bundledTarget('reference'),
  };
  const dir = mkdtempSync(join(tmpdir(), 'qotp-bench-bulk-'));
  const rows: BulkRow[] = [];
  try {
    for (const load of o.loads) {
      const input = join(dir, `input-${load.bytes}`);
      const data = randomBytes(load.bytes);
      writeFileSync(input, data);
      const sha256 = createHash('sha256').update(data).digest('hex');
      const wireBytes = load.mode === 'echo' ? 2 * load.bytes : load.bytes;
      const loadRows: BulkRow[] = [];
      for (const [client, server] of PAIRS) {
        const results: RunResult[] = [];
        let failure: string | null = null;
        let runs = 0;
        // A failed first run is not repeated: the failures seen are deterministic (see the README) and each costs the
        // timeout.
        while (runs < o.repeats && (failure === null || results.length > 0)) {
          runs++;
          const r = await oneRun(targets[client], targets[server], load, input, sha256, o.timeoutSeconds);
          const label =
            `bulk ${load.mode} ${load.bytes} B${load.path ? ` (${load.path.name})` : ''} ${client} -> ${server} ` +
            `run ${runs}`;
          if (typeof r === 'string') {
            failure ??= r;
            o.progress(`${label}: failed: ${r}`);
          } else {
            results.push(r);
            o.progress(
              `${label}: ${(wireBytes / 1e6 / r.seconds).toFixed(2)} MB/s, CPU ` +
                `client ${r.clientCpu.toFixed(2)} s, server ${r.serverCpu.toFixed(2)} s`,
            );
          }
        }
        const some = results.length > 0;
        loadRows.push({
          mode: load.mode,
          bytes: load.bytes,
          ...(load.path ? { path: load.path.name } : {}),
          client,
          server,
          runs,
          completed: results.length,
          mbPerSecond: some ? summarize(results.map((r) => wireBytes / 1e6 / r.seconds)) : null,
          clientCpuSeconds: some ? summarize(results.map((r) => r.clientCpu)) : null,
          serverCpuSeconds: some ? summarize(results.map((r) => r.serverCpu)) : null,
          vsGoGo: null,
          failure,
        });
      }
      const goGo = loadRows.find((r) => r.client === 'go' && r.server === 'go')?.mbPerSecond ?? null;
      for (const row of loadRows)
        row.vsGoGo = goGo !== null && row.mbPerSecond !== null ? row.mbPerSecond.median / goGo.median : null;
      rows.push(...loadRows);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
