// The one-byte receive window code (spec: receiveWindow; clauses window.*).
// Eight steps per power of two from 256 bytes up; everything from 1 to 255 bytes
// shares code 1, which reads back as 128 (erratum E06).
import { spec } from '@qotp/spec';
import { QotpError } from '../errors.js';

const STEPS = spec.receiveWindow.substepsPerPowerOfTwo; // 8
const STEP_BITS = Math.log2(STEPS); // 3
const FIRST_EXPONENT = spec.receiveWindow.smallestStepExponent; // 8: codes >= 2 start at 2^8
const MAX_CODE = 2 ** (8 * spec.receiveWindow.codeSize) - 1; // 255
const SMALL_WINDOW = 2 ** (FIRST_EXPONENT - 1); // 128, what code 1 stands for

/** Encodes a window of `bytes` (a non-negative safe integer) as a code 0..255, rounding down. */
export function encodeRcvWindow(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new QotpError('invalid-argument', `window must be a non-negative safe integer, got ${bytes}`);
  }
  if (bytes === 0) return 0;
  if (bytes < 2 ** FIRST_EXPONENT) return 1;
  const h = bytes.toString(2).length - 1; // index of the highest set bit, exact for any safe integer
  const substep = Math.floor(bytes / 2 ** (h - STEP_BITS)) % STEPS;
  return Math.min((h - FIRST_EXPONENT) * STEPS + substep + 2, MAX_CODE);
}

/** The number of bytes a window code stands for. */
export function decodeRcvWindow(code: number): number {
  if (!Number.isInteger(code) || code < 0 || code > MAX_CODE) {
    throw new QotpError('invalid-argument', `window code must be an integer 0..${MAX_CODE}, got ${code}`);
  }
  if (code === 0) return 0;
  if (code === 1) return SMALL_WINDOW;
  const adjusted = code - 2;
  const h = Math.floor(adjusted / STEPS) + FIRST_EXPONENT;
  return 2 ** h + (adjusted % STEPS) * 2 ** (h - STEP_BITS);
}
