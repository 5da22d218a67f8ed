import { constant, spec } from '@qotp/spec';
import { describe, expect, it } from 'vitest';
import {
  ACK_WITH_STREAM_MIN,
  decodePayload,
  decodeRcvWindow,
  encodePayload,
  encodeRcvWindow,
  payloadOverhead,
  QotpError,
  readUint,
  readUint64,
  writeUint,
  writeUint64,
  type Payload,
} from '../src/index.js';
import { prng, qotpErrorOf } from './helpers.js';

describe('little-endian integers', () => {
  it('round-trips random values of every width', () => {
    const random = prng(7);
    for (const bits of [16, 24, 32, 48] as const) {
      for (let i = 0; i < 200; i++) {
        const bytes = random(bits / 8);
        const value = readUint(bytes, 0, bits);
        const out = new Uint8Array(bits / 8);
        writeUint(out, 0, value, bits);
        expect(out).toEqual(bytes);
      }
    }
    const out = new Uint8Array(8);
    writeUint64(out, 0, 0x0102030405060708n);
    expect([...out]).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(readUint64(out, 0)).toBe(0x0102030405060708n);
  });

  it('refuses values that do not fit, and buffers that are too short', () => {
    expect(qotpErrorOf(() => writeUint(new Uint8Array(3), 0, 2 ** 24, 24))).toBe('invalid-argument');
    expect(qotpErrorOf(() => writeUint(new Uint8Array(6), 0, -1, 48))).toBe('invalid-argument');
    expect(qotpErrorOf(() => writeUint(new Uint8Array(2), 0, 1.5, 16))).toBe('invalid-argument');
    expect(qotpErrorOf(() => writeUint64(new Uint8Array(8), 0, 1n << 64n))).toBe('invalid-argument');
    expect(qotpErrorOf(() => readUint(new Uint8Array(5), 0, 48))).toBe('too-short');
    expect(qotpErrorOf(() => readUint64(new Uint8Array(9), 2))).toBe('too-short');
    expect(() => readUint(new Uint8Array(2), 1, 16)).toThrow(/uint16 at offset 1 needs at least 3 bytes, got 2/);
  });
});

describe('receive window code', () => {
  it('every code decodes to a value that encodes back to the same code', () => {
    for (let code = 0; code <= 255; code++) expect(encodeRcvWindow(decodeRcvWindow(code))).toBe(code);
    expect(decodeRcvWindow(255)).toBe(spec.receiveWindow.maxDecoded);
  });

  it('from 256 bytes up never over-reports and loses less than a ninth (clause window.round-down)', () => {
    const random = prng(11);
    for (let i = 0; i < 2000; i++) {
      const exponent = 8 + ((random(1)[0] as number) % 32); // 2^8 .. 2^39
      const bytes = 2 ** exponent + (readUint(random(6), 0, 48) % 2 ** exponent);
      const decoded = decodeRcvWindow(encodeRcvWindow(bytes));
      expect(decoded).toBeLessThanOrEqual(bytes);
      if (bytes <= spec.receiveWindow.maxDecoded) expect(decoded * 9).toBeGreaterThan(bytes * 8);
    }
  });

  it('is monotonic', () => {
    let previous = 0;
    for (let bytes = 0; bytes < 70000; bytes += 7) {
      const code = encodeRcvWindow(bytes);
      expect(code).toBeGreaterThanOrEqual(previous);
      previous = code;
    }
  });

  it('refuses what is not a window or a code', () => {
    expect(qotpErrorOf(() => encodeRcvWindow(-1))).toBe('invalid-argument');
    expect(qotpErrorOf(() => encodeRcvWindow(0.5))).toBe('invalid-argument');
    expect(qotpErrorOf(() => decodeRcvWindow(256))).toBe('invalid-argument');
  });
});

describe('payload codec', () => {
  it('has the overheads of the spec (erratum E05: 18 and 24 with ACK)', () => {
    expect(payloadOverhead(false, false, true)).toBe(8);
    expect(payloadOverhead(false, true, true)).toBe(11);
    expect(payloadOverhead(true, false, true)).toBe(18);
    expect(payloadOverhead(true, true, true)).toBe(24);
    expect(payloadOverhead(true, false, false)).toBe(11);
    expect(payloadOverhead(true, true, false)).toBe(14);
    expect(ACK_WITH_STREAM_MIN).toBe(18);
    expect(payloadOverhead(false, false, true)).toBe(constant('MinProtoSize'));
  });

  it('round-trips random payloads of every kind', () => {
    const random = prng(23);
    const rnd = (n: number) => readUint(random(6), 0, 48) % n;
    for (let i = 0; i < 1000; i++) {
      const wideOffset = () => (rnd(2) ? rnd(2 ** 24) : rnd(2 ** 48));
      const ack = rnd(2)
        ? { streamId: rnd(2 ** 32), offset: wideOffset(), length: rnd(2 ** 16), window: decodeRcvWindow(rnd(256)) }
        : null;
      const isClose = rnd(2) === 1;
      const ackOnly = ack !== null && !isClose && rnd(3) === 0;
      const p: Payload = {
        isClose,
        ack,
        stream: ackOnly ? null : { streamId: rnd(2 ** 32), offset: wideOffset(), data: random(rnd(40)) },
      };
      expect(decodePayload(encodePayload(p))).toEqual(p);
    }
  });

  it('refuses payloads it cannot put on the wire', () => {
    expect(
      qotpErrorOf(() =>
        encodePayload({ isClose: true, ack: { streamId: 0, offset: 0, length: 0, window: 0 }, stream: null }),
      ),
    ).toBe('invalid-argument');
    expect(qotpErrorOf(() => encodePayload({ isClose: false, ack: null, stream: null }))).toBe('invalid-argument');
    expect(
      qotpErrorOf(() =>
        encodePayload({ isClose: false, ack: null, stream: { streamId: 0, offset: 2 ** 48, data: new Uint8Array(1) } }),
      ),
    ).toBe('invalid-argument');
  });

  it('answers any byte string with a payload or a QotpError, never another exception', () => {
    const random = prng(5);
    let rejected = 0;
    for (let i = 0; i < 5000; i++) {
      const bytes = random((random(1)[0] as number) % 40);
      try {
        decodePayload(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(QotpError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
    expect(rejected).toBeLessThan(5000);
  });
});
