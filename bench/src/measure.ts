// Rates, their summary and how busy the machine is: every figure is measured several times
// and reported as the median with the spread (lowest and highest), never as a single run.
import { readFileSync } from 'node:fs';

/** Runs `op` for about `ms` milliseconds and returns operations per second. */
export function rate(ms: number, op: (i: number) => void): number {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    for (let k = 0; k < 16; k++) op(n++);
  }
  return (n * 1000) / (performance.now() - start);
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function summarize(runs: number[]): Summary {
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, runs };
}

/**
 * The share of all CPUs' time spent busy (not idle or waiting for I/O) during the next `ms`,
 * from /proc/stat; this process only sleeps meanwhile, so it is other processes' work.
 */
export async function busyFraction(ms: number): Promise<number> {
  const read = () => {
    const [, ...ticks] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/);
    const n = ticks.map(Number);
    const idle = (n[3] ?? 0) + (n[4] ?? 0);
    return { idle, total: n.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}
