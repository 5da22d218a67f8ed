// The payload layer of the next revision (spec.next: the upstream main branch, not released),
// beside v0.2.19's in payload.ts. It has no version field:
//   flags byte | ACK section (flag) | MTU value | new key | peer's new key | stream header | data
// the flags byte holds hasAck, wideOffsets, needsRetransmission and a 3-bit type that says
// which of MTU value and keys follow and whether the packet closes its stream. The stream
// header is left out only on a data-type packet with an ACK and nothing after it. Layouts
// and bit positions come from spec.next.payload; see SPEC.md "Next revision".
import { spec, type BitField } from '@qotp/spec';
import { QotpError, requireLength } from '../errors.js';
import {
  readAckSection,
  readStreamSection,
  writeAckSection,
  writeStreamSection,
  type Ack,
  type StreamSection,
} from './payload.js';
import { readUint, writeUint } from './uint.js';

export interface NextPayload {
  /** The type code (spec.next.payload.types): data, MTU update, close, key update... */
  type: number;
  /** Bit 2: set by a sender on a retransmission, never read by a receiver. */
  needsRetransmission: boolean;
  ack: Ack | null;
  /** The sender's largest payload, in an MTU update. */
  mtu: number | null;
  /** The sender's new ephemeral public key, in a key update. */
  keyUpdate: Uint8Array | null;
  /** The peer's new key, echoed in a key-update ACK. */
  keyUpdateAck: Uint8Array | null;
  /** null only in a data-type packet that carries an ACK and nothing else. */
  stream: StreamSection | null;
}

const layout = () => {
  const next = spec.next;
  if (next === undefined) throw new Error('the spec describes no next revision');
  return next.payload;
};
const bitOf = (name: string): BitField => {
  const found = layout().header.bits.find((b) => b.name === name);
  if (found === undefined) throw new Error(`spec.next.payload.header has no bit '${name}'`);
  return found;
};
const get = (byte: number, b: BitField) => (byte >> b.shift) & ((1 << b.width) - 1);
const typeOf = (code: number) => {
  const found = layout().types.find((t) => t.code === code);
  if (found === undefined) throw new QotpError('invalid-argument', `no payload type ${code} in the next revision`);
  return found;
};

const KEY = 32;
const NARROW_BYTES = spec.payload.offsetWidths.narrowBytes;
const WIDE_BYTES = spec.payload.offsetWidths.wideBytes;
const NARROW_MAX = spec.payload.offsetWidths.narrowMax;
/** Stream id, length and window code of an ACK section; its offset is 3 or 6 bytes more. */
const ACK_FIXED = 4 + 2 + 1;

/** Whether the stream header is on the wire: always, except on a data-type packet whose ACK ends it. */
const hasStreamHeader = (type: number, hasAck: boolean, more: boolean): boolean => type !== 0 || !hasAck || more;

export function encodeNextPayload(p: NextPayload): Uint8Array {
  const t = typeOf(p.type);
  const header = hasStreamHeader(p.type, p.ack !== null, p.stream !== null);
  if (header && p.stream === null)
    throw new QotpError(
      'invalid-argument',
      `a ${t.name} payload${p.ack === null ? ' without ACK' : ''} needs a stream`,
    );
  if (t.mtuUpdate !== (p.mtu !== null))
    throw new QotpError('invalid-argument', `the MTU value goes with type MTU update`);
  if (t.keyUpdate !== (p.keyUpdate !== null) || t.keyUpdateAck !== (p.keyUpdateAck !== null))
    throw new QotpError('invalid-argument', `the keys of a ${t.name} payload do not match its type`);
  const wide = (p.stream?.offset ?? 0) > NARROW_MAX || (p.ack?.offset ?? 0) > NARROW_MAX;
  const offsetBytes = wide ? WIDE_BYTES : NARROW_BYTES;
  const size =
    1 +
    (p.ack === null ? 0 : ACK_FIXED + offsetBytes) +
    (p.mtu === null ? 0 : layout().mtuValueSize) +
    (p.keyUpdate === null ? 0 : KEY) +
    (p.keyUpdateAck === null ? 0 : KEY) +
    (header ? 4 + offsetBytes + (p.stream?.data.length ?? 0) : 0);
  const out = new Uint8Array(size);
  out[0] =
    ((p.ack === null ? 0 : 1) << bitOf('hasAck').shift) |
    ((wide ? 1 : 0) << bitOf('wideOffsets').shift) |
    ((p.needsRetransmission ? 1 : 0) << bitOf('needsRetransmission').shift) |
    (p.type << bitOf('type').shift);
  let at = 1 + (p.ack === null ? 0 : writeAckSection(out, 1, p.ack, wide));
  if (p.mtu !== null) at += writeUint(out, at, p.mtu, 16);
  for (const key of [p.keyUpdate, p.keyUpdateAck]) {
    if (key === null) continue;
    if (key.length !== KEY) throw new QotpError('invalid-argument', `a new key has ${KEY} bytes, got ${key.length}`);
    out.set(key, at);
    at += KEY;
  }
  if (header && p.stream !== null) writeStreamSection(out, at, p.stream, wide);
  return out;
}

/**
 * Decodes a next-revision payload. Unlike the Go original at 0530ac8, which checks a wide
 * ACK section against the narrow size and then reads past the end (a panic on an 11-13 byte
 * payload with ACK and wide offsets), every section is checked against its own size.
 */
export function decodeNextPayload(bytes: Uint8Array): NextPayload {
  requireLength(bytes, 1, 'next-revision payload header');
  const flags = bytes[0] as number;
  const type = get(flags, bitOf('type'));
  const t = typeOf(type);
  const hasAck = get(flags, bitOf('hasAck')) === 1;
  const wide = get(flags, bitOf('wideOffsets')) === 1;
  const offsetBytes = wide ? WIDE_BYTES : NARROW_BYTES;
  let at = 1;
  let ack: Ack | null = null;
  if (hasAck) {
    requireLength(bytes, at + ACK_FIXED + offsetBytes, 'ACK section');
    ack = readAckSection(bytes, at, wide);
    at += ACK_FIXED + offsetBytes;
  }
  let mtu: number | null = null;
  if (t.mtuUpdate) {
    mtu = readUint(bytes, at, 16);
    at += layout().mtuValueSize;
  }
  const key = (present: boolean, what: string): Uint8Array | null => {
    if (!present) return null;
    requireLength(bytes, at + KEY, what);
    at += KEY;
    return bytes.slice(at - KEY, at);
  };
  const keyUpdate = key(t.keyUpdate, 'new key');
  const keyUpdateAck = key(t.keyUpdateAck, "peer's new key");
  let stream: StreamSection | null = null;
  if (hasStreamHeader(type, hasAck, bytes.length > at)) {
    requireLength(bytes, at + 4 + offsetBytes, 'stream header');
    stream = readStreamSection(bytes, at, wide);
  }
  return {
    type,
    needsRetransmission: get(flags, bitOf('needsRetransmission')) === 1,
    ack,
    mtu,
    keyUpdate,
    keyUpdateAck,
    stream,
  };
}
