import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { chacha20, xchacha20, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { constant } from '@qotp/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCryptoBackend } from '../src/node/crypto-backend.js';
import {
  buildNonce,
  connIdOf,
  decodeData,
  encodeData,
  hchacha20,
  epochsToTry,
  nobleBackend,
  open,
  openPacket,
  publicKeyOf,
  QotpError,
  receivePacket,
  seal,
  sealPacket,
  setCryptoBackend,
  sharedSecret,
  xorSnMask,
  writeUint,
  type ReceiverContext,
} from '../src/index.js';
import { hex, prng, qotpErrorOf, toHex } from './helpers.js';

// Every backend must give the same bytes: the portable @noble one and node:crypto's OpenSSL.
describe.each([nobleBackend, nodeCryptoBackend].map((b) => [b.name, b] as const))('%s backend', (_, backend) => {
  beforeAll(() => setCryptoBackend(backend));
  afterAll(() => setCryptoBackend(nobleBackend));

  describe('X25519', () => {
    it('matches RFC 7748 section 6.1', () => {
      const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
      const bob = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
      expect(toHex(publicKeyOf(alice))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
      expect(toHex(publicKeyOf(bob))).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
      expect(toHex(sharedSecret(alice, publicKeyOf(bob)))).toBe(
        '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
      );
    });

    it('agrees with node:crypto (OpenSSL) on random keys', () => {
      const random = prng(3);
      const pkcs8 = (raw: Uint8Array) =>
        createPrivateKey({
          key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), raw]),
          format: 'der',
          type: 'pkcs8',
        });
      const spki = (raw: Uint8Array) =>
        createPublicKey({
          key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), raw]),
          format: 'der',
          type: 'spki',
        });
      for (let i = 0; i < 20; i++) {
        const a = random(32);
        const b = random(32);
        const openssl = diffieHellman({ privateKey: pkcs8(a), publicKey: spki(publicKeyOf(b)) });
        expect(toHex(sharedSecret(a, publicKeyOf(b)))).toBe(openssl.toString('hex'));
      }
    });

    it('refuses low-order public keys and wrong sizes with typed errors', () => {
      const key = prng(1)(32);
      expect(qotpErrorOf(() => sharedSecret(key, new Uint8Array(32)))).toBe('invalid-public-key');
      expect(qotpErrorOf(() => sharedSecret(key, hex(`01${'00'.repeat(31)}`)))).toBe('invalid-public-key');
      expect(qotpErrorOf(() => sharedSecret(key, new Uint8Array(31)))).toBe('invalid-argument');
      expect(qotpErrorOf(() => publicKeyOf(new Uint8Array(33)))).toBe('invalid-argument');
    });
  });

  describe('ChaCha20-Poly1305', () => {
    it('agrees with node:crypto (OpenSSL) both ways', () => {
      const random = prng(9);
      for (let i = 0; i < 50; i++) {
        const [key, nonce, aad, plaintext] = [random(32), random(12), random(i % 20), random(i * 7)];
        const sealed = seal(key, nonce, aad, plaintext);
        const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 }).setAAD(aad, {
          plaintextLength: plaintext.length,
        });
        const expected = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
        expect(toHex(sealed)).toBe(expected.toString('hex'));
        const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 }).setAAD(aad, {
          plaintextLength: plaintext.length,
        });
        decipher.setAuthTag(sealed.subarray(sealed.length - 16));
        expect(toHex(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]))).toBe(
          toHex(plaintext),
        );
        expect(open(key, nonce, aad, sealed)).toEqual(plaintext);
      }
    });

    it('reports a bad tag as authentication-failed', () => {
      const sealed = seal(new Uint8Array(32), new Uint8Array(12), new Uint8Array(0), new Uint8Array(10));
      sealed[3] = (sealed[3] as number) ^ 1;
      expect(qotpErrorOf(() => open(new Uint8Array(32), new Uint8Array(12), new Uint8Array(0), sealed))).toBe(
        'authentication-failed',
      );
    });
  });
});

describe('nonce', () => {
  it('puts epoch and sn little-endian in two 6-byte halves, direction in the top bit of byte 0', () => {
    expect(toHex(buildNonce(0x0102, 0x030405, false))).toBe('020100000000050403000000');
    expect(toHex(buildNonce(0x0102, 0x030405, true))).toBe('820100000000050403000000');
  });

  it('overlays epoch bit 7 with the direction bit (erratum E10)', () => {
    for (const byInitiator of [true, false])
      expect(buildNonce(128, 9, byInitiator)).toEqual(buildNonce(0, 9, byInitiator));
    expect(buildNonce(256, 9, true)).not.toEqual(buildNonce(0, 9, true));
  });
});

