// Encoders and decoders of the five crypto-layer messages (SPEC.md "Crypto layer").
// Every offset comes from the spec's message layouts. Secrets:
//   InitRcv, InitCryptoRcv, Data: X25519(responder ephemeral, initiator ephemeral)
//   InitCryptoSnd:               X25519(initiator ephemeral, responder identity)  (0-RTT, not forward secret)
import { bitField, constant, fieldOffset, headerSize, messageType, spec, type MessageName } from '@qotp/spec';
import { QotpError, requireLength } from '../errors.js';
import { readUint, readUint64, writeUint, writeUint64 } from '../wire/uint.js';
import { openPacket, sealPacket, type Opened } from './chained.js';
import { publicKeyOf, sharedSecret } from './x25519.js';

const KEY = constant('PubKeySize');
const FOOTER = constant('FooterDataSize');
const FILL_LEN = constant('MsgInitFillLenSize');
const VERSION = bitField(spec.cryptoHeader, 'version');
const TYPE = bitField(spec.cryptoHeader, 'type');

/** The header byte of a message type: version 0 in the low bits, the type code above. */
export function headerByte(name: MessageName): number {
  return (constant('CryptoVersion') << VERSION.shift) | (messageType(name) << TYPE.shift);
}

/** Writes the header byte and returns a cleartext header buffer of the message's AAD size. */
function newHeader(name: MessageName, size = headerSize(name)): Uint8Array {
  const header = new Uint8Array(size);
  header[0] = headerByte(name);
  return header;
}

/** The connection id: the first 8 bytes of the initiator's ephemeral public key, little-endian. */
export function connIdOf(initiatorEphemeralPublicKey: Uint8Array): bigint {
  return readUint64(initiatorEphemeralPublicKey, 0);
}

const key = (packet: Uint8Array, name: MessageName, field: string): Uint8Array =>
  packet.slice(fieldOffset(name, field), fieldOffset(name, field) + KEY);

// ---------------------------------------------------------------- InitSnd (0)

export interface InitSndKeys {
  ephemeralPublicKey: Uint8Array;
  identityPublicKey: Uint8Array;
}

export interface DecodedInitSnd extends InitSndKeys {
  connId: bigint;
}

/** InitSnd: header, the initiator's two public keys, zero padding to `mtu`. Nothing is encrypted. */
export function encodeInitSnd(keys: InitSndKeys, mtu: number): Uint8Array {
  const minimum = fieldOffset('InitSnd', 'padding');
  if (mtu < minimum)
    throw new QotpError('invalid-argument', `an InitSnd needs an MTU of at least ${minimum}, got ${mtu}`);
  const packet = newHeader('InitSnd', mtu);
  packet.set(keys.ephemeralPublicKey, fieldOffset('InitSnd', 'pubKeyEpSnd'));
  packet.set(keys.identityPublicKey, fieldOffset('InitSnd', 'pubKeyIdSnd'));
  return packet;
}

/** A receiver drops an InitSnd shorter than its own MTU (clause crypto.init-snd.min-size). */
export function decodeInitSnd(packet: Uint8Array, mtu: number): DecodedInitSnd {
  requireLength(packet, mtu, 'InitSnd (padded to the receiver MTU)');
  const ephemeralPublicKey = key(packet, 'InitSnd', 'pubKeyEpSnd');
  return {
    connId: connIdOf(ephemeralPublicKey),
    ephemeralPublicKey,
    identityPublicKey: key(packet, 'InitSnd', 'pubKeyIdSnd'),
  };
}

// ---------------------------------------------------------------- replies: InitRcv (1), InitCryptoRcv (3)
// Both replies carry the connection id and the responder's ephemeral key in clear
// (InitRcv adds the responder's identity key) and are sealed by the responder with
// the ephemeral-ephemeral secret that all Data packets use afterwards.

type Reply = 'InitRcv' | 'InitCryptoRcv';

