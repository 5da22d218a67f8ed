// How an implementation replays each vector file: one function per file, given the functions
// the file exercises, that fails (an assertion error) where the implementation disagrees with
// a vector. reference.test.ts replays every file with the reference; mutants.test.ts with the
// reference given one rule wrong, to show that the vectors naming that rule catch it.
import {
  hchacha20,
  initialBbr,
  initialRtt,
  QotpError,
  readUint64,
  sealPacket,
  writeUint,
  type Payload,
} from '@qotp/reference';
import { xchacha20 } from '@noble/ciphers/chacha.js';
import { headerSize } from '@qotp/spec';
import { expect } from 'vitest';
import {
  allTests,
  applyDamage,
  fromHex,
  loadVectors,
  receiverContext,
  toHex,
  type PayloadJson,
  type VectorFile,
  type VectorFileName,
  type VectorFiles,
} from '../../src/index.js';
import { type RcvBufferOp } from '../../src/generators/rcv-buffer.js';
import type { Implementation } from './implementation.js';

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

const fromJson = (p: PayloadJson): Payload => ({
  isClose: p.isClose,
  ack: p.ack,
  stream: p.stream && { streamId: p.stream.streamId, offset: p.stream.offset, data: fromHex(p.stream.data) },
});

type Entry<F extends VectorFileName> = {
  group: VectorFiles[F]['testGroups'][number];
  test: VectorFiles[F]['testGroups'][number]['tests'][number];
};

function uintCodec(impl: Implementation, { group, test }: Entry<'uint-codec'>): void {
  const encoded = fromHex(test.encoded);
  const out = new Uint8Array(group.bits / 8);
  if (group.bits === 64) {
    impl.writeUint64(out, 0, BigInt(test.value));
    expect(impl.readUint64(encoded, 0)).toBe(BigInt(test.value));
  } else {
    impl.writeUint(out, 0, Number(test.value), group.bits);
    expect(impl.readUint(encoded, 0, group.bits)).toBe(Number(test.value));
  }
  expect(toHex(out)).toBe(test.encoded);
}

function rcvWindow(impl: Implementation, { group, test }: Entry<'rcv-window'>): void {
  if (group.direction === 'decode') expect(impl.decodeRcvWindow(test.code)).toBe(Number(test.bytes));
  else expect(impl.encodeRcvWindow(Number(test.bytes))).toBe(test.code);
}

function payloads(impl: Implementation, { test }: Entry<'payloads'>): void {
  const encoded = fromHex(test.encoded);
  if (test.result === 'invalid') {
    expect(errorCode(() => impl.decodePayload(encoded))).toBe(test.error);
    return;
  }
  if (test.payload === undefined) throw new Error('valid payload test without payload');
  expect(impl.decodePayload(encoded)).toEqual(fromJson(test.payload));
  if (!test.flags.includes('DecodeOnly')) expect(toHex(impl.encodePayload(fromJson(test.payload)))).toBe(test.encoded);
}

function packets(impl: Implementation, { group, test }: Entry<'crypto-messages'>): void {
  const packet = fromHex(test.packet);
  const ctx = receiverContext(group.keySet, test.receiver);
  // The packet is the test's sealing, damaged as `damage` says (the only way it was made).
  expect(test.damage === undefined, 'mutation and damage go together').toBe(test.mutation === undefined);
  const reseal = (sealed: Uint8Array, plaintext: Uint8Array) =>
    sealPacket(sealed.subarray(0, headerSize(test.message)), plaintext, {
      secret: fromHex(group.keySet.identitySecret),
      sn: test.sn,
      epoch: test.epoch,
      sealedByInitiator: test.sealedByInitiator,
    });
  const sealed = impl.buildPacket(group.keySet, test);
  expect(toHex(test.damage === undefined ? sealed : applyDamage(sealed, test.damage, reseal))).toBe(test.packet);
  if (test.result === 'invalid') {
    expect(errorCode(() => impl.receivePacket(packet, ctx))).toBe(test.error);
    return;
  }
  const got = impl.receivePacket(packet, ctx);
  const want = test.decoded;
  if (want === undefined) throw new Error('valid packet test without decoded');
  if (got.type !== 'Data') expect(got.connId).toBe(readUint64(fromHex(group.keySet.connId), 0));
  if (got.type === 'InitSnd') {
    expect(want.payload).toBe('');
    expect(toHex(got.ephemeralPublicKey)).toBe(group.keySet.initiatorEphemeralPublicKey);
    expect(toHex(got.identityPublicKey)).toBe(group.keySet.initiatorIdentityPublicKey);
    expect(toHex(got.secret)).toBe(group.keySet.ephemeralSecret);
    return;
  }
  expect({ payload: toHex(got.payload), sn: got.sn, epoch: got.epoch }).toEqual({
    payload: want.payload,
    sn: want.sn,
    epoch: want.epoch,
  });
  if (got.type === 'InitCryptoSnd') {
    expect(got.fillerLength).toBe(want.fillerLength);
    expect(toHex(got.identitySecret)).toBe(group.keySet.identitySecret);
  }
  if (got.type !== 'Data') expect(toHex(got.secret)).toBe(group.keySet.ephemeralSecret);
}

