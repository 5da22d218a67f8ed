// The reference implementation replays every vector: decoders give the stated
// results, encoders the stated bytes, and invalid inputs fail with the stated code.
import {
  backoffNanos,
  decodePayload,
  initialBbr,
  onAck,
  onDuplicateAck,
  onRetransmit,
  pacingInterval,
  decodeRcvWindow,
  encodePayload,
  hchacha20,
  encodeRcvWindow,
  initialRtt,
  nobleBackend,
  QotpError,
  readUint,
  readUint64,
  receivePacket,
  rtoNanos,
  sealPacket,
  setCryptoBackend,
  updateRtt,
  writeUint,
  writeUint64,
  xorSnMask,
  type Payload,
} from '@qotp/reference';
import { xchacha20 } from '@noble/ciphers/chacha.js';
import { nodeCryptoBackend } from '@qotp/reference/node';
import { headerSize } from '@qotp/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTests, applyDamage, buildPacket, fromHex, loadVectors, receiverContext, toHex, type PayloadJson } from '../src/index.js';
import { replayRcvBuffer, type RcvBufferOp } from '../src/generators/rcv-buffer.js';

/** The QotpError code `run` throws, or 'no error'. */
function errorCode(run: () => unknown): string {
  try {
    run();
    return 'no error';
  } catch (e) {
    if (e instanceof QotpError) return e.code;
    throw e;
  }
}

const caseName = ({ test }: { test: { id: string } }) => test.id;

describe('uint-codec.json', () => {
  it.each([...allTests(loadVectors('uint-codec'))].map((c) => [caseName(c), c] as const))('%s', (_, { group, test }) => {
    const encoded = fromHex(test.encoded);
    const out = new Uint8Array(group.bits / 8);
    if (group.bits === 64) {
      writeUint64(out, 0, BigInt(test.value));
      expect(readUint64(encoded, 0)).toBe(BigInt(test.value));
    } else {
      writeUint(out, 0, Number(test.value), group.bits);
      expect(readUint(encoded, 0, group.bits)).toBe(Number(test.value));
    }
    expect(toHex(out)).toBe(test.encoded);
  });
});

describe('rcv-window.json', () => {
  it.each([...allTests(loadVectors('rcv-window'))].map((c) => [caseName(c), c] as const))('%s', (_, { group, test }) => {
    if (group.direction === 'decode') expect(decodeRcvWindow(test.code)).toBe(Number(test.bytes));
    else expect(encodeRcvWindow(Number(test.bytes))).toBe(test.code);
  });
});

const fromJson = (p: PayloadJson): Payload => ({
  isClose: p.isClose,
  ack: p.ack,
  stream: p.stream && { streamId: p.stream.streamId, offset: p.stream.offset, data: fromHex(p.stream.data) },
});

describe('payloads.json', () => {
  it.each([...allTests(loadVectors('payloads'))].map((c) => [caseName(c), c] as const))('%s', (_, { test }) => {
    const encoded = fromHex(test.encoded);
    if (test.result === 'invalid') {
      expect(errorCode(() => decodePayload(encoded))).toBe(test.error);
      return;
    }
    if (test.payload === undefined) throw new Error('valid payload test without payload');
    expect(decodePayload(encoded)).toEqual(fromJson(test.payload));
    if (!test.flags.includes('DecodeOnly')) expect(toHex(encodePayload(fromJson(test.payload)))).toBe(test.encoded);
  });
});

// The packet vectors replay on every crypto backend: @noble and node:crypto (OpenSSL).
const packetRuns = (['crypto-messages', 'invalid-packets'] as const).flatMap((file) => [nobleBackend, nodeCryptoBackend].map((b) => [file, b.name, b] as const));