export interface EncodeInitCryptoRcv {
  connId: bigint;
  responderEphemeralPrivateKey: Uint8Array;
  initiatorEphemeralPublicKey: Uint8Array;
  sn: number;
  payload: Uint8Array;
  /**
   * What follows from the two keys above, for a responder that keeps them: every reply it
   * seals then costs no X25519 operation. Computed when absent.
   */
  derived?: { responderEphemeralPublicKey: Uint8Array; secret: Uint8Array };
}

export interface EncodeInitRcv extends EncodeInitCryptoRcv {
  responderIdentityPublicKey: Uint8Array;
}

export interface Encoded {
  packet: Uint8Array;
  /** The secret that sealed the packet. */
  secret: Uint8Array;
}

function encodeReply(name: Reply, m: EncodeInitCryptoRcv, header = newHeader(name)): Encoded {
  writeUint64(header, fieldOffset(name, 'connId'), m.connId);
  header.set(
    m.derived?.responderEphemeralPublicKey ?? publicKeyOf(m.responderEphemeralPrivateKey),
    fieldOffset(name, 'pubKeyEpRcv'),
  );
  const secret = m.derived?.secret ?? sharedSecret(m.responderEphemeralPrivateKey, m.initiatorEphemeralPublicKey);
  return { packet: sealPacket(header, m.payload, { secret, sn: m.sn, epoch: 0, sealedByInitiator: false }), secret };
}

export function encodeInitRcv(m: EncodeInitRcv): Encoded {
  const header = newHeader('InitRcv');
  header.set(m.responderIdentityPublicKey, fieldOffset('InitRcv', 'pubKeyIdRcv'));
  return encodeReply('InitRcv', m, header);
}

export const encodeInitCryptoRcv = (m: EncodeInitCryptoRcv): Encoded => encodeReply('InitCryptoRcv', m);

export interface DecodedReply extends Opened {
  connId: bigint;
  /** The connection's secret from now on (ephemeral-ephemeral). */
  secret: Uint8Array;
  ephemeralPublicKey: Uint8Array;
}

export interface DecodedInitRcv extends DecodedReply {
  identityPublicKey: Uint8Array;
}

/** Decoded by the initiator with the ephemeral private key of its first message. */
function decodeReply(name: Reply, packet: Uint8Array, initiatorEphemeralPrivateKey: Uint8Array): DecodedReply {
  requireLength(packet, headerSize(name) + FOOTER, name);
  const ephemeralPublicKey = key(packet, name, 'pubKeyEpRcv');
  const secret = sharedSecret(initiatorEphemeralPrivateKey, ephemeralPublicKey);
  const opened = openPacket(packet, headerSize(name), { secret, epoch: 0, sealedByInitiator: false });
  return { ...opened, connId: readUint64(packet, fieldOffset(name, 'connId')), secret, ephemeralPublicKey };
}

export function decodeInitRcv(packet: Uint8Array, initiatorEphemeralPrivateKey: Uint8Array): DecodedInitRcv {
  return {
    ...decodeReply('InitRcv', packet, initiatorEphemeralPrivateKey),
    identityPublicKey: key(packet, 'InitRcv', 'pubKeyIdRcv'),
  };
}

export const decodeInitCryptoRcv = (packet: Uint8Array, initiatorEphemeralPrivateKey: Uint8Array): DecodedReply =>
  decodeReply('InitCryptoRcv', packet, initiatorEphemeralPrivateKey);

// ---------------------------------------------------------------- InitCryptoSnd (2)

export interface EncodeInitCryptoSnd {
  initiatorEphemeralPrivateKey: Uint8Array;
  initiatorIdentityPublicKey: Uint8Array;
  responderIdentityPublicKey: Uint8Array;
  sn: number;
  mtu: number;
  payload: Uint8Array;
}

export interface EncodedInitCryptoSnd extends Encoded {
  connId: bigint;
}

