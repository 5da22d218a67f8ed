// The most user data one packet can carry (clause payload.max-data): the MTU less the
// message type's crypto overhead (cleartext header, masked sequence number, tag, and
// InitCryptoSnd's filler length) and the payload header with the sections the packet
// carries. Both offsets take the wide form when either needs it, so the ACK a packet
// carries can shrink the room for data.
import { constant, headerSize, type MessageName } from '@qotp/spec';
import { payloadOverhead } from './payload.js';

const NARROW_MAX = constant('NarrowOffsetMax');

/** Bytes a message type adds around the payload; InitSnd carries none. */
export function cryptoOverhead(type: Exclude<MessageName, 'InitSnd'>): number {
  return (
    headerSize(type) + constant('FooterDataSize') + (type === 'InitCryptoSnd' ? constant('MsgInitFillLenSize') : 0)
  );
}

/**
 * User data a packet of `type` holds within `mtu` for a segment at `offset`, with an ACK
 * section for an acknowledgement at `ackOffset` (null: no ACK section). InitSnd holds none.
 */
export function maxUserData(mtu: number, type: MessageName, offset: number, ackOffset: number | null): number {
  if (type === 'InitSnd') return 0;
  const wide = offset > NARROW_MAX || (ackOffset !== null && ackOffset > NARROW_MAX);
  return mtu - cryptoOverhead(type) - payloadOverhead(ackOffset !== null, wide, true);
}
