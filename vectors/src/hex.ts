// Hex helpers for vector files (lower-case, no prefix).

export class HexError extends Error {
  override readonly name = 'HexError';
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) {
    throw new HexError(`not lower-case hex bytes: '${hex.length > 40 ? `${hex.slice(0, 40)}...` : hex}'`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export const toHex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
