// X25519 key agreement (RFC 7748) through the selected crypto backend (backend.ts). QOTP
// keys its AEAD with the raw 32-byte output; there is no KDF (clause crypto.aead.cipher).
import { constant } from '@qotp/spec';
import { QotpError } from '../errors.js';
import { cryptoBackend } from './backend.js';

const KEY_SIZE = constant('PubKeySize');

function requireKey(key: Uint8Array, what: string): void {
  if (key.length !== KEY_SIZE) {
    throw new QotpError('invalid-argument', `${what} must be ${KEY_SIZE} bytes, got ${key.length}`);
  }
}

export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  requireKey(privateKey, 'X25519 private key');
  return cryptoBackend().x25519PublicKey(privateKey);
}

/**
 * X25519(privateKey, peerPublicKey). A low-order peer key, which would give the
 * all-zero secret, is refused with 'invalid-public-key' (clause crypto.keys.low-order).
 */
export function sharedSecret(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  requireKey(privateKey, 'X25519 private key');
  requireKey(peerPublicKey, 'X25519 public key');
  try {
    return cryptoBackend().x25519(privateKey, peerPublicKey);
  } catch {
    throw new QotpError('invalid-public-key', 'peer public key is of low order (the shared secret would be zero)');
  }
}
