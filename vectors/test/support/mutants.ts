// Planted defects for the vectors: the reference with one rule wrong, the way an implementer
// could get it wrong, and the rule (clause) the vectors naming it must catch it under
// (test/mutants.test.ts replays those vectors with each; conformance/CASES.md lists them beside
// the conformance suite's planted defects). Adding one: an entry here.
import { chacha20 } from '@noble/ciphers/chacha.js';
import { nobleBackend, QotpError, type CryptoBackend, type Payload, type Received } from '@qotp/reference';
import { bitField, constant, fieldOffset, spec, type MessageName } from '@qotp/spec';
import { createHash } from 'node:crypto';
import type { VectorFileName } from '../../src/index.js';
import { reference, type Implementation } from './implementation.js';

export interface Mutant {
  /** What the implementation does wrong. */
  what: string;
  /** The clauses whose vectors must reject it: at least one vector naming each fails. */
  clauses: string[];
  /** The vector files those vectors are in. */
  files: VectorFileName[];
  /** The functions it has wrong (the others are the reference's). */
  impl?: Partial<Implementation>;
  /** The crypto primitives it has wrong. */
  backend?: Partial<CryptoBackend>;
}

const reversed = (b: Uint8Array): Uint8Array => b.slice().reverse();

/** The payload header byte with its fields moved: the version in bits 2-6, the type in bits 0-1. */
const VERSION = bitField(spec.payload.header, 'version');
const TYPE = bitField(spec.payload.header, 'type');
const fieldOf = (byte: number, f: { shift: number; width: number }) => (byte >> f.shift) & ((1 << f.width) - 1);
const keep = (byte: number) =>
  byte & ~(((1 << VERSION.width) - 1) << VERSION.shift) & ~(((1 << TYPE.width) - 1) << TYPE.shift);
const typeLow = (byte: number) => keep(byte) | fieldOf(byte, TYPE) | (fieldOf(byte, VERSION) << TYPE.width);
const typeHigh = (byte: number) =>
  keep(byte) |
  ((byte & ((1 << TYPE.width) - 1)) << TYPE.shift) |
  (((byte >> TYPE.width) & ((1 << VERSION.width) - 1)) << VERSION.shift);
const withHeader = (b: Uint8Array, change: (byte: number) => number): Uint8Array => {
  const out = b.slice();
  if (out.length > 0) out[0] = change(out[0] as number);
  return out;
};

const WIDE = bitField(spec.payload.header, 'wideOffsets');
const MIN_PAYLOAD = constant('MinProtoSize');
const ACK_AND_STREAM_NARROW = 18; // the ACK-only threshold of payload.decode.wide-ack-gap
const isWide = (b: Uint8Array) => b.length > 0 && fieldOf(b[0] as number, WIDE) === 1;
const hasAck = (b: Uint8Array) =>
  b.length > 0 && spec.payload.types.find((t) => t.code === fieldOf(b[0] as number, TYPE))?.hasAck === true;
const isCloseWithAck = (b: Uint8Array) =>
  b.length > 0 &&
  spec.payload.types.find((t) => t.code === fieldOf(b[0] as number, TYPE))?.isClose === true &&
  hasAck(b);
const nothing: Payload = { isClose: false, ack: null, stream: null };

const swapAck = (p: Payload): Payload =>
  p.ack === null ? p : { ...p, ack: { ...p.ack, offset: p.ack.length, length: p.ack.offset } };
const swapStream = (p: Payload): Payload =>
  p.stream === null ? p : { ...p, stream: { ...p.stream, streamId: p.stream.offset, offset: p.stream.streamId } };
const flipClose = (p: Payload): Payload => ({ ...p, isClose: !p.isClose });

/** A backend whose AEAD sees other key, nonce or AAD bytes than the reference gives it. */
const aead = (change: {
  key?: (k: Uint8Array) => Uint8Array;
  nonce?: (n: Uint8Array) => Uint8Array;
  aad?: (a: Uint8Array) => Uint8Array;
}): Partial<CryptoBackend> => {
  const k = change.key ?? ((x) => x);
  const n = change.nonce ?? ((x) => x);
  const a = change.aad ?? ((x) => x);
  return {
    seal: (key, nonce, aad, p) => nobleBackend.seal(k(key), n(nonce), a(aad), p),
    open: (key, nonce, aad, s) => nobleBackend.open(k(key), n(nonce), a(aad), s),
  };
};

/**
 * A sender that ORs its direction bit into the nonce instead of writing it: where the epoch has
 * bit 7 set (the bit the direction bit lands on, erratum E10) a responder's nonce keeps it. The
 * AEAD sees only the finished nonce, in which that bit is already gone, so the mutant's
 * buildPacket remembers the epoch it seals under for the backend's seal.
 */
