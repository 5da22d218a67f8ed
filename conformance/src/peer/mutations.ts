// The mutations of the invalid-packet vectors, redone on packets of a live connection.
// A vector says in words how its packet was damaged after sealing ("flip bit 3 of byte
// 74"); this reads those words back into a function, so that the runner can damage a
// packet sealed with the live keys in the same way. Unknown wording is an error: a new
// kind of vector must be taught here rather than silently skipped.
import { bitField, fieldOffset, spec, type MessageName } from '@qotp/spec';

export type Mutation = (packet: Uint8Array) => Uint8Array;

export class UnknownMutationError extends Error {
  override readonly name = 'UnknownMutationError';
}

const KEY_SIZE = 32;
const VERSION = bitField(spec.cryptoHeader, 'version');
const TYPE = bitField(spec.cryptoHeader, 'type');

const setBits = (byte: number, f: { shift: number; width: number }, value: number): number => {
  const mask = ((1 << f.width) - 1) << f.shift;
  return (byte & ~mask) | ((value << f.shift) & mask);
};
/** The crypto header byte with another version field (bit positions from the spec). */
export const withVersion = (header: number, version: number): number => setBits(header, VERSION, version);
/** The crypto header byte with another message type code. */
export const withType = (header: number, type: number): number => setBits(header, TYPE, type);

/**
 * `vectorPacket` is the vector's own damaged packet: a mutation that puts a special key
 * into the packet (a low-order point) copies it from there.
 */
export function parseMutation(text: string, message: MessageName, vectorPacket: Uint8Array): Mutation {
  let m: RegExpExecArray | null;
  if ((m = /^flip bit (\d) of byte (\d+)$/.exec(text))) {
    const bit = Number(m[1]);
    const byte = Number(m[2]);
    return (p) => {
      if (byte >= p.length) throw new UnknownMutationError(`byte ${byte} is beyond the ${p.length}-byte packet`);
      p[byte] = (p[byte] as number) ^ (1 << bit);
      return p;
    };
  }
  if ((m = /^truncate to (\d+) bytes$/.exec(text))) {
    const length = Number(m[1]);
    return (p) => p.slice(0, length);
  }
  if ((m = /^set the header byte to type (\d)$/.exec(text))) {
    const type = Number(m[1]);
    return (p) => {
      p[0] = withType(p[0] as number, type);
      return p;
    };
  }
  if ((m = /^set the version to (\d+)$/.exec(text))) {
    const version = Number(m[1]);
    return (p) => {
      p[0] = withVersion(p[0] as number, version);
      return p;
    };
  }
  if (text === 'append one zero byte') return (p) => Uint8Array.of(...p, 0);
  if ((m = /^replace the (initiator|responder) ephemeral key with the low-order point \S+$/.exec(text))) {
    const field = m[1] === 'initiator' ? 'pubKeyEpSnd' : 'pubKeyEpRcv';
    const at = fieldOffset(message, field);
    const point = vectorPacket.slice(at, at + KEY_SIZE);
    return (p) => {
      p.set(point, at);
      return p;
    };
  }
  throw new UnknownMutationError(`the runner does not know the mutation '${text}'`);
}
