// One stream of a connection: a sender and a receiver half.
import { StreamReceiver } from './stream-receiver.js';
import { StreamSender } from './stream-sender.js';

export class Stream {
  readonly sender: StreamSender;
  readonly receiver = new StreamReceiver();
  /** When both directions finished, ns; the stream lingers CloseGrace for late packets. */
  closedAt: number | null = null;
  finishedReported = false;

  /** `onSend` runs when the application gives the sender something new to send. */
  constructor(
    readonly id: number,
    onSend: () => void = () => {},
  ) {
    this.sender = new StreamSender(onSend);
  }

  get bothDone(): boolean {
    return this.sender.finished && this.receiver.finished;
  }
}
