// The message type of a datagram as the relays of the defect tests need it.
import { messageTypeOf } from '@qotp/reference';
import type { MessageName } from '@qotp/spec';

/** Whether the datagram's header byte names one of `types` (false for one too short to say). */
export function isType(bytes: Uint8Array, ...types: MessageName[]): boolean {
  try {
    return types.includes(messageTypeOf(bytes));
  } catch {
    return false;
  }
}