function directionBitOred(): Mutant {
  const { byte, mask } = spec.nonce.directionBit;
  let epoch = 0;
  return {
    what: "ORs the direction bit into the nonce's epoch byte instead of overwriting epoch bit 7 with it (sealing)",
    clauses: ['crypto.epoch.direction-overlap'],
    files: ['crypto-messages'],
    impl: {
      buildPacket: (keys, sealing) => {
        epoch = sealing.epoch;
        return reference.buildPacket(keys, sealing);
      },
    },
    backend: {
      seal: (key, nonce, aad, p) => {
        const n = nonce.slice();
        if ((epoch >> 7) & 1) n[byte] = (n[byte] as number) | mask;
        return nobleBackend.seal(key, n, aad, p);
      },
    },
  };
}

/** The packet with two equally long fields of its header in each other's place. */
function swapFields(packet: Uint8Array, message: MessageName, a: string, b: string, size: number): Uint8Array {
  const out = packet.slice();
  out.set(packet.subarray(fieldOffset(message, a), fieldOffset(message, a) + size), fieldOffset(message, b));
  out.set(packet.subarray(fieldOffset(message, b), fieldOffset(message, b) + size), fieldOffset(message, a));
  return out;
}
const KEY = constant('PubKeySize');
/** A receiver that gets what the reference gets and then changes it. */
const receivedAs = (change: (got: Received) => Received): Partial<Implementation> => ({
  receivePacket: (datagram, ctx) => change(reference.receivePacket(datagram, ctx)),
});
/** A sender that puts a message's two public keys in each other's place. */
const keysSwapped = (message: MessageName, a: string, b: string): Partial<Implementation> => ({
  buildPacket: (keys, s) =>
    s.message === message
      ? swapFields(reference.buildPacket(keys, s), message, a, b, KEY)
      : reference.buildPacket(keys, s),
});
/** Reads a first byte's fields in the other order: the message type in the low 3 bits, the version above. */
const CRYPTO_TYPE = bitField(spec.cryptoHeader, 'type');
const headerReadBackwards = (byte: number) =>
  ((byte & ((1 << CRYPTO_TYPE.width) - 1)) << CRYPTO_TYPE.shift) | (byte >> CRYPTO_TYPE.width);

