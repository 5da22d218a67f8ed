// The sending half of one stream: bytes queued by the application, segments in flight
// until acknowledged (keyed by offset and length, oldest first), and the close offset.
// Its state is the spec's stream-send table (open, closing, close-sent, closed).
import { QotpError } from '../errors.js';
import { Machine } from './state-machine.js';

export interface Segment {
  offset: number;
  data: Uint8Array;
  /** Time of the latest transmission, ns. */
  sentAt: number;
  transmissions: number;
  /** An empty segment that is dropped instead of retransmitted when its RTO runs out. */
  isPing: boolean;
  isClose: boolean;
}

const key = (offset: number, length: number): string => `${offset}:${length}`;

export class StreamSender {
  private readonly queue: Uint8Array[] = [];
  private queueHead = 0; // bytes of queue[0] already taken
  queuedBytes = 0;
  /** Offset of the next byte never sent before. */
  sentOffset = 0;
  /** Where this direction ends; set by close(). */
  closeAt: number | null = null;
  readonly machine = new Machine('stream-send');
  private pingRequested: 'reliable' | 'once' | null = null;
  /** Unacknowledged segments, in order of first transmission. */
  readonly inFlight = new Map<string, Segment>();

  /** `onSend` runs on write, close and ping: the connection then asks to be polled. */
  constructor(private readonly onSend: () => void = () => {}) {}

  write(data: Uint8Array): void {
    if (this.machine.state !== 'open') throw new QotpError('invalid-argument', 'stream is closed for writing');
    if (data.length === 0) return;
    this.queue.push(data.slice());
    this.queuedBytes += data.length;
    this.onSend();
  }

  /** Asks for an empty segment to be acknowledged; a reliable one is retransmitted like data. */
  ping(options: { reliable?: boolean } = {}): void {
    this.pingRequested = options.reliable === true ? 'reliable' : 'once';
    this.onSend();
  }

  /**
   * Ends this direction after everything written so far: asked by the application, or
   * by the peer's CLOSE (clause close.answer). A second close changes nothing.
   */
  close(by: 'application' | 'peer' = 'application'): void {
    if (this.machine.state !== 'open') return;
    this.machine.take(by === 'peer' ? 'peer-close' : 'app-close');
    this.closeAt = this.sentOffset + this.queuedBytes;
    this.onSend();
  }

  get hasNewData(): boolean {
    if (this.queuedBytes > 0) return true;
    return (this.pingRequested !== null || this.machine.state === 'closing') && !this.emptySegmentInFlight;
  }

  /**
   * An ACK names a segment by stream, offset and length only, so two empty segments at one
   * offset (a PING and an empty CLOSE) cannot be told apart: the ACK of the first would
   * retire the second, and were that one lost nothing would resend it. So an empty segment
   * waits while another one at its offset is in flight (clause stream.one-empty-segment).
   */
  private get emptySegmentInFlight(): boolean {
    return this.inFlight.has(key(this.sentOffset, 0));
  }

  /** The next new segment with at most `maxData` bytes, recorded as in flight; null when there is none. */
  take(maxData: number, now: number): Segment | null {
    if (this.pingRequested !== null && !this.emptySegmentInFlight) {
      const isPing = this.pingRequested === 'once';
      this.pingRequested = null;
      return this.track({
        offset: this.sentOffset,
        data: new Uint8Array(0),
        sentAt: now,
        transmissions: 1,
        isPing,
        isClose: false,
      });
    }
    if (this.queuedBytes === 0) {
      if (this.machine.state !== 'closing' || this.emptySegmentInFlight) return null;
      this.machine.take('close-out'); // an empty CLOSE: nothing was left to carry the flag
      return this.track({
        offset: this.sentOffset,
        data: new Uint8Array(0),
        sentAt: now,
        transmissions: 1,
        isPing: false,
        isClose: true,
      });
    }
    const data = this.dequeue(Math.min(maxData, this.queuedBytes));
    const offset = this.sentOffset;
    this.sentOffset += data.length;
    const isClose = this.machine.state === 'closing' && this.sentOffset >= (this.closeAt as number);
    this.machine.take(this.machine.state === 'open' ? 'send' : isClose ? 'close-out' : 'drain');
    return this.track({ offset, data, sentAt: now, transmissions: 1, isPing: false, isClose });
  }

  /** The oldest unacknowledged segment. */
  oldest(): Segment | undefined {
    return this.inFlight.values().next().value;
  }

  /** Removes the segment an ACK names; undefined when no such segment is in flight (a duplicate ACK). */
  acknowledge(offset: number, length: number): Segment | undefined {
    const k = key(offset, length);
    const segment = this.inFlight.get(k);
    this.inFlight.delete(k);
    this.checkDone();
    return segment;
  }

  /** Drops a segment that is not to be resent (a PING whose RTO ran out). */
  forget(segment: Segment): void {
    this.inFlight.delete(key(segment.offset, segment.data.length));
    this.checkDone();
  }

  /** The CLOSE of a segment being resent: every copy keeps the flag (clause close.sent-once). */
  resent(segment: Segment): void {
    if (segment.isClose) this.machine.take('close-resent');
  }

  /** Everything up to the close offset was sent and acknowledged. */
  get finished(): boolean {
    return this.machine.state === 'closed';
  }

  private checkDone(): void {
    if (this.machine.state === 'close-sent' && this.inFlight.size === 0) this.machine.take('close-acked');
  }

  private track(segment: Segment): Segment {
    this.inFlight.set(key(segment.offset, segment.data.length), segment);
    return segment;
  }

  private dequeue(length: number): Uint8Array {
    const first = this.queue[0] as Uint8Array;
    if (first.length - this.queueHead >= length) {
      // The common case, a segment inside one written chunk: a view, no copy. write() took
      // its own copy of the chunk, so nothing changes it; it is freed once its last
      // segment is acknowledged.
      const view = first.subarray(this.queueHead, this.queueHead + length);
      this.advance(length);
      return view;
    }
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.queue[0] as Uint8Array;
      const n = Math.min(chunk.length - this.queueHead, length - filled);
      out.set(chunk.subarray(this.queueHead, this.queueHead + n), filled);
      filled += n;
      this.advance(n);
    }
    return out;
  }

  /** Takes `n` bytes off the front of the queue (never more than the first chunk holds). */
  private advance(n: number): void {
    this.queueHead += n;
    this.queuedBytes -= n;
    if (this.queueHead === (this.queue[0] as Uint8Array).length) {
      this.queue.shift();
      this.queueHead = 0;
    }
  }
}