function rto(impl: Implementation, { group, test }: Entry<'rto'>): void {
  if (group.kind === 'rtt-samples') {
    let state = initialRtt;
    for (const s of test.samples ?? []) {
      state = impl.updateRtt(state, s.rtt);
      expect({ srtt: state.srtt, rttvar: state.rttvar, rto: impl.rtoNanos(state) }).toEqual({
        srtt: s.srtt,
        rttvar: s.rttvar,
        rto: s.rto,
      });
    }
    expect(test.samples?.length).toBeGreaterThan(0);
  } else if (group.kind === 'backoff') {
    for (const row of test.schedule ?? []) expect(impl.backoffNanos(test.rto ?? 0, row.transmission)).toBe(row.wait);
    expect(test.schedule?.length).toBeGreaterThan(0);
  } else {
    let rtt = initialRtt;
    let bbr = initialBbr;
    for (const step of test.steps ?? []) {
      if (step.event === 'ack') {
        rtt = impl.updateRtt(rtt, step.rtt ?? 0);
        bbr = impl.onAck(bbr, step.rtt ?? 0, rtt.srtt, step.bytesAcked ?? 0, step.now ?? 0);
      } else bbr = step.event === 'duplicate-ack' ? impl.onDuplicateAck(bbr) : impl.onRetransmit(bbr);
      expect({
        bwMax: bbr.bwMax,
        gainPercent: bbr.gainPercent,
        isStartup: bbr.isStartup,
        pacing: impl.pacingInterval(bbr, rtt.srtt, 1400),
      }).toEqual({
        bwMax: step.bwMax,
        gainPercent: step.gainPercent,
        isStartup: step.isStartup,
        pacing: step.pacing,
      });
    }
    expect(test.steps?.length).toBeGreaterThan(0);
  }
}

function snMask(impl: Implementation, { group, test }: Entry<'sn-mask'>): void {
  const key = fromHex(test.key);
  const nonce = fromHex(test.nonce);
  expect(toHex(hchacha20(key, nonce.subarray(0, 16)))).toBe(test.subkey);
  if (group.kind === 'sn-mask') {
    const sn = new Uint8Array(6);
    writeUint(sn, 0, Number(test.sn), 48);
    expect(toHex(impl.xorSnMask(key, nonce, sn))).toBe(test.masked);
    // The same bytes from noble's own XChaCha20, which the reference does not use.
    expect(toHex(xchacha20(key, nonce, sn, undefined, 1))).toBe(test.masked);
  }
}

function rcvBuffer(impl: Implementation, { test }: Entry<'rcv-buffer'>): void {
  // The file's steps, fed to the receive buffer, give the file's results.
  const ops = test.steps.map((s): RcvBufferOp =>
    s.op === 'read' ? ['read', s.streamId] : ['insert', s.streamId, s.offset ?? 0, s.length ?? 0],
  );
  expect(impl.replayRcvBuffer(test.capacity, ops)).toEqual(test.steps);
}

// Each file's replay takes that file's entries; `replay` below hands it one of them.
const REPLAY: Record<VectorFileName, (impl: Implementation, entry: never) => void> = {
  'uint-codec': uintCodec,
  'rcv-window': rcvWindow,
  payloads,
  'crypto-messages': packets,
  'invalid-packets': packets,
  rto,
  'sn-mask': snMask,
  'rcv-buffer': rcvBuffer,
};

/** A vector of any file, with its group, as allTests gives it. */
export interface VectorEntry {
  group: unknown;
  test: { id: string; clauses: string[] };
}

/** Every vector of a file. */
export const vectorsOf = (file: VectorFileName): VectorEntry[] => [
  ...allTests(loadVectors(file) as VectorFile<{ tests: VectorEntry['test'][] }>),
];

/** Replays one vector of a file with an implementation; throws where they disagree. */
export const replay = (file: VectorFileName, impl: Implementation, entry: VectorEntry): void =>
  (REPLAY[file] as (impl: Implementation, entry: VectorEntry) => void)(impl, entry);
