// What a receiver does with a datagram before the payload layer sees it, in the order
// the Go listener does it: size floor, version, type, then the type's decoder with
// the keys the receiver holds. Every rejection is a QotpError; the caller drops the
// datagram and the connection carries on (clause crypto.aead.tamper).
import { bitField, constant, fieldOffset, spec, type MessageName } from '@qotp/spec';
import { QotpError, requireLength } from '../errors.js';
import { readUint64 } from '../wire/uint.js';
import {
  decodeData,
  decodeInitCryptoRcv,
  decodeInitCryptoSnd,
  decodeInitRcv,
  decodeInitSnd,
  type DecodedData,
  type DecodedInitCryptoSnd,
  type DecodedInitRcv,
  type DecodedInitSnd,
  type DecodedReply,
} from './messages.js';
import { sharedSecret } from './x25519.js';

const VERSION = bitField(spec.cryptoHeader, 'version');
const TYPE = bitField(spec.cryptoHeader, 'type');

export interface KnownConnection {
  connId: bigint;
  /** The connection's ephemeral-ephemeral secret; null while the initiator still waits for the reply. */
  secret: Uint8Array | null;
  /** Current receive epoch. */
  epoch: number;
}

export interface ReceiverContext {
  role: 'initiator' | 'responder';
  mtu: number;
  /** Identity private key: the responder needs it for InitCryptoSnd. */
  identityPrivateKey: Uint8Array;
  /** The initiator's ephemeral key of its first message, or the responder's ephemeral key for a new connection. */
  ephemeralPrivateKey: Uint8Array;
  connection: KnownConnection | null;
}

export type Received =
  | ({ type: 'InitSnd'; secret: Uint8Array } & DecodedInitSnd)
  | ({ type: 'InitRcv' } & DecodedInitRcv)
  | ({ type: 'InitCryptoSnd'; secret: Uint8Array } & DecodedInitCryptoSnd)
  | ({ type: 'InitCryptoRcv' } & DecodedReply)
  | ({ type: 'Data' } & DecodedData);

/** The message type of a datagram, after the checks every datagram gets. */
export function messageTypeOf(packet: Uint8Array): MessageName {
  requireLength(packet, constant('MinPacketSize'), 'datagram');
  const header = packet[0] as number;
  const version = (header >> VERSION.shift) & ((1 << VERSION.width) - 1);
  if (version !== constant('CryptoVersion')) {
    throw new QotpError('unsupported-version', `crypto version ${version}, expected ${constant('CryptoVersion')}`);
  }
  const code = (header >> TYPE.shift) & ((1 << TYPE.width) - 1);
  const type = spec.messageTypes.find((t) => t.code === code);
  if (type === undefined)
    throw new QotpError('unknown-type', `message type ${code} is not one of 0..${spec.messageTypes.length - 1}`);
  return type.name;
}

function knownConnection(packet: Uint8Array, type: MessageName, ctx: ReceiverContext): KnownConnection {
  const connId = readUint64(packet, fieldOffset(type, 'connId'));
  if (ctx.connection === null || ctx.connection.connId !== connId) {
    throw new QotpError('unknown-connection', `no connection with id 0x${connId.toString(16)}`);
  }
  return ctx.connection;
}

export function receivePacket(datagram: Uint8Array, ctx: ReceiverContext): Received {
  // The receive buffer holds one MTU: anything beyond is lost before decoding (clause crypto.receive.mtu-cut).
  const packet = datagram.length > ctx.mtu ? datagram.subarray(0, ctx.mtu) : datagram;
  const type = messageTypeOf(packet);
  switch (type) {
    case 'InitSnd': {
      const m = decodeInitSnd(packet, ctx.mtu);
      return { type, ...m, secret: sharedSecret(ctx.ephemeralPrivateKey, m.ephemeralPublicKey) };
    }
    case 'InitCryptoSnd': {
      const m = decodeInitCryptoSnd(packet, ctx.identityPrivateKey, ctx.mtu);
      return { type, ...m, secret: sharedSecret(ctx.ephemeralPrivateKey, m.ephemeralPublicKey) };
    }
    case 'InitRcv':
      knownConnection(packet, type, ctx);
      return { type, ...decodeInitRcv(packet, ctx.ephemeralPrivateKey) };
    case 'InitCryptoRcv':
      knownConnection(packet, type, ctx);
      return { type, ...decodeInitCryptoRcv(packet, ctx.ephemeralPrivateKey) };
    case 'Data': {
      const conn = knownConnection(packet, type, ctx);
      if (conn.secret === null) throw new QotpError('unknown-connection', 'connection has no shared secret yet');
      return { type, ...decodeData(packet, conn.secret, conn.epoch, ctx.role === 'responder') };
    }
  }
}
