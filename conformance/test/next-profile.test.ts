// The next revision's payload layout as the tester reads it (src/capture/next-profile.ts, from
// spec.next): payloads built by that layout's rules parse, with what they carry.
import { encodePayload } from '@qotp/reference';
import { describe, expect, it } from 'vitest';
import { readNextPayload } from '../src/capture/next-profile.js';

// Flags byte of the next revision: bit 0 ACK, bit 1 wide offsets, bits 3-5 the type.
const flags = (hasAck: boolean, type: number) => (hasAck ? 1 : 0) | (type << 3);
const ack = [0, 0, 0, 0, 0, 0, 0, 30, 0, 90]; // stream 0, offset 0 (24 bits), length 30, window code 90

describe('readNextPayload', () => {
  it('reads data with an ACK, a stream header and data', () => {
    expect(readNextPayload(Uint8Array.from([flags(true, 0), ...ack, 1, 0, 0, 0, 0, 0, 0, 7, 7, 7]))).toBe(
      'a payload of type data with an ACK, a stream header and 3 data bytes',
    );
  });

  it('reads an ACK alone as a data packet without stream header', () => {
    expect(readNextPayload(Uint8Array.from([flags(true, 0), ...ack]))).toBe('a payload of type data with an ACK');
  });

  it('reads the MTU value and the new keys its type announces', () => {
    expect(readNextPayload(Uint8Array.from([flags(false, 1), 0xb0, 0x04, 2, 0, 0, 0, 5, 0, 0]))).toBe(
      'a payload of type MTU update, a stream header and 0 data bytes',
    );
    expect(
      readNextPayload(Uint8Array.from([flags(true, 5), ...ack, ...new Array(64).fill(9), 0, 0, 0, 0, 0, 0, 0])),
    ).toBe('a payload of type key update and its ACK with an ACK, a stream header and 0 data bytes');
    expect(readNextPayload(Uint8Array.from([flags(true, 3), ...ack, ...new Array(31).fill(9)]))).toBeNull();
  });

  it('refuses reserved bits and short payloads', () => {
    expect(readNextPayload(Uint8Array.from([0x40 | flags(false, 0), 0, 0, 0, 0, 0, 0, 0]))).toBeNull();
    expect(readNextPayload(Uint8Array.from([flags(false, 2), 0, 0, 0]))).toBeNull();
  });

  it('reads a v0.2.19 payload too, as something else: the layouts cannot be told apart by parsing alone', () => {
    const v19 = encodePayload({
      isClose: false,
      ack: { streamId: 0, offset: 0, length: 30, window: 1 << 20 },
      stream: { streamId: 0, offset: 0, data: new Uint8Array(0) },
    });
    expect(readNextPayload(v19)).not.toBeNull();
  });
});
