// The "double encryption" shared by every encrypted message type:
//   packet = header (AAD) | masked SN (6) | ChaCha20-Poly1305(payload) incl. tag
// sealPacket/openPacket know nothing about message types; messages.ts gives them
// the header and the right secret.
import { constant } from '@qotp/spec';
import { QotpError, requireLength } from '../errors.js';
import { readUint, writeUint } from '../wire/uint.js';
import { open, seal } from './aead.js';
import { buildNonce } from './nonce.js';
import { xorSnMask } from './sn-mask.js';

const SN_SIZE = constant('SnSize');
const MIN_PAYLOAD = constant('MinProtoSize');
const FOOTER = constant('FooterDataSize');

export interface SealParams {
  secret: Uint8Array;
  sn: number;
  epoch: number;
  /** Who seals: the connection's initiator (direction bit 1) or its responder (0). */
  sealedByInitiator: boolean;
}

export function sealPacket(header: Uint8Array, payload: Uint8Array, p: SealParams): Uint8Array {
  if (payload.length < MIN_PAYLOAD) {
    throw new QotpError(
      'invalid-argument',
      `payload must have at least ${MIN_PAYLOAD} bytes to supply the SN mask nonce, got ${payload.length}`,
    );
  }
  const sealed = seal(p.secret, buildNonce(p.epoch, p.sn, p.sealedByInitiator), header, payload);
  const snBytes = new Uint8Array(SN_SIZE);
  writeUint(snBytes, 0, p.sn, 48);

  const packet = new Uint8Array(header.length + SN_SIZE + sealed.length);
  packet.set(header, 0);
  packet.set(xorSnMask(p.secret, sealed, snBytes), header.length);
  packet.set(sealed, header.length + SN_SIZE);
  return packet;
}

export interface OpenParams {
  secret: Uint8Array;
  /** The receiver's current epoch; the epochs around it are tried too. */
  epoch: number;
  sealedByInitiator: boolean;
}

export interface Opened {
  sn: number;
  /** The epoch that authenticated. */
  epoch: number;
  payload: Uint8Array;
}

/** The epochs a receiver tries, in order (spec: epochs.decryptOrder). */
export function epochsToTry(current: number): number[] {
  return current > 0 ? [current, current - 1, current + 1] : [current, current + 1];
}

export function openPacket(packet: Uint8Array, headerSize: number, p: OpenParams): Opened {
  // The sealed part must provide the 24-byte mask nonce: header + SN + 8 payload bytes + tag.
  requireLength(packet, headerSize + FOOTER + MIN_PAYLOAD, 'encrypted packet');
  const header = packet.subarray(0, headerSize);
  const sealed = packet.subarray(headerSize + SN_SIZE);
  const sn = readUint(xorSnMask(p.secret, sealed, packet.subarray(headerSize, headerSize + SN_SIZE)), 0, 48);

  for (const epoch of epochsToTry(p.epoch)) {
    try {
      return { sn, epoch, payload: open(p.secret, buildNonce(epoch, sn, p.sealedByInitiator), header, sealed) };
    } catch (e) {
      if (!(e instanceof QotpError)) throw e;
    }
  }
  throw new QotpError(
    'authentication-failed',
    `no epoch of ${epochsToTry(p.epoch).join(', ')} authenticates sn ${sn} as sealed by ` +
      `the ${p.sealedByInitiator ? 'initiator' : 'responder'}`,
  );
}