/** Plaintext = filler length (uint16le) | zero filler | payload, sized so the packet is exactly `mtu`. */
export function encodeInitCryptoSnd(m: EncodeInitCryptoSnd): EncodedInitCryptoSnd {
  const header = newHeader('InitCryptoSnd');
  const ephemeralPublicKey = publicKeyOf(m.initiatorEphemeralPrivateKey);
  header.set(ephemeralPublicKey, fieldOffset('InitCryptoSnd', 'pubKeyEpSnd'));
  header.set(m.initiatorIdentityPublicKey, fieldOffset('InitCryptoSnd', 'pubKeyIdSnd'));

  const fillerLength = m.mtu - (header.length + FOOTER + FILL_LEN + m.payload.length);
  if (fillerLength < 0) {
    throw new QotpError(
      'invalid-argument',
      `payload of ${m.payload.length} bytes does not fit an InitCryptoSnd of MTU ${m.mtu}`,
    );
  }
  const plaintext = new Uint8Array(FILL_LEN + fillerLength + m.payload.length);
  writeUint(plaintext, 0, fillerLength, 16);
  plaintext.set(m.payload, FILL_LEN + fillerLength);

  const secret = sharedSecret(m.initiatorEphemeralPrivateKey, m.responderIdentityPublicKey);
  const packet = sealPacket(header, plaintext, { secret, sn: m.sn, epoch: 0, sealedByInitiator: true });
  return { packet, secret, connId: connIdOf(ephemeralPublicKey) };
}

export interface DecodedInitCryptoSnd extends Opened {
  connId: bigint;
  /** X25519(responder identity, initiator ephemeral): seals this message only. */
  identitySecret: Uint8Array;
  ephemeralPublicKey: Uint8Array;
  identityPublicKey: Uint8Array;
  fillerLength: number;
}

/** Decoded by the responder with its identity private key; shorter than its MTU is dropped. */
export function decodeInitCryptoSnd(
  packet: Uint8Array,
  responderIdentityPrivateKey: Uint8Array,
  mtu: number,
): DecodedInitCryptoSnd {
  requireLength(packet, mtu, 'InitCryptoSnd (padded to the receiver MTU)');
  const ephemeralPublicKey = key(packet, 'InitCryptoSnd', 'pubKeyEpSnd');
  const identitySecret = sharedSecret(responderIdentityPrivateKey, ephemeralPublicKey);
  const opened = openPacket(packet, headerSize('InitCryptoSnd'), {
    secret: identitySecret,
    epoch: 0,
    sealedByInitiator: true,
  });
  requireLength(opened.payload, FILL_LEN, 'InitCryptoSnd plaintext');
  const fillerLength = readUint(opened.payload, 0, 16);
  if (FILL_LEN + fillerLength > opened.payload.length) {
    throw new QotpError(
      'malformed',
      `filler length ${fillerLength} exceeds the ${opened.payload.length - FILL_LEN} plaintext bytes after it`,
    );
  }
  return {
    ...opened,
    payload: opened.payload.subarray(FILL_LEN + fillerLength),
    connId: connIdOf(ephemeralPublicKey),
    identitySecret,
    ephemeralPublicKey,
    identityPublicKey: key(packet, 'InitCryptoSnd', 'pubKeyIdSnd'),
    fillerLength,
  };
}

// ---------------------------------------------------------------- Data (4)

export interface EncodeData {
  connId: bigint;
  secret: Uint8Array;
  sn: number;
  epoch: number;
  sealedByInitiator: boolean;
  payload: Uint8Array;
}

export function encodeData(m: EncodeData): Uint8Array {
  const header = newHeader('Data');
  writeUint64(header, fieldOffset('Data', 'connId'), m.connId);
  return sealPacket(header, m.payload, m);
}

export interface DecodedData extends Opened {
  connId: bigint;
}

/** `epoch` is the receiver's current epoch; `sealedByInitiator` is the role of the peer that sent it. */
export function decodeData(
  packet: Uint8Array,
  secret: Uint8Array,
  epoch: number,
  sealedByInitiator: boolean,
): DecodedData {
  const opened = openPacket(packet, headerSize('Data'), { secret, epoch, sealedByInitiator });
  return { ...opened, connId: readUint64(packet, fieldOffset('Data', 'connId')) };
}