describe.each(packetRuns)('%s.json on the %s backend', (file, _, backend) => {
  beforeAll(() => setCryptoBackend(backend));
  afterAll(() => setCryptoBackend(nobleBackend));
  it.each([...allTests(loadVectors(file))].map((c) => [caseName(c), c] as const))('%s', (_, { group, test }) => {
    const packet = fromHex(test.packet);
    const ctx = receiverContext(group.keySet, test.receiver);
    // The packet is the test's sealing, damaged as `damage` says (the only way it was made).
    expect(test.damage === undefined, 'mutation and damage go together').toBe(test.mutation === undefined);
    const reseal = (sealed: Uint8Array, plaintext: Uint8Array) =>
      sealPacket(sealed.subarray(0, headerSize(test.message)), plaintext, { secret: fromHex(group.keySet.identitySecret), sn: test.sn, epoch: test.epoch, sealedByInitiator: test.sealedByInitiator });
    const sealed = buildPacket(group.keySet, test);
    expect(toHex(test.damage === undefined ? sealed : applyDamage(sealed, test.damage, reseal))).toBe(test.packet);
    if (test.result === 'invalid') {
      expect(errorCode(() => receivePacket(packet, ctx))).toBe(test.error);
      return;
    }
    const got = receivePacket(packet, ctx);
    const want = test.decoded;
    if (want === undefined) throw new Error('valid packet test without decoded');
    if (got.type === 'InitSnd') {
      expect(want.payload).toBe('');
      expect(toHex(got.ephemeralPublicKey)).toBe(group.keySet.initiatorEphemeralPublicKey);
      expect(toHex(got.identityPublicKey)).toBe(group.keySet.initiatorIdentityPublicKey);
      expect(toHex(got.secret)).toBe(group.keySet.ephemeralSecret);
      return;
    }
    expect({ payload: toHex(got.payload), sn: got.sn, epoch: got.epoch }).toEqual({ payload: want.payload, sn: want.sn, epoch: want.epoch });
    if (got.type === 'InitCryptoSnd') {
      expect(got.fillerLength).toBe(want.fillerLength);
      expect(toHex(got.identitySecret)).toBe(group.keySet.identitySecret);
    }
    if (got.type !== 'Data') expect(toHex(got.secret)).toBe(group.keySet.ephemeralSecret);
  });
});

describe('rto.json', () => {
  it.each([...allTests(loadVectors('rto'))].map((c) => [caseName(c), c] as const))('%s', (_, { group, test }) => {
    if (group.kind === 'rtt-samples') {
      let state = initialRtt;
      for (const s of test.samples ?? []) {
        state = updateRtt(state, s.rtt);
        expect({ srtt: state.srtt, rttvar: state.rttvar, rto: rtoNanos(state) }).toEqual({ srtt: s.srtt, rttvar: s.rttvar, rto: s.rto });
      }
      expect(test.samples?.length).toBeGreaterThan(0);
    } else if (group.kind === 'backoff') {
      for (const row of test.schedule ?? []) expect(backoffNanos(test.rto ?? 0, row.transmission)).toBe(row.wait);
      expect(test.schedule?.length).toBeGreaterThan(0);
    } else {
      let rtt = initialRtt;
      let bbr = initialBbr;
      for (const step of test.steps ?? []) {
        if (step.event === 'ack') {
          rtt = updateRtt(rtt, step.rtt ?? 0);
          bbr = onAck(bbr, step.rtt ?? 0, rtt.srtt, step.bytesAcked ?? 0, step.now ?? 0);
        } else bbr = step.event === 'duplicate-ack' ? onDuplicateAck(bbr) : onRetransmit(bbr);
        expect({ bwMax: bbr.bwMax, gainPercent: bbr.gainPercent, isStartup: bbr.isStartup, pacing: pacingInterval(bbr, rtt.srtt, 1400) }).toEqual({
          bwMax: step.bwMax,
          gainPercent: step.gainPercent,
          isStartup: step.isStartup,
          pacing: step.pacing,
        });
      }
      expect(test.steps?.length).toBeGreaterThan(0);
    }
  });
});

describe('sn-mask.json', () => {
  it.each([...allTests(loadVectors('sn-mask'))].map((c) => [caseName(c), c] as const))('%s', (_, { group, test }) => {
    const key = fromHex(test.key);
    const nonce = fromHex(test.nonce);
    expect(toHex(hchacha20(key, nonce.subarray(0, 16)))).toBe(test.subkey);
    if (group.kind === 'sn-mask') {
      const sn = new Uint8Array(6);
      writeUint(sn, 0, Number(test.sn), 48);
      expect(toHex(xorSnMask(key, nonce, sn))).toBe(test.masked);
      // The same bytes from noble's own XChaCha20, which the reference does not use.
      expect(toHex(xchacha20(key, nonce, sn, undefined, 1))).toBe(test.masked);
    }
  });
});

describe('rcv-buffer.json', () => {
  it.each([...allTests(loadVectors('rcv-buffer'))].map((c) => [caseName(c), c] as const))('%s', (_, { test }) => {
    // The file's steps, fed to the reference's receive buffer, give the file's results.
    const ops = test.steps.map((s): RcvBufferOp => (s.op === 'read' ? ['read', s.streamId] : ['insert', s.streamId, s.offset ?? 0, s.length ?? 0]));
    expect(replayRcvBuffer(test.capacity, ops)).toEqual(test.steps);
  });
});
