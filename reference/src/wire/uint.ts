// Little-endian unsigned integers of 16, 24, 32, 48 and 64 bits, the only integer
// encodings QOTP uses (spec: byteOrder, clause wire.byte-order). Widths up to 48 bits
// fit a JS number exactly; 64-bit values (connection ids) are bigints.
import { QotpError, requireLength } from '../errors.js';

export type NumberWidth = 16 | 24 | 32 | 48;

function checkRange(value: number, bits: NumberWidth): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new QotpError('invalid-argument', `${value} does not fit an unsigned ${bits}-bit field`);
  }
}

/** Writes `value` as a `bits`-wide little-endian integer at `offset`; returns the bytes written. */
export function writeUint(buf: Uint8Array, offset: number, value: number, bits: NumberWidth): number {
  checkRange(value, bits);
  const size = bits / 8;
  requireLength(buf, offset + size, `uint${bits} at offset ${offset}`);
  // Division instead of shifts: JS shifts work on 32 bits only.
  let rest = value;
  for (let i = 0; i < size; i++) {
    buf[offset + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return size;
}

export function readUint(buf: Uint8Array, offset: number, bits: NumberWidth): number {
  const size = bits / 8;
  requireLength(buf, offset + size, `uint${bits} at offset ${offset}`);
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + (buf[offset + i] as number);
  return value;
}

export function writeUint64(buf: Uint8Array, offset: number, value: bigint): number {
  if (value < 0n || value >= 1n << 64n) {
    throw new QotpError('invalid-argument', `${value} does not fit an unsigned 64-bit field`);
  }
  requireLength(buf, offset + 8, `uint64 at offset ${offset}`);
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setBigUint64(offset, value, true);
  return 8;
}

export function readUint64(buf: Uint8Array, offset: number): bigint {
  requireLength(buf, offset + 8, `uint64 at offset ${offset}`);
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(offset, true);
}
