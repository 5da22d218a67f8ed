// Vectors for the little-endian integer codecs (clause wire.byte-order).
import { writeUint, writeUint64 } from '@qotp/reference';
import { toHex } from '../hex.js';
import type { UintFile, UintTest } from '../types.js';
import { vectorFile } from './envelope.js';

const WIDTHS = [16, 24, 32, 48, 64] as const;

function encode(bits: (typeof WIDTHS)[number], value: bigint): Uint8Array {
  const out = new Uint8Array(bits / 8);
  if (bits === 64) writeUint64(out, 0, value);
  else writeUint(out, 0, Number(value), bits);
  return out;
}

function cases(bits: number): [string, bigint, string][] {
  const max = (1n << BigInt(bits)) - 1n;
  // A value whose bytes are all different shows the byte order unambiguously.
  const ascending = BigInt(
    `0x${Array.from({ length: bits / 8 }, (_, i) => (bits / 8 - i).toString(16).padStart(2, '0')).join('')}`,
  );
  return [
    ['zero', 0n, 'Zero.'],
    ['one', 1n, 'One: the low byte comes first.'],
    ['byte-order', ascending, 'Distinct bytes 01, 02, ... from the lowest: encoded in ascending order.'],
    ['second-byte', 0x100n, '256: only the second byte is set.'],
    ['high-byte', 1n << BigInt(bits - 8), 'Only the highest byte is set (value 1 in it).'],
    ['top-bit', 1n << BigInt(bits - 1), 'Only the top bit is set.'],
    ['max-minus-one', max - 1n, 'One below the maximum.'],
    ['max', max, 'The maximum.'],
  ];
}

export function generateUint(): UintFile {
  const groups = WIDTHS.map((bits) => ({
    bits,
    tests: cases(bits)
      // u16: 0x100 is both 'second-byte' and 'high-byte'
      .filter(([, value], i, all) => all.findIndex(([, v]) => v === value) === i)
      .map(([name, value, comment]): UintTest => ({
        id: `uint.u${bits}.${name}`,
        comment,
        flags: [],
        clauses: ['wire.byte-order'],
        result: 'valid',
        value: value.toString(),
        encoded: toHex(encode(bits, value)),
      })),
  }));
  return vectorFile(
    'uint-codec',
    'QOTP little-endian unsigned integers',
    [
      'Each test: the unsigned integer `value` (decimal) written with `bits` bits is `encoded`; reading ' +
        '`encoded` gives `value`.',
    ],
    {},
    groups,
  );
}
