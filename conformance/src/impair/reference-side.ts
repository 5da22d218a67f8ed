// The reference side of an impaired case: a reference client that echoes through the relay
// with the target's server, and a reference echo server behind the relay for the target's
// client. Both log their keys into a KeyCollector, so that the relay's record opens.
import { QotpSocket, type QotpConnection, type QotpStream } from '@qotp/reference/node';
import { performance } from 'node:perf_hooks';
import type { KeyCollector } from '../capture/key-log.js';
import { lastDatagramOf, type Relay } from './relay.js';
import { giveUpAllowed, readResends } from './resends.js';

export interface Echo {
  /** The bytes that came back, and when the last one did (ms after the dial). */
  received: Buffer;
  completeMs: number | null;
  /** Why the connection ended, if it did: the reference's close reason, or 'endpoint-gave-up'. */
  closed: string | null;
}

/**
 * How long the endpoint must have sent nothing, with a segment of its six times
 * unacknowledged, before the case takes it to have given up: the longest a conforming sender
 * waits after its sixth copy at the smallest RTO (100 ms * 2^5) is 3.2 s, and a sender that
 * closes is silent from then on.
 */
export const SILENT_AFTER_GIVE_UP_MS = 4000;

/**
 * A reference client's echo over the relay: the data on stream 0, collected until it is all
 * back, the connection ends, the endpoint gave up as the spec allows (silent, with a segment
 * of its sent six times unacknowledged) or the time limit passes.
 */
export function referenceEcho(
  relay: Relay,
  publicKey: Uint8Array | undefined,
  data: Uint8Array,
  limitMs: number,
  collector: KeyCollector,
): Promise<Echo> {
  const to = relay.address;
  return QotpSocket.listen({
    listen: to.startsWith('[') ? '[::1]:0' : '127.0.0.1:0',
    keyLog: collector.add,
    randomBytes: collector.randomBytes,
  }).then(
    (socket) =>
      new Promise<Echo>((resolve, reject) => {
        const started = performance.now();
        const chunks: Buffer[] = [];
        let received = 0;
        let finished = false;
        // The first of the endings above. Closing the socket afterwards ends the connection
        // too, which is then no longer news.
        const done = (complete: boolean, closed: string | null) => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          clearInterval(watch);
          const echo = {
            received: Buffer.concat(chunks),
            completeMs: complete ? performance.now() - started : null,
            closed,
          };
          void socket.close().then(() => resolve(echo));
        };
        const timer = setTimeout(() => done(false, null), limitMs);
        // A timer's exception would escape the case: it ends the echo and fails the case instead.
        const watch = setInterval(() => {
          try {
            const last = lastDatagramOf(relay, 'server');
            if (
              last !== null &&
              relay.now() - last >= SILENT_AFTER_GIVE_UP_MS &&
              giveUpAllowed(readResends(relay.captured, collector.keys(), relay.now()), 'server', 'server') !== null
            )
              done(false, 'endpoint-gave-up');
          } catch (e) {
            finished = true;
            clearTimeout(timer);
            clearInterval(watch);
            void socket.close().then(() => reject(e as Error));
          }
        }, 1000);
        const conn: QotpConnection = socket.dial(to, publicKey);
        conn.on('close', (reason: string) => done(false, reason));
        // Streams the endpoint opens (an endpoint of another layout can seem to) are not part
        // of the echo; their end with the connection must not escape the case as an error.
        conn.on('stream', (other: QotpStream) => other.on('error', () => {}));
        const stream: QotpStream = conn.stream(0);
        stream.on('error', () => {});
        stream.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          if (received >= data.length) done(true, null);
        });
        stream.write(data);
      }),
  );
}

/** What the reference echo server got on stream 0: the bytes, and whether the client closed it. */
export interface Received {
  chunks: Buffer[];
  closed: boolean;
}

/**
 * A reference echo server: every stream's data back on the same stream, closed when the peer
 * closes; what arrives on stream 0 is kept, so that a client's exit 0 is checked against it.
 */
export async function referenceEchoServer(collector: KeyCollector, received: Received): Promise<QotpSocket> {
  const socket = await QotpSocket.listen({
    listen: '127.0.0.1:0',
    keyLog: collector.add,
    randomBytes: collector.randomBytes,
  });
  socket.on('connection', (conn: QotpConnection) => {
    conn.on('stream', (stream: QotpStream) => {
      stream.on('error', () => {});
      stream.on('data', (chunk: Buffer) => {
        if (stream.id === 0) received.chunks.push(chunk);
        stream.write(chunk);
      });
      stream.on('end', () => {
        if (stream.id === 0) received.closed = true;
        stream.end();
      });
    });
  });
  return socket;
}
