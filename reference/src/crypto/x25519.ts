// X25519 key agreement (RFC 7748) on @noble/curves. QOTP keys its AEAD with the raw
// 32-byte output; there is no KDF (clause crypto.aead.cipher).
import { x25519 } from '@noble/curves/ed25519.js';
import { constant } from '@qotp/spec';
import { QotpError } from '../errors.js';

const KEY_SIZE = constant('PubKeySize');

function requireKey(key: Uint8Array, what: string): void {
  if (key.length !== KEY_SIZE) {
    throw new QotpError('invalid-argument', `${what} must be ${KEY_SIZE} bytes, got ${key.length}`);
  }
}

export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  requireKey(privateKey, 'X25519 private key');
  return x25519.getPublicKey(privateKey);
}

/**
 * X25519(privateKey, peerPublicKey). A low-order peer key, which would give the
 * all-zero secret, is refused with 'invalid-public-key' (clause crypto.keys.low-order).
 */
export function sharedSecret(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  requireKey(privateKey, 'X25519 private key');
  requireKey(peerPublicKey, 'X25519 public key');
  try {
    return x25519.getSharedSecret(privateKey, peerPublicKey);
  } catch {
    throw new QotpError('invalid-public-key', 'peer public key is of low order (the shared secret would be zero)');
  }
}
