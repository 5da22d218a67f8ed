// How an invalid-packet vector was damaged after sealing, as data: any implementation (and
// the conformance runner, on packets sealed with live keys) can redo it without parsing the
// English `mutation` text, which is derived from it. The generator makes every damaged
// vector with applyDamage, so the byte-identical regeneration test covers this code.
import { bitField, spec } from '@qotp/spec';

export type Damage =
  /** XOR one bit: bit 0 is the least significant. */
  | { op: 'flip-bit'; byte: number; bit: number }
  /** Keep the first `length` bytes. */
  | { op: 'truncate'; length: number }
  /** Set the crypto header's type field, keeping its version field. */
  | { op: 'set-type'; value: number }
  /** Set the crypto header's version field, keeping its type field. */
  | { op: 'set-version'; value: number }
  /** Append bytes (hex) after the end. */
  | { op: 'append'; bytes: string }
  /** Overwrite bytes (hex) at `offset`, e.g. a public key with a low-order point. */
  | { op: 'replace'; offset: number; bytes: string; what: string }
  /**
   * Not a byte edit: seal `plaintext` (hex) again under the packet's own cleartext header,
   * with the secret, sequence number and epoch the packet was sealed with.
   */
  | { op: 're-seal'; plaintext: string; what: string };

/** Seals a plaintext under a packet's header with that packet's keys: needed for 're-seal' only. */
export type Reseal = (packet: Uint8Array, plaintext: Uint8Array) => Uint8Array;

export class DamageError extends Error {
  override readonly name = 'DamageError';
}

const VERSION = bitField(spec.cryptoHeader, 'version');
const TYPE = bitField(spec.cryptoHeader, 'type');

const setField = (byte: number, f: { shift: number; width: number }, value: number): number => {
  const mask = ((1 << f.width) - 1) << f.shift;
  return (byte & ~mask) | ((value << f.shift) & mask);
};
/** The crypto header byte with another version field (bit positions from the spec). */
export const withVersion = (header: number, version: number): number => setField(header, VERSION, version);
/** The crypto header byte with another message type code. */
export const withType = (header: number, type: number): number => setField(header, TYPE, type);

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));

/** A damaged copy of `packet` (the input is not changed). */
export function applyDamage(packet: Uint8Array, d: Damage, reseal?: Reseal): Uint8Array {
  const p = packet.slice();
  const at = (byte: number) => {
    if (byte >= p.length) throw new DamageError(`${d.op}: byte ${byte} is beyond the ${p.length}-byte packet`);
    return byte;
  };
  switch (d.op) {
    case 'flip-bit':
      p[at(d.byte)] = (p[d.byte] as number) ^ (1 << d.bit);
      return p;
    case 'truncate':
      return p.slice(0, d.length);
    case 'set-type':
      p[at(0)] = withType(p[0] as number, d.value);
      return p;
    case 'set-version':
      p[at(0)] = withVersion(p[0] as number, d.value);
      return p;
    case 'append':
      return Uint8Array.from([...p, ...fromHex(d.bytes)]);
    case 'replace': {
      const bytes = fromHex(d.bytes);
      at(d.offset + bytes.length - 1);
      p.set(bytes, d.offset);
      return p;
    }
    case 're-seal':
      if (reseal === undefined) throw new DamageError("'re-seal' needs the packet's keys: pass a reseal function");
      return reseal(p, fromHex(d.plaintext));
  }
}

/** The English description that vectors carry beside the damage (`mutation`). */
export function describeDamage(d: Damage): string {
  switch (d.op) {
    case 'flip-bit':
      return `flip bit ${d.bit} of byte ${d.byte}`;
    case 'truncate':
      return `truncate to ${d.length} bytes`;
    case 'set-type':
      return `set the header byte to type ${d.value}`;
    case 'set-version':
      return `set the version to ${d.value}`;
    case 'append':
      return d.bytes === '00' ? 'append one zero byte' : `append the bytes ${d.bytes}`;
    case 'replace':
    case 're-seal':
      return d.what;
  }
}
