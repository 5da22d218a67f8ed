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
  let at = 1;
  if (p.ack !== null) {
    at += writeUint(out, at, p.ack.streamId, 32);
    at += writeOffset(out, at, p.ack.offset, wide);
    at += writeUint(out, at, p.ack.length, 16);
    out[at++] = encodeRcvWindow(p.ack.window);
  }
  if (p.stream !== null) {
    at += writeUint(out, at, p.stream.streamId, 32);
    at += writeOffset(out, at, p.stream.offset, wide);
    out.set(p.stream.data, at);
  }
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

  let at = 1;
  let ack: Ack | null = null;
  if (type.hasAck) {
    const streamId = readUint(bytes, at, 32);
    at += 4;
    const offset = readOffset(bytes, at, wide);
    at += wide ? WIDE_BYTES : NARROW_BYTES;
    const length = readUint(bytes, at, 16);
    at += 2;
    ack = { streamId, offset, length, window: decodeRcvWindow(bytes[at++] as number) };
  }
  let stream: StreamSection | null = null;
  if (hasStream) {
    const streamId = readUint(bytes, at, 32);
    at += 4;
    const offset = readOffset(bytes, at, wide);
    at += wide ? WIDE_BYTES : NARROW_BYTES;
    stream = { streamId, offset, data: bytes.slice(at) };
  }
  return { isClose: type.isClose, ack, stream };
}
