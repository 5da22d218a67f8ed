// Replaying packet vectors with the reference: the receiver state of a test as a
// ReceiverContext, and the packet of a test rebuilt from its sealing inputs.
import {
  encodeData,
  encodeInitCryptoRcv,
  encodeInitCryptoSnd,
  encodeInitRcv,
  encodeInitSnd,
  publicKeyOf,
  readUint64,
  type ReceiverContext,
} from '@qotp/reference';
import { fromHex } from './hex.js';
import type { KeySet, PacketTest, ReceiverJson } from './types.js';

export function receiverContext(keys: KeySet, receiver: ReceiverJson): ReceiverContext {
  const mine =
    receiver.role === 'initiator'
      ? { identity: keys.initiatorIdentityPrivateKey, ephemeral: keys.initiatorEphemeralPrivateKey }
      : { identity: keys.responderIdentityPrivateKey, ephemeral: keys.responderEphemeralPrivateKey };
  return {
    role: receiver.role,
    mtu: receiver.mtu,
    identityPrivateKey: fromHex(mine.identity),
    ephemeralPrivateKey: fromHex(mine.ephemeral),
    connection: receiver.knowsConnection
      ? { connId: readUint64(fromHex(keys.connId), 0), secret: fromHex(keys.ephemeralSecret), epoch: receiver.epoch }
      : null,
  };
}

/** The sealing inputs of a packet test. */
export type Sealing = Pick<PacketTest, 'message' | 'sn' | 'epoch' | 'sealedByInitiator' | 'mtu' | 'payload'>;

/** Seals a packet as the test describes, with the reference encoders (before any mutation). */
export function buildPacket(keys: KeySet, s: Sealing): Uint8Array {
  const initiatorEphemeral = fromHex(keys.initiatorEphemeralPrivateKey);
  const responderEphemeral = fromHex(keys.responderEphemeralPrivateKey);
  const connId = readUint64(fromHex(keys.connId), 0);
  const payload = fromHex(s.payload);
  switch (s.message) {
    case 'InitSnd':
      return encodeInitSnd(
        {
          ephemeralPublicKey: publicKeyOf(initiatorEphemeral),
          identityPublicKey: fromHex(keys.initiatorIdentityPublicKey),
        },
        s.mtu,
      );
    case 'InitRcv':
      return encodeInitRcv({
        connId,
        responderEphemeralPrivateKey: responderEphemeral,
        responderIdentityPublicKey: fromHex(keys.responderIdentityPublicKey),
        initiatorEphemeralPublicKey: publicKeyOf(initiatorEphemeral),
        sn: s.sn,
        payload,
      }).packet;
    case 'InitCryptoSnd':
      return encodeInitCryptoSnd({
        initiatorEphemeralPrivateKey: initiatorEphemeral,
        initiatorIdentityPublicKey: fromHex(keys.initiatorIdentityPublicKey),
        responderIdentityPublicKey: fromHex(keys.responderIdentityPublicKey),
        sn: s.sn,
        mtu: s.mtu,
        payload,
      }).packet;
    case 'InitCryptoRcv':
      return encodeInitCryptoRcv({
        connId,
        responderEphemeralPrivateKey: responderEphemeral,
        initiatorEphemeralPublicKey: publicKeyOf(initiatorEphemeral),
        sn: s.sn,
        payload,
      }).packet;
    case 'Data':
      return encodeData({
        connId,
        secret: fromHex(keys.ephemeralSecret),
        sn: s.sn,
        epoch: s.epoch,
        sealedByInitiator: s.sealedByInitiator,
        payload,
      });
  }
}
