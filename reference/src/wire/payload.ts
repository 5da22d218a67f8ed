// The payload (transport) layer: what is inside every encrypted message.
//   header byte | ACK section (types 0, 2) | stream section (absent in ACK-only) | user data
// Sizes and bit positions come from the spec (payload.*); see SPEC.md "Payload layer".
import { bitField, constant, spec } from '@qotp/spec';
import { QotpError, requireLength } from '../errors.js';
import { decodeRcvWindow, encodeRcvWindow } from './rcv-window.js';
import { readUint, writeUint } from './uint.js';

export interface Ack {
  streamId: number;
  /** First acknowledged byte. */
  offset: number;
  /** Number of acknowledged bytes (uint16). */
  length: number;
  /** Advertised receive window in bytes; sent as a code, so it is rounded down on the wire. */
  window: number;
}

export interface StreamSection {
  streamId: number;
  offset: number;
  /** Empty for a PING or an empty CLOSE. */
  data: Uint8Array;
}

export interface Payload {
  isClose: boolean;
  ack: Ack | null;
  /**
   * null only in an ACK-only payload (and in the short CLOSE-with-ACK quirk, clause payload.decode.short-close-ack).
   */
  stream: StreamSection | null;
}

const VERSION = bitField(spec.payload.header, 'version');
const TYPE = bitField(spec.payload.header, 'type');
const WIDE = bitField(spec.payload.header, 'wideOffsets');
const NARROW_BYTES = spec.payload.offsetWidths.narrowBytes;
const WIDE_BYTES = spec.payload.offsetWidths.wideBytes;
const NARROW_MAX = spec.payload.offsetWidths.narrowMax;
const MIN_PAYLOAD = constant('MinProtoSize');

const typeCode = (isClose: boolean, hasAck: boolean): number => {
  const found = spec.payload.types.find((t) => t.isClose === isClose && t.hasAck === hasAck);
  if (found === undefined) throw new Error('spec.payload.types is incomplete');
  return found.code;
};

const fixedSize = (fields: typeof spec.payload.ackSection): number =>
  fields.reduce((sum, f) => sum + (typeof f.size === 'number' ? f.size : 0), 0);
// Fixed parts of each section; each also holds one offset of 3 or 6 bytes.
const ACK_FIXED = fixedSize(spec.payload.ackSection); // stream id + length + window code
const STREAM_FIXED = fixedSize(spec.payload.streamSection); // stream id

/** Bytes before the user data: header, ACK section if any, stream section if any. */
export function payloadOverhead(hasAck: boolean, wide: boolean, hasStream: boolean): number {
  const offsetBytes = wide ? WIDE_BYTES : NARROW_BYTES;
  return 1 + (hasAck ? ACK_FIXED + offsetBytes : 0) + (hasStream ? STREAM_FIXED + offsetBytes : 0);
}

/**
 * Shortest payload that carries an ACK section and a stream section with narrow offsets (18).
 * A decoder takes any payload with ACK below this length as ACK-only (clause payload.ack-only).
 */
export const ACK_WITH_STREAM_MIN = payloadOverhead(true, false, true);

function writeOffset(buf: Uint8Array, at: number, value: number, wide: boolean): number {
  return writeUint(buf, at, value, wide ? 48 : 24);
}

function readOffset(buf: Uint8Array, at: number, wide: boolean): number {
  return readUint(buf, at, wide ? 48 : 24);
}

// The ACK section and the stream section have the same layout in the next revision
// (next-payload.ts), which writes and reads them with these four functions.

/** Writes an ACK section at `at`; returns its size. */
export function writeAckSection(out: Uint8Array, at: number, ack: Ack, wide: boolean): number {
  let n = writeUint(out, at, ack.streamId, 32);
  n += writeOffset(out, at + n, ack.offset, wide);
  n += writeUint(out, at + n, ack.length, 16);
  out[at + n] = encodeRcvWindow(ack.window);
  return n + 1;
}

/** Reads an ACK section at `at` (its length checked by the caller). */
export function readAckSection(bytes: Uint8Array, at: number, wide: boolean): Ack {
  const offsetBytes = wide ? WIDE_BYTES : NARROW_BYTES;
  return {
    streamId: readUint(bytes, at, 32),
    offset: readOffset(bytes, at + 4, wide),
    length: readUint(bytes, at + 4 + offsetBytes, 16),
    window: decodeRcvWindow(bytes[at + 6 + offsetBytes] as number),
  };
}

/** Writes a stream section (stream id, offset, then the data) at `at`. */
export function writeStreamSection(out: Uint8Array, at: number, s: StreamSection, wide: boolean): void {
  const n = writeUint(out, at, s.streamId, 32) + writeOffset(out, at + 4, s.offset, wide);
  out.set(s.data, at + n);
}

/** Reads a stream section at `at`: everything after its header is data (its length checked by the caller). */
export function readStreamSection(bytes: Uint8Array, at: number, wide: boolean): StreamSection {
  const offsetBytes = wide ? WIDE_BYTES : NARROW_BYTES;
  return {
    streamId: readUint(bytes, at, 32),
    offset: readOffset(bytes, at + 4, wide),
    data: bytes.slice(at + 4 + offsetBytes),
  };
}

export function encodePayload(p: Payload): Uint8Array {
  if (p.stream === null && (p.ack === null || p.isClose)) {
    throw new QotpError('invalid-argument', 'only a non-CLOSE payload with an ACK may omit the stream section');
  }
  const wide = (p.stream?.offset ?? 0) > NARROW_MAX || (p.ack?.offset ?? 0) > NARROW_MAX;
  const dataLength = p.stream?.data.length ?? 0;
  const out = new Uint8Array(payloadOverhead(p.ack !== null, wide, p.stream !== null) + dataLength);

  out[0] =
    (constant('ProtoVersion') << VERSION.shift) |
    (typeCode(p.isClose, p.ack !== null) << TYPE.shift) |
    ((wide ? 1 : 0) << WIDE.shift);
  const at = 1 + (p.ack === null ? 0 : writeAckSection(out, 1, p.ack, wide));
  if (p.stream !== null) writeStreamSection(out, at, p.stream, wide);
  return out;
}

const field = (byte: number, f: { shift: number; width: number }): number => (byte >> f.shift) & ((1 << f.width) - 1);

export function decodePayload(bytes: Uint8Array): Payload {
  requireLength(bytes, MIN_PAYLOAD, 'payload');
  const header = bytes[0] as number;
  const version = field(header, VERSION);
  if (version !== constant('ProtoVersion')) {
    throw new QotpError('unsupported-version', `payload version ${version}, expected ${constant('ProtoVersion')}`);
  }
  const type = spec.payload.types.find((t) => t.code === field(header, TYPE));
  if (type === undefined) throw new Error('spec.payload.types is incomplete');
  const wide = field(header, WIDE) === 1;
  // The wire has no flag for "no stream section": a short payload with ACK is ACK-only.
  const hasStream = !(type.hasAck && bytes.length < ACK_WITH_STREAM_MIN);
  requireLength(
    bytes,
    payloadOverhead(type.hasAck, wide, hasStream),
    `${type.name} payload (${wide ? 48 : 24}-bit offsets)`,
  );

  const ack = type.hasAck ? readAckSection(bytes, 1, wide) : null;
  const at = payloadOverhead(type.hasAck, wide, false);
  return { isClose: type.isClose, ack, stream: hasStream ? readStreamSection(bytes, at, wide) : null };
}
