// @qotp/reference: a readable QOTP implementation. Layers, each usable alone:
//   wire/      little-endian integers, the receive window code, the payload codec, data per packet
//   crypto/    X25519, ChaCha20-Poly1305 (on a selectable backend), SN masking, the five message types, receiving
//   recovery/  RTT estimation, RTO and backoff, BBR pacing
//   engine/    the sans-I/O endpoint: connections, streams, ACKs, retransmission, close
export { QotpError, type QotpErrorCode } from './errors.js';
export { readUint, readUint64, writeUint, writeUint64, type NumberWidth } from './wire/uint.js';
export { decodeRcvWindow, encodeRcvWindow } from './wire/rcv-window.js';
export {
  ACK_WITH_STREAM_MIN,
  decodePayload,
  encodePayload,
  payloadOverhead,
  type Ack,
  type Payload,
  type StreamSection,
} from './wire/payload.js';
export { decodeNextPayload, encodeNextPayload, type NextPayload } from './wire/next-payload.js';
export { cryptoOverhead, maxUserData } from './wire/max-data.js';
export { cryptoBackend, nobleBackend, setCryptoBackend, type CryptoBackend } from './crypto/backend.js';
export { publicKeyOf, sharedSecret } from './crypto/x25519.js';
export { open, seal } from './crypto/aead.js';
export { buildNonce } from './crypto/nonce.js';
export { hchacha20 } from './crypto/hchacha20.js';
export { xorSnMask } from './crypto/sn-mask.js';
export {
  epochsToTry,
  openPacket,
  sealPacket,
  type Opened,
  type OpenParams,
  type SealParams,
} from './crypto/chained.js';
export * from './crypto/messages.js';
export {
  messageTypeOf,
  receivePacket,
  type KnownConnection,
  type Received,
  type ReceiverContext,
} from './crypto/receive.js';
export { backoffNanos, giveUpNanos, initialRtt, rtoNanos, updateRtt, type RttState } from './recovery/rtt.js';
export { initialBbr, onAck, onDuplicateAck, onRetransmit, pacingInterval, type BbrState } from './recovery/bbr.js';
export { Endpoint, type EndpointOptions } from './engine/endpoint.js';
export { Connection, type Role } from './engine/connection.js';
export { Stream } from './engine/stream.js';
export { StreamSender, type Segment } from './engine/stream-sender.js';
export { StreamReceiver } from './engine/stream-receiver.js';
export { advertisedWindow, fitsReceiveBuffer } from './engine/receive-window.js';
export { Machine, observeTransitions, type MachineId } from './engine/state-machine.js';
export type { Address, CloseReason, EngineEvent, Outgoing } from './engine/events.js';
export { seededBytes, seededUnit, xorshift32 } from './random.js';
