// Identity keys the way the Go original's options make them: WithSeed uses 32 bytes
// as the X25519 private key, WithSeedStrHex the same from hex, WithSeedStr the
// SHA-256 of a string (clause crypto.keys.x25519).
import { createHash, randomBytes } from 'node:crypto';
import { QotpError } from '../errors.js';

export type IdentityOption = { seed: Uint8Array } | { seedHex: string } | { seedString: string } | { random: true };

export function identityPrivateKey(option: IdentityOption): Uint8Array {
  if ('seed' in option) {
    if (option.seed.length !== 32)
      throw new QotpError('invalid-argument', `a seed must be 32 bytes, got ${option.seed.length}`);
    return option.seed.slice();
  }
  if ('seedHex' in option) {
    const hex = option.seedHex.replace(/^0x/, '');
    if (!/^[0-9a-fA-F]{64}$/.test(hex))
      throw new QotpError('invalid-argument', 'a hex seed must be 64 hex digits (32 bytes)');
    return new Uint8Array(Buffer.from(hex, 'hex'));
  }
  if ('seedString' in option) return new Uint8Array(createHash('sha256').update(option.seedString).digest());
  return new Uint8Array(randomBytes(32));
}

export function parsePublicKey(hex: string): Uint8Array {
  const clean = hex.replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(clean))
    throw new QotpError('invalid-argument', `a public key must be 64 hex digits, got '${hex}'`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}
