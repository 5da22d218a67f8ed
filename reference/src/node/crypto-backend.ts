// The crypto backend on node:crypto: OpenSSL's X25519 and ChaCha20-Poly1305, several
// times faster than plain JavaScript. A raw private key becomes an OpenSSL key object
// through its fixed PKCS#8 DER prefix (RFC 8410), a raw public key through a JWK, which
// OpenSSL reads some ten times faster than DER (about 12 us against 120 us here).
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  getCiphers,
  type KeyObject,
} from 'node:crypto';
import { nobleBackend, setCryptoBackend, type CryptoBackend } from '../crypto/backend.js';
import { QotpError } from '../errors.js';

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');
const TAG_SIZE = 16;

/**
 * Reading a private key costs some 350 us (OpenSSL's DER decoder), and each one is used
 * more than once - an ephemeral key for its public key and its secret, the identity key
 * for every 0-RTT packet - so the last few key objects are kept. A handshake flood at a
 * server was bound by this: two reads per InitSnd before, one now.
 */
const PRIVATE_KEYS_KEPT = 256;
const privateKeys = new Map<string, KeyObject>();

function privateKeyObject(raw: Uint8Array): KeyObject {
  const id = Buffer.from(raw).toString('base64');
  let key = privateKeys.get(id);
  if (key === undefined) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
    privateKeys.set(id, key);
    if (privateKeys.size > PRIVATE_KEYS_KEPT) privateKeys.delete(privateKeys.keys().next().value as string);
  }
  return key;
}

const publicKeyObject = (raw: Uint8Array): KeyObject =>
  createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export const nodeCryptoBackend: CryptoBackend = {
  name: 'node',
  x25519PublicKey(privateKey) {
    const der = createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' });
    return bytes(der.subarray(SPKI_X25519.length));
  },
  // OpenSSL refuses a low-order peer key itself: the derivation fails on an all-zero result.
  x25519: (privateKey, peerPublicKey) =>
    bytes(diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: publicKeyObject(peerPublicKey) })),
  seal(key, nonce, aad, plaintext) {
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    return bytes(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
  },
  open(key, nonce, aad, sealed) {
    if (sealed.length < TAG_SIZE) throw new Error('shorter than the tag');
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
    decipher.setAAD(aad, { plaintextLength: sealed.length - TAG_SIZE });
    return bytes(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE)), decipher.final()]));
  },
};

/** Whether this Node's OpenSSL offers ChaCha20-Poly1305 (X25519 is in every supported release). */
export const nodeCryptoAvailable = (): boolean => getCiphers().includes('chacha20-poly1305');

export type CryptoBackendName = 'node' | 'noble';

/**
 * Selects the crypto backend by name - 'node' (OpenSSL) or 'noble' (JavaScript) - or, with
 * none, the fastest available, and returns it. For the command lines' --crypto option.
 */
export function selectCryptoBackend(name?: string): CryptoBackend {
  if (name !== undefined && name !== 'node' && name !== 'noble')
    throw new QotpError('invalid-argument', `crypto backend must be node or noble, got '${name}'`);
  if (name === 'node' && !nodeCryptoAvailable())
    throw new QotpError('invalid-argument', "this Node's OpenSSL has no chacha20-poly1305: use the noble backend");
  const backend = name === 'noble' || !nodeCryptoAvailable() ? nobleBackend : nodeCryptoBackend;
  setCryptoBackend(backend);
  return backend;
}
