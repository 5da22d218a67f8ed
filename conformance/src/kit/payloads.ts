// Payloads the tester sends and the bytes it fills them with.
import { payloadOverhead, type Payload } from '@qotp/reference';

/** The receive window the tester advertises: large enough never to hold an endpoint back. */
export const WINDOW = 1 << 24;

/** Stream of packets that must be dropped: anything the endpoint says about it means one was accepted. */
export const PROBE_STREAM = 77;

export const dataPayload = (streamId: number, offset: number, data: Uint8Array, isClose = false): Payload => ({
  isClose,
  ack: null,
  stream: { streamId, offset, data },
});

export const ackOnly = (streamId: number, offset: number, length: number, window = WINDOW): Payload => ({
  isClose: false,
  ack: { streamId, offset, length, window },
  stream: null,
});

/** Header and stream section of a DATA payload without ACK, narrow offsets (8 bytes). */
const PROBE_OVERHEAD = payloadOverhead(false, false, true);

/** A payload of exactly `length` bytes (at least 8) on a probe stream. */
export function probePayload(length: number, streamId = PROBE_STREAM): Payload {
  return dataPayload(streamId, 0, new Uint8Array(Math.max(0, length - PROBE_OVERHEAD)).fill(0x70));
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Deterministic bytes of a given length, so that misplaced data shows. */
export function pattern(length: number, seed = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

export const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
