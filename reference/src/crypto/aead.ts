// ChaCha20-Poly1305 (RFC 8439) seal and open through the selected crypto backend, with
// failures turned into QotpError so callers never see a library exception.
import { QotpError } from '../errors.js';
import { cryptoBackend } from './backend.js';

/** Returns ciphertext || 16-byte tag. */
export function seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return cryptoBackend().seal(key, nonce, aad, plaintext);
}

/** Opens ciphertext || tag; throws 'authentication-failed' when the tag does not verify. */
export function open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  try {
    return cryptoBackend().open(key, nonce, aad, sealed);
  } catch {
    throw new QotpError('authentication-failed', 'Poly1305 tag does not verify');
  }
}
