// Turns the keys and receiver state of a packet vector into the reference's
// ReceiverContext, so that a test (ours or a third party's) can replay the vector.
import { readUint64, type ReceiverContext } from '@qotp/reference';
import { fromHex } from './hex.js';
import type { KeySet, ReceiverJson } from './types.js';

export function receiverContext(keys: KeySet, receiver: ReceiverJson): ReceiverContext {
  const mine = receiver.role === 'initiator'
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