describe('sequence-number mask', () => {
  it('equals the first 6 bytes of XChaCha20-Poly1305 sealing the SN (how the Go original computes it)', () => {
    const random = prng(17);
    for (let i = 0; i < 20; i++) {
      const [secret, sealed, sn] = [random(32), random(24 + i), random(6)];
      const viaAead = xchacha20poly1305(secret, sealed.subarray(0, 24)).encrypt(sn).subarray(0, 6);
      expect(toHex(xorSnMask(secret, sealed, sn))).toBe(toHex(viaAead));
      expect(xorSnMask(secret, sealed, xorSnMask(secret, sealed, sn))).toEqual(sn);
    }
  });

  it('needs 24 bytes of sealed payload', () => {
    expect(qotpErrorOf(() => xorSnMask(new Uint8Array(32), new Uint8Array(23), new Uint8Array(6)))).toBe('too-short');
  });
});

describe('HChaCha20', () => {
  it('matches the test vector of draft-irtf-cfrg-xchacha-03, section 2.2.1', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const input = hex('000000090000004a0000000031415927');
    expect(toHex(hchacha20(key, input))).toBe('82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
  });

  it(
    "is the subkey of noble's XChaCha20: ChaCha20 under it, nonce 4 zero bytes and the last 8, gives the same " +
      'keystream',
    () => {
      const random = prng(29);
      for (let i = 0; i < 20; i++) {
        const [key, nonce] = [random(32), random(24)];
        const chachaNonce = new Uint8Array(12);
        chachaNonce.set(nonce.subarray(16), 4);
        const zeros = new Uint8Array(64);
        expect(toHex(chacha20(hchacha20(key, nonce.subarray(0, 16)), chachaNonce, zeros, undefined, 1))).toBe(
          toHex(xchacha20(key, nonce, zeros, undefined, 1)),
        );
      }
    },
  );

  it('refuses a key or input of the wrong size with a typed error', () => {
    expect(qotpErrorOf(() => hchacha20(new Uint8Array(31), new Uint8Array(16)))).toBe('invalid-argument');
    expect(qotpErrorOf(() => hchacha20(new Uint8Array(32), new Uint8Array(24)))).toBe('invalid-argument');
  });
});

describe('sealPacket / openPacket', () => {
  const secret = prng(21)(32);
  const header = Uint8Array.of(0x80, 1, 2, 3, 4, 5, 6, 7, 8);
  const payload = new TextEncoder().encode('eight or more bytes');

  it('tries the current epoch, the one before (when above 0) and the one after', () => {
    expect(epochsToTry(0)).toEqual([0, 1]);
    expect(epochsToTry(5)).toEqual([5, 4, 6]);
    for (const [sealedIn, receiverAt, accepted] of [
      [4, 5, true],
      [6, 5, true],
      [7, 5, false],
      [3, 5, false],
      [1, 0, true],
    ] as const) {
      const packet = sealPacket(header, payload, { secret, sn: 3, epoch: sealedIn, sealedByInitiator: true });
      const run = () => openPacket(packet, header.length, { secret, epoch: receiverAt, sealedByInitiator: true });
      if (accepted) expect(run()).toMatchObject({ sn: 3, epoch: sealedIn });
      else expect(qotpErrorOf(run)).toBe('authentication-failed');
    }
  });

  it('refuses to seal fewer than MinProtoSize payload bytes', () => {
    expect(
      qotpErrorOf(() =>
        sealPacket(header, new Uint8Array(constant('MinProtoSize') - 1), {
          secret,
          sn: 0,
          epoch: 0,
          sealedByInitiator: false,
        }),
      ),
    ).toBe('invalid-argument');
  });

  it('detects every single-bit change of a Data packet', () => {
    const connId = 0x1122334455667788n;
    const packet = encodeData({ connId, secret, sn: 42, epoch: 0, sealedByInitiator: false, payload });
    expect(decodeData(packet, secret, 0, false).payload).toEqual(payload);
    for (let bit = 0; bit < packet.length * 8; bit++) {
      const changed = packet.slice();
      changed[bit >> 3] = (changed[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(qotpErrorOf(() => decodeData(changed, secret, 0, false))).toBe('authentication-failed');
    }
  });
});

describe('receivePacket', () => {
  it('answers any datagram with a result or a QotpError, never another exception', () => {
    const random = prng(29);
    const secret = random(32);
    const ephemeral = random(32);
    const ctx: ReceiverContext = {
      role: 'responder',
      mtu: 1400,
      identityPrivateKey: random(32),
      ephemeralPrivateKey: ephemeral,
      connection: { connId: connIdOf(publicKeyOf(ephemeral)), secret, epoch: 0 },
    };
    const codes = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const length = [0, 38, 39, 60, 120, 1399, 1400, 1500][i % 8] as number;
      const datagram = random(length);
      if (i % 3 === 0 && length > 9) {
        datagram[0] = (i % 5) << 5; // a valid version and type, so the decoders get their turn
        writeUint(datagram, 1, 0, 24);
      }
      try {
        receivePacket(datagram, ctx);
        codes.add('accepted');
      } catch (e) {
        expect(e).toBeInstanceOf(QotpError);
        codes.add((e as QotpError).code);
      }
    }
    // Random 1400-byte InitSnds are well-formed, the rest is rejected for several reasons.
    expect([...codes].sort()).toEqual(
      expect.arrayContaining(['accepted', 'authentication-failed', 'too-short', 'unknown-type', 'unsupported-version']),
    );
  });
});
