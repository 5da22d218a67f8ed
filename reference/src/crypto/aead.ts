// ChaCha20-Poly1305 (RFC 8439) seal and open on @noble/ciphers, with failures
// turned into QotpError so callers never see a library exception.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { QotpError } from '../errors.js';

/** Returns ciphertext || 16-byte tag. */
export function seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return chacha20poly1305(key, nonce, aad).encrypt(plaintext);
}

/** Opens ciphertext || tag; throws 'authentication-failed' when the tag does not verify. */
export function open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  try {
    return chacha20poly1305(key, nonce, aad).decrypt(sealed);
  } catch {
    throw new QotpError('authentication-failed', 'Poly1305 tag does not verify');
  }
}
