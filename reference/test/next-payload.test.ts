// The next revision's payload layer (spec.next, the upstream main branch): every type round
// trips, the stream header is left out exactly where the layout says, and short input is
// refused where the Go original at 0530ac8 reads past the end.
import { describe, expect, it } from 'vitest';
import { decodeNextPayload, encodeNextPayload, type NextPayload } from '../src/index.js';
import { qotpErrorOf } from './helpers.js';

const key = (n: number) => new Uint8Array(32).fill(n);
const ack = { streamId: 7, offset: 1000, length: 1200, window: 16777216 };
const stream = (offset = 0, data = Uint8Array.of(1, 2, 3)) => ({ streamId: 3, offset, data });
const base: NextPayload = {
  type: 0,
  needsRetransmission: false,
  ack: null,
  mtu: null,
  keyUpdate: null,
  keyUpdateAck: null,
  stream: stream(),
};

describe('next-revision payload', () => {
  const cases: [string, NextPayload, number][] = [
    ['data with ACK', { ...base, ack }, 1 + 10 + 7 + 3],
    ['ACK only: no stream header', { ...base, ack, stream: null }, 1 + 10],
    ['PING (data type, no ACK, no data)', { ...base, stream: stream(5, new Uint8Array(0)) }, 1 + 7],
    ['MTU update', { ...base, type: 1, mtu: 1452, stream: stream(0, new Uint8Array(0)) }, 1 + 2 + 7],
    ['close with ACK', { ...base, type: 2, ack }, 1 + 10 + 7 + 3],
    ['key update', { ...base, type: 3, keyUpdate: key(1) }, 1 + 32 + 7 + 3],
    ['key-update ACK', { ...base, type: 4, keyUpdateAck: key(2) }, 1 + 32 + 7 + 3],
    ['key update and its ACK', { ...base, type: 5, keyUpdate: key(1), keyUpdateAck: key(2) }, 1 + 64 + 7 + 3],
    ['close and key update', { ...base, type: 6, keyUpdate: key(1) }, 1 + 32 + 7 + 3],
    ['close and key-update ACK', { ...base, type: 7, keyUpdateAck: key(2) }, 1 + 32 + 7 + 3],
    ['wide offsets', { ...base, ack: { ...ack, offset: 0x1000000 }, stream: stream(2 ** 40) }, 1 + 13 + 10 + 3],
    ['needs retransmission', { ...base, needsRetransmission: true }, 1 + 7 + 3],
  ];
  it.each(cases)('%s: round trips at its size', (_, p, size) => {
    const bytes = encodeNextPayload(p);
    expect(bytes.length).toBe(size);
    expect(decodeNextPayload(bytes)).toEqual(p);
  });

  it('puts the flags in the bits the spec gives: ACK bit 0, wide bit 1, retransmission bit 2, type bits 3-5', () => {
    const bytes = encodeNextPayload({ ...base, type: 2, ack: { ...ack, offset: 2 ** 30 }, needsRetransmission: true });
    expect(bytes[0]).toBe(0b00010111);
  });

  it('refuses a wide ACK section cut short (the Go original reads past the end of 11-13 bytes)', () => {
    const bytes = encodeNextPayload({ ...base, ack: { ...ack, offset: 0x1000000 }, stream: null });
    for (const n of [11, 12, 13]) expect(qotpErrorOf(() => decodeNextPayload(bytes.subarray(0, n)))).toBe('too-short');
  });

  it('refuses to encode a type without what it carries', () => {
    expect(qotpErrorOf(() => encodeNextPayload({ ...base, type: 1 }))).toBe('invalid-argument');
    expect(qotpErrorOf(() => encodeNextPayload({ ...base, type: 3 }))).toBe('invalid-argument');
    expect(qotpErrorOf(() => encodeNextPayload({ ...base, stream: null }))).toBe('invalid-argument');
  });
});
