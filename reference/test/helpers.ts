import { QotpError, seededBytes } from '../src/index.js';

/** Deterministic pseudo-random bytes, so failures reproduce. */
export const prng = seededBytes;

/** The QotpError code that `run` throws; fails the test on success or on any other exception. */
export function qotpErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof QotpError) return e.code;
    throw new Error(`expected a QotpError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a QotpError, got success');
}

export const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
