// The two primitives QOTP needs beyond the SN mask - X25519 and ChaCha20-Poly1305 - behind
// one small interface, so that a platform can supply a faster implementation than the
// portable JavaScript one. @noble is the default everywhere; the Node adapter offers
// OpenSSL's through node:crypto (node/crypto-backend.ts). Both must give the same bytes:
// the vector tests run against each.
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';

export interface CryptoBackend {
  readonly name: string;
  /** X25519 with the base point: the public key of a 32-byte private key. */
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  /** X25519(privateKey, peerPublicKey); throws for a low-order peer key (all-zero result). */
  x25519(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array;
  /** ChaCha20-Poly1305 (RFC 8439): ciphertext || 16-byte tag. */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Opens ciphertext || tag; throws when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array;
}

/** @noble/curves and @noble/ciphers: plain JavaScript, runs anywhere. */
export const nobleBackend: CryptoBackend = {
  name: 'noble',
  x25519PublicKey: (privateKey) => x25519.getPublicKey(privateKey),
  x25519: (privateKey, peerPublicKey) => x25519.getSharedSecret(privateKey, peerPublicKey),
  seal: (key, nonce, aad, plaintext) => chacha20poly1305(key, nonce, aad).encrypt(plaintext),
  open: (key, nonce, aad, sealed) => chacha20poly1305(key, nonce, aad).decrypt(sealed),
};

let current: CryptoBackend = nobleBackend;

/** The backend every key agreement and AEAD operation of this module instance uses. */
export const cryptoBackend = (): CryptoBackend => current;

/** Selects the backend for all later operations (per thread: a worker chooses its own). */
export function setCryptoBackend(backend: CryptoBackend): void {
  current = backend;
}