export const VECTOR_MUTANTS = {
  'big-endian': {
    what: 'writes and reads its integers big-endian',
    clauses: ['wire.byte-order'],
    files: ['uint-codec'],
    impl: {
      writeUint: (buf, offset, value, bits) => {
        const end = reference.writeUint(buf, offset, value, bits);
        buf.set(reversed(buf.subarray(offset, offset + bits / 8)), offset);
        return end;
      },
      readUint: (buf, offset, bits) => reference.readUint(reversed(buf.subarray(offset, offset + bits / 8)), 0, bits),
      writeUint64: (buf, offset, value) => {
        const end = reference.writeUint64(buf, offset, value);
        buf.set(reversed(buf.subarray(offset, offset + 8)), offset);
        return end;
      },
      readUint64: (buf, offset) => reference.readUint64(reversed(buf.subarray(offset, offset + 8)), 0),
    },
  },
  'window-rounds-up': {
    what: 'encodes a window between two steps as the next step up, so that it advertises more than it has',
    clauses: ['window.encode', 'window.round-down'],
    files: ['rcv-window'],
    impl: {
      encodeRcvWindow: (bytes) => {
        const code = reference.encodeRcvWindow(bytes);
        return reference.decodeRcvWindow(code) < bytes && code < 255 ? code + 1 : code;
      },
    },
  },
  'header-fields-swapped': {
    what: 'keeps the payload type in the low bits of the header byte and the version above it',
    clauses: ['payload.header.layout'],
    files: ['payloads'],
    impl: {
      encodePayload: (p) => withHeader(reference.encodePayload(p), typeLow),
      decodePayload: (b) => reference.decodePayload(withHeader(b, typeHigh)),
    },
  },
  'close-types-swapped': {
    what: 'reads and writes the DATA type codes as CLOSE and the CLOSE codes as DATA',
    clauses: ['payload.types'],
    files: ['payloads'],
    impl: {
      encodePayload: (p) => reference.encodePayload(flipClose(p)),
      decodePayload: (b) => flipClose(reference.decodePayload(b)),
    },
  },
  'ack-fields-swapped': {
    what: "reads the ACK section's offset and length in each other's place",
    clauses: ['payload.ack.layout'],
    files: ['payloads'],
    impl: { decodePayload: (b) => swapAck(reference.decodePayload(b)) },
  },
  'stream-fields-swapped': {
    what: "reads the stream section's stream id and offset in each other's place",
    clauses: ['payload.stream.layout'],
    files: ['payloads'],
    impl: { decodePayload: (b) => swapStream(reference.decodePayload(b)) },
  },
  'short-payload-accepted': {
    what: `takes a payload shorter than ${MIN_PAYLOAD} bytes as an empty one instead of rejecting it`,
    clauses: ['payload.min-size'],
    files: ['payloads'],
    impl: { decodePayload: (b) => (b.length < MIN_PAYLOAD ? nothing : reference.decodePayload(b)) },
  },
  'wide-ack-gap-accepted': {
    what:
      `takes a payload with an ACK and wide offsets of ${ACK_AND_STREAM_NARROW} to 23 bytes as ACK-only instead ` +
      `of rejecting it`,
    clauses: ['payload.decode.wide-ack-gap'],
    files: ['payloads'],
    impl: {
      decodePayload: (b) => {
        if (!isWide(b) || !hasAck(b) || b.length < ACK_AND_STREAM_NARROW || b.length >= 24)
          return reference.decodePayload(b);
        return { ...nothing, isClose: false };
      },
    },
  },
  'short-close-ack-rejected': {
    what:
      `rejects a CLOSE payload with an ACK under ${ACK_AND_STREAM_NARROW} bytes, which the original decodes as a ` +
      `CLOSE without a stream section`,
    clauses: ['payload.decode.short-close-ack'],
    files: ['payloads'],
    impl: {
      decodePayload: (b) => {
        if (isCloseWithAck(b) && b.length < ACK_AND_STREAM_NARROW)
          throw new QotpError('too-short', `a CLOSE with an ACK needs ${ACK_AND_STREAM_NARROW} bytes`);
        return reference.decodePayload(b);
      },
    },
  },
  'aad-without-header': {
    what: 'leaves the header byte out of the additional data',
    clauses: ['crypto.aead.aad'],
    files: ['crypto-messages', 'invalid-packets'],
    backend: aead({ aad: (a) => a.subarray(1) }),
  },
  'nonce-halves-swapped': {
    what: 'puts the sequence number in nonce bytes 0-5 and the epoch in bytes 6-11',
    clauses: ['crypto.nonce.layout'],
    files: ['crypto-messages'],
    backend: aead({ nonce: (n) => Uint8Array.from([...n.subarray(6, 12), ...n.subarray(0, 6)]) }),
  },
  'direction-bit-ored': directionBitOred(),
  'epoch-in-32-bits': {
    what: 'keeps the epoch in 32 bits: nonce bytes 4 and 5 stay zero in the epochs past 2^32',
    clauses: ['crypto.sn.rollover'],
    files: ['crypto-messages'],
    backend: aead({ nonce: (n) => Uint8Array.from([...n.subarray(0, 4), 0, 0, ...n.subarray(6, 12)]) }),
  },
  'derived-key': {
    what: 'keys the AEAD with the SHA-256 of the shared secret, as a protocol with a key derivation step would',
    clauses: ['crypto.aead.cipher'],
    files: ['crypto-messages'],
    backend: aead({ key: (k) => new Uint8Array(createHash('sha256').update(k).digest()) }),
  },
  'keys-big-endian': {
    what: 'writes X25519 public keys as big-endian u-coordinates (and reads them so)',
    clauses: ['crypto.keys.x25519'],
    files: ['crypto-messages'],
    backend: {
      x25519PublicKey: (priv) => reversed(nobleBackend.x25519PublicKey(priv)),
      x25519: (priv, peer) => nobleBackend.x25519(priv, reversed(peer)),
    },
  },
  'sn-mask-chacha20': {
    what:
      "masks the sequence number with RFC 8439's ChaCha20 (the sealed payload's first 12 bytes as nonce) instead " +
      'of XChaCha20',
    clauses: ['crypto.sn.xchacha20'],
    files: ['sn-mask'],
    impl: {
      xorSnMask: (secret, sealed, sn) =>
        chacha20(secret, sealed.subarray(0, 12), sn, undefined, spec.snMasking.counter),
    },
  },
  'sealed-payload-9-bytes': {
    what:
      'rejects a packet whose payload has 8 bytes, the fewest the mask nonce allows, as a receiver that wants ' +
      'one more would',
    clauses: ['crypto.sn.min-payload', 'crypto.init-rcv.min-size'],
    files: ['crypto-messages'],
    impl: receivedAs((got) => {
      if (got.type !== 'InitSnd' && got.payload.length < 9)
        throw new QotpError('too-short', 'a sealed payload under 9 bytes');
      return got;
    }),
  },
  'filler-delivered': {
    what: "hands an InitCryptoSnd's filler to the application as data, as a receiver that does not strip it would",
    clauses: ['crypto.init-crypto-snd.filler'],
    files: ['crypto-messages'],
    impl: receivedAs((got) =>
      got.type === 'InitCryptoSnd'
        ? { ...got, payload: Uint8Array.from([...new Uint8Array(got.fillerLength), ...got.payload]), fillerLength: 0 }
        : got,
    ),
  },
  'conn-id-from-key-end': {
    what: "takes the connection id from the last 8 bytes of the initiator's ephemeral key, not the first",
    clauses: ['crypto.conn-id.initial'],
    files: ['crypto-messages'],
    impl: receivedAs((got) =>
      got.type === 'InitSnd' || got.type === 'InitCryptoSnd'
        ? { ...got, connId: reference.readUint64(got.ephemeralPublicKey, KEY - 8) }
        : got,
    ),
  },
  'crypto-header-read-backwards': {
    what: 'reads the first byte with the type in its low 3 bits and the version in the high 5',
    clauses: ['crypto.header.layout'],
    files: ['crypto-messages', 'invalid-packets'],
    impl: { receivePacket: (datagram, ctx) => reference.receivePacket(withHeader(datagram, headerReadBackwards), ctx) },
  },
  'init-rcv-keys-swapped': {
    what:
      'sends the identity key of its InitRcv where the ephemeral key goes, and the ephemeral where the identity ' +
      'goes',
    clauses: ['crypto.init-rcv.layout'],
    files: ['crypto-messages'],
    impl: keysSwapped('InitRcv', 'pubKeyEpRcv', 'pubKeyIdRcv'),
  },
  'init-crypto-snd-keys-swapped': {
    what:
      'sends the identity key of its InitCryptoSnd where the ephemeral key goes, and the ephemeral where the ' +
      'identity goes',
    clauses: ['crypto.init-crypto-snd.layout'],
    files: ['crypto-messages'],
    impl: keysSwapped('InitCryptoSnd', 'pubKeyEpSnd', 'pubKeyIdSnd'),
  },
  'init-crypto-rcv-key-first': {
    what: 'puts the ephemeral key of its InitCryptoRcv before the connection id',
    clauses: ['crypto.init-crypto-rcv.layout'],
    files: ['crypto-messages'],
    impl: {
      buildPacket: (keys, s) => {
        const packet = reference.buildPacket(keys, s);
        if (s.message !== 'InitCryptoRcv') return packet;
        const at = fieldOffset('InitCryptoRcv', 'connId');
        const out = packet.slice();
        out.set(packet.subarray(at + 8, at + 8 + KEY), at);
        out.set(packet.subarray(at, at + 8), at + KEY);
        return out;
      },
    },
  },
  'init-crypto-snd-ephemeral-secret': {
    what: "seals its InitCryptoSnd with the responder's ephemeral key in place of its identity key",
    clauses: ['crypto.init-crypto-snd.secret'],
    files: ['crypto-messages'],
    impl: {
      buildPacket: (keys, s) =>
        reference.buildPacket(
          s.message === 'InitCryptoSnd'
            ? { ...keys, responderIdentityPublicKey: keys.responderEphemeralPublicKey }
            : keys,
          s,
        ),
    },
  },
  'buffer-twice-capacity': {
    what: 'holds up to twice ReceiveBufferCapacity before it drops a segment',
    clauses: ['stream.buffer-full'],
    files: ['rcv-buffer'],
    impl: { replayRcvBuffer: (capacity, ops) => reference.replayRcvBuffer(2 * capacity, ops) },
  },
  'pacing-without-gain': {
    what: 'paces at BW_max alone, leaving out the gain',
    clauses: ['flow.pacing'],
    files: ['rto'],
    impl: { pacingInterval: (s, srtt, bytes) => reference.pacingInterval({ ...s, gainPercent: 100 }, srtt, bytes) },
  },
  'no-startup': {
    what: 'leaves startup at the first RTT sample, at a gain of 100 %',
    clauses: ['flow.bbr'],
    files: ['rto'],
    impl: { onAck: (s, ...rest) => ({ ...reference.onAck(s, ...rest), isStartup: false, gainPercent: 100 }) },
  },
} satisfies Record<string, Mutant>;

export type VectorMutant = keyof typeof VECTOR_MUTANTS;
