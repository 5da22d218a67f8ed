// Sequence-number masking (clauses crypto.sn.masking, crypto.sn.xchacha20): the 6 SN bytes
// are XORed with XChaCha20 keystream under the shared secret, with the first 24 bytes of the
// sealed payload as nonce and block counter 1. Counter 1 because the Go original obtains the
// mask by XChaCha20-Poly1305-sealing the SN, which reserves block 0 for the Poly1305 key.
// XChaCha20 is HChaCha20 of the key and the nonce's first 16 bytes (the subkey), then
// ChaCha20 (RFC 8439) under that subkey with 4 zero bytes and the nonce's last 8 bytes as
// its 12-byte nonce. Masking and unmasking are the same XOR.
import { chacha20 } from '@noble/ciphers/chacha.js';
import { constant, spec } from '@qotp/spec';
import { requireLength } from '../errors.js';
import { hchacha20 } from './hchacha20.js';

const NONCE_SIZE = spec.snMasking.nonceSize; // 24
const SN_SIZE = constant('SnSize'); // 6

/** The 12-byte ChaCha20 nonce of XChaCha20: 4 zero bytes, then bytes 16..23 of the 24-byte nonce. */
function chachaNonce(nonce: Uint8Array): Uint8Array {
  const out = new Uint8Array(12);
  out.set(nonce.subarray(16, 24), 4);
  return out;
}

/** `counter` is the spec's; the conformance runner passes another to recognise a wrong mask. */
export function xorSnMask(
  secret: Uint8Array,
  sealed: Uint8Array,
  snBytes: Uint8Array,
  counter: number = spec.snMasking.counter,
): Uint8Array {
  requireLength(sealed, NONCE_SIZE, 'sealed payload (it provides the SN mask nonce)');
  requireLength(snBytes, SN_SIZE, 'sequence number');
  const nonce = sealed.subarray(0, NONCE_SIZE);
  return chacha20(
    hchacha20(secret, nonce.subarray(0, 16)),
    chachaNonce(nonce),
    snBytes.subarray(0, SN_SIZE),
    undefined,
    counter,
  );
}
