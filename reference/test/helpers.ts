import { QotpError } from '../src/index.js';

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function prng(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return (n) => Uint8Array.from({ length: n }, () => next() & 0xff);
}

/** The QotpError code that `run` throws; fails the test on success or on any other exception. */
export function qotpErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof QotpError) return e.code;
    throw new Error(`expected a QotpError, got ${String(e)}`);
  }
  throw new Error('expected a QotpError, got success');
}

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
