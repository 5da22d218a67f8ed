// Vectors for the window a receiver advertises while it holds bytes (clauses
// flow.window-advertised, stream.buffer-full): a receive buffer fed segments in order, behind
// gaps, twice, and past its capacity, with the application reading in between; after each
// step the bytes held and the window an ACK would carry. Computed with the reference's
// StreamReceiver and its connection-wide budget (engine/receive-window.ts).
import { advertisedWindow, decodeRcvWindow, encodeRcvWindow, fitsReceiveBuffer, StreamReceiver } from '@qotp/reference';
import { constant } from '@qotp/spec';
import type { RcvBufferFile, RcvBufferStep, RcvBufferTest } from '../types.js';
import { vectorFile } from './envelope.js';

/** One step to feed a receive buffer: insert (stream, offset, length), or read a stream. */
export type RcvBufferOp = ['insert', number, number, number] | ['read', number];

/** The bytes of a stream at an offset: the same wherever a segment covering it comes from. */
const bytesAt = (offset: number, length: number): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => (offset + i) & 255);

/**
 * Feeds `ops` to a fresh receive buffer of `capacity` bytes (the reference's StreamReceiver per
 * stream, under one connection budget) and says after each what it held and would advertise.
 */
export function replayRcvBuffer(capacity: number, ops: RcvBufferOp[]): RcvBufferStep[] {
  const streams = new Map<number, StreamReceiver>();
  let buffered = 0;
  const receiver = (streamId: number) =>
    streams.get(streamId) ?? streams.set(streamId, new StreamReceiver()).get(streamId)!;
  const window = () => decodeRcvWindow(encodeRcvWindow(advertisedWindow(buffered, capacity)));
  return ops.map((op): RcvBufferStep => {
    if (op[0] === 'read') {
      const got = receiver(op[1]).read();
      buffered -= got.length;
      return { op: 'read', streamId: op[1], bytes: got.length, buffered, window: window() };
    }
    const [, streamId, offset, length] = op;
    let result: RcvBufferStep['result'] = 'full';
    if (fitsReceiveBuffer(buffered, length, capacity)) {
      const added = receiver(streamId).receive(offset, bytesAt(offset, length), false) ?? 0;
      buffered += added;
      result = added > 0 ? 'kept' : 'duplicate';
    }
    return { op: 'insert', streamId, offset, length, result, buffered, window: window() };
  });
}

function run(id: string, comment: string, capacity: number, ops: RcvBufferOp[]): RcvBufferTest {
  return {
    id: `buffer.window.${id}`,
    comment,
    flags: [],
    clauses: ['flow.window-advertised', 'stream.buffer-full'],
    result: 'valid',
    capacity,
    steps: replayRcvBuffer(capacity, ops),
  };
}

export function generateRcvBuffer(): RcvBufferFile {
  const capacity = constant('ReceiveBufferCapacity');
  const tests = [
    run(
      'held-behind-gap',
      'Two segments behind a gap are held and count against the window; the gap arrives, the application reads ' +
        'all three, the window is whole again.',
      capacity,
      [
        ['insert', 1, 1000, 1000],
        ['insert', 1, 2000, 1000],
        ['insert', 1, 0, 1000],
        ['read', 1],
      ],
    ),
    run(
      'duplicate',
      'A segment that comes twice is held once; after the read, a copy below the read position adds nothing.',
      capacity,
      [
        ['insert', 1, 0, 500],
        ['insert', 1, 0, 500],
        ['read', 1],
        ['insert', 1, 0, 500],
      ],
    ),
    run(
      'two-streams',
      "The budget is the connection's: bytes held on one stream narrow the window for both; reading one stream " +
        'frees only its bytes.',
      capacity,
      [
        ['insert', 1, 100, 400],
        ['insert', 2, 0, 300],
        ['read', 2],
        ['read', 1],
        ['insert', 1, 0, 100],
        ['read', 1],
      ],
    ),
    run(
      'full',
      'A small buffer (3000 bytes) filled exactly behind a gap: one more byte does not fit and is dropped ' +
        'unacknowledged, and neither does the gap itself (a sender that kept to the window never sends it).',
      3000,
      [
        ['insert', 1, 1, 1000],
        ['insert', 1, 1001, 1000],
        ['insert', 1, 2001, 1000],
        ['insert', 1, 3001, 1],
        ['insert', 1, 0, 1],
      ],
    ),
    run(
      'full-then-read',
      'A buffer of 3000 bytes full of readable bytes takes nothing more until the application reads.',
      3000,
      [
        ['insert', 1, 0, 1500],
        ['insert', 1, 1500, 1500],
        ['insert', 1, 3000, 500],
        ['read', 1],
        ['insert', 1, 3000, 500],
      ],
    ),
  ];
  return vectorFile(
    'rcv-buffer',
    'QOTP receive buffer: the bytes held and the advertised window as segments arrive and the application reads',
    [
      'Feed `steps` in order into a fresh receive buffer of `capacity` bytes (one budget for the whole ' +
        'connection): `insert` a segment of `length` bytes at `offset` of stream `streamId` (its bytes do not ' +
        'matter), or `read` everything stream `streamId` has in order.',
      'An insert is `kept` (new bytes held), a `duplicate` (nothing new; acknowledged all the same) or `full` ' +
        '(the segment would take the bytes held past the capacity, duplicate bytes counted: dropped and not ' +
        'acknowledged).',
      'After each step `buffered` bytes are held and an ACK carries the window `window`: the window code of ' +
        'capacity - buffered, decoded (flow.window-advertised).',
    ],
    {},
    [{ tests }],
  );
}
