// Sequence-number masking (clause crypto.sn.masking): the 6 SN bytes are XORed with
// XChaCha20 keystream under the shared secret, with the first 24 bytes of the sealed
// payload as nonce and block counter 1. Counter 1 because the Go original obtains the
// mask by XChaCha20-Poly1305-sealing the SN, which reserves block 0 for the Poly1305 key.
// Masking and unmasking are the same XOR.
import { xchacha20 } from '@noble/ciphers/chacha.js';
import { constant, spec } from '@qotp/spec';
import { requireLength } from '../errors.js';

const NONCE_SIZE = spec.snMasking.nonceSize; // 24
const SN_SIZE = constant('SnSize'); // 6

/** `counter` is the spec's; the conformance runner passes another to recognise a wrong mask. */
export function xorSnMask(secret: Uint8Array, sealed: Uint8Array, snBytes: Uint8Array, counter: number = spec.snMasking.counter): Uint8Array {
  requireLength(sealed, NONCE_SIZE, 'sealed payload (it provides the SN mask nonce)');
  requireLength(snBytes, SN_SIZE, 'sequence number');
  return xchacha20(secret, sealed.subarray(0, NONCE_SIZE), snBytes.subarray(0, SN_SIZE), undefined, counter);
}
