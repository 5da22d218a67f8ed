// HChaCha20 (draft-irtf-cfrg-xchacha-03, section 2.2): the first half of XChaCha20, which
// masks sequence numbers (clause crypto.sn.xchacha20). It is ChaCha20's block function on
// the constants, a 32-byte key and a 16-byte input in place of counter and nonce, without
// the final addition of the input state; state words 0-3 and 12-15 are the 32-byte subkey.
// Spelled out here rather than taken from a library so that the spec's description of the
// mask can be read next to code that runs it.
import { QotpError } from '../errors.js';

/** "expand 32-byte k" as four little-endian words. */
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;

const rotl = (v: number, n: number): number => ((v << n) | (v >>> (32 - n))) >>> 0;

function quarterRound(x: Uint32Array, a: number, b: number, c: number, d: number): void {
  x[a] = (x[a]! + x[b]!) >>> 0;
  x[d] = rotl(x[d]! ^ x[a]!, 16);
  x[c] = (x[c]! + x[d]!) >>> 0;
  x[b] = rotl(x[b]! ^ x[c]!, 12);
  x[a] = (x[a]! + x[b]!) >>> 0;
  x[d] = rotl(x[d]! ^ x[a]!, 8);
  x[c] = (x[c]! + x[d]!) >>> 0;
  x[b] = rotl(x[b]! ^ x[c]!, 7);
}

/** The 32-byte subkey HChaCha20(key, input). */
export function hchacha20(key: Uint8Array, input: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new QotpError('invalid-argument', `HChaCha20 key must be 32 bytes, got ${key.length}`);
  if (input.length !== 16)
    throw new QotpError('invalid-argument', `HChaCha20 input must be 16 bytes, got ${input.length}`);
  const k = new DataView(key.buffer, key.byteOffset, 32);
  const n = new DataView(input.buffer, input.byteOffset, 16);
  const x = new Uint32Array(16);
  x.set(SIGMA, 0);
  for (let i = 0; i < 8; i++) x[4 + i] = k.getUint32(4 * i, true);
  for (let i = 0; i < 4; i++) x[12 + i] = n.getUint32(4 * i, true);
  for (let round = 0; round < 10; round++) {
    quarterRound(x, 0, 4, 8, 12); // columns
    quarterRound(x, 1, 5, 9, 13);
    quarterRound(x, 2, 6, 10, 14);
    quarterRound(x, 3, 7, 11, 15);
    quarterRound(x, 0, 5, 10, 15); // diagonals
    quarterRound(x, 1, 6, 11, 12);
    quarterRound(x, 2, 7, 8, 13);
    quarterRound(x, 3, 4, 9, 14);
  }
  const out = new Uint8Array(32);
  const o = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) {
    o.setUint32(4 * i, x[i]!, true);
    o.setUint32(16 + 4 * i, x[12 + i]!, true);
  }
  return out;
}
