// The receive buffer's bytes, as the window sees them: one budget of ReceiveBufferCapacity
// per connection over all its streams, taken by every byte held (in order or behind a gap)
// until the application reads it.
import { constant } from '@qotp/spec';

const RECEIVE_CAPACITY = constant('ReceiveBufferCapacity');

/**
 * Whether a segment with `length` data bytes may be taken while `buffered` bytes are held
 * (clause stream.buffer-full): the check counts the whole segment, duplicate bytes too, as
 * the Go original's ReceiveBuffer.Insert does. Empty segments always fit.
 */
export const fitsReceiveBuffer = (buffered: number, length: number, capacity: number = RECEIVE_CAPACITY): boolean =>
  length === 0 || buffered + length <= capacity;

/**
 * The window an ACK advertises while `buffered` bytes are held (clause flow.window-advertised), before its window code.
 */
export const advertisedWindow = (buffered: number, capacity: number = RECEIVE_CAPACITY): number =>
  Math.max(capacity - buffered, 0);
