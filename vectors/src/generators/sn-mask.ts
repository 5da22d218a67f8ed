// Vectors for the sequence-number mask's keystream, step by step (clauses crypto.sn.xchacha20
// and crypto.sn.masking): HChaCha20's subkey, then the 6 masked bytes of a sequence number.
// The first HChaCha20 test is the published one of draft-irtf-cfrg-xchacha-03 (2.2.1), so
// that the file is anchored outside this project; the others come from a seeded generator.
import { hchacha20, readUint, seededBytes, writeUint, xorSnMask } from '@qotp/reference';
import { constant } from '@qotp/spec';
import { toHex } from '../hex.js';
import type { SnMaskFile, SnMaskTest } from '../types.js';
import { vectorFile } from './envelope.js';

const DRAFT_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const DRAFT_INPUT = Uint8Array.from([0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0, 0x31, 0x41, 0x59, 0x27]);

function hchachaTest(id: string, comment: string, key: Uint8Array, input: Uint8Array): SnMaskTest {
  return {
    id: `mask.hchacha20.${id}`,
    comment,
    flags: [],
    clauses: ['crypto.sn.xchacha20'],
    result: 'valid',
    key: toHex(key),
    nonce: toHex(input),
    subkey: toHex(hchacha20(key, input)),
  };
}

function maskTest(id: string, comment: string, key: Uint8Array, nonce: Uint8Array, sn: number): SnMaskTest {
  const snBytes = new Uint8Array(constant('SnSize'));
  writeUint(snBytes, 0, sn, 48);
  return {
    id: `mask.sn.${id}`,
    comment,
    flags: [],
    clauses: ['crypto.sn.xchacha20', 'crypto.sn.masking'],
    result: 'valid',
    key: toHex(key),
    nonce: toHex(nonce),
    subkey: toHex(hchacha20(key, nonce.subarray(0, 16))),
    sn: String(sn),
    masked: toHex(xorSnMask(key, nonce, snBytes)),
  };
}

export function generateSnMask(): SnMaskFile {
  const bytes = seededBytes(0x5e9a11);
  const hchacha = [
    hchachaTest(
      'draft-section-2-2-1',
      'The HChaCha20 test vector of draft-irtf-cfrg-xchacha-03, section 2.2.1.',
      DRAFT_KEY,
      DRAFT_INPUT,
    ),
    hchachaTest('zero', 'All-zero key and input.', new Uint8Array(32), new Uint8Array(16)),
    ...[1, 2, 3, 4].map((i) => hchachaTest(`random-${i}`, 'Seeded key and input.', bytes(32), bytes(16))),
  ];
  const masks = [
    maskTest('sn-0', 'Sequence number 0: the masked bytes are the keystream itself.', bytes(32), bytes(24), 0),
    maskTest('sn-1', 'Sequence number 1.', bytes(32), bytes(24), 1),
    maskTest('sn-max', 'The largest sequence number, 2^48-1.', bytes(32), bytes(24), 2 ** 48 - 1),
    ...[1, 2, 3].map((i) =>
      maskTest(
        `random-${i}`,
        'Seeded key, nonce and sequence number.',
        bytes(32),
        bytes(24),
        readUint(bytes(6), 0, 48),
      ),
    ),
  ];
  return vectorFile(
    'sn-mask',
    'QOTP sequence-number mask: HChaCha20 subkey and XChaCha20 keystream at block counter 1',
    [
      'hchacha20: HChaCha20(key, nonce) is `subkey` (key 32 bytes, nonce the 16-byte input).',
      'sn-mask: `nonce` is the first 24 bytes of the sealed payload; `subkey` = HChaCha20(key, nonce[0..16]); ' +
        'ChaCha20 (RFC 8439) under `subkey` with the 12-byte nonce 00000000 || nonce[16..24], block counter 1, ' +
        'XORed over the 6 little-endian bytes of `sn`, gives `masked`.',
    ],
    {},
    [
      { kind: 'hchacha20', tests: hchacha },
      { kind: 'sn-mask', tests: masks },
    ],
  );
}
