// Reading back what the endpoint sent: its datagrams on a connection, the ACKs it gave, the
// bytes of a stream as the tester reassembled them.
import type { Ack } from '@qotp/reference';
import type { Datagram } from '../capture/datagram.js';
import type { PeerConnection } from '../peer/peer-connection.js';
import type { TesterPeer } from '../peer/tester-peer.js';
import { PROBE_STREAM } from './payloads.js';

export interface Open {
  peer: TesterPeer;
  conn: PeerConnection;
  /** The tester's InitSnd or InitCryptoSnd. */
  first: Datagram;
  /** The endpoint's InitRcv or InitCryptoRcv. */
  reply: Datagram;
}

/** Datagrams of the endpoint on this connection that decoded. */
export function fromEndpoint(peer: TesterPeer, conn: PeerConnection, since = 0): Datagram[] {
  return peer.incoming(since).filter((d) => d.decoded !== null && d.decoded.connId === conn.connId);
}

/** The endpoint's datagrams on this connection whose ACK section names `streamId`. */
export function ackDatagrams(open: Open, streamId: number): Datagram[] {
  return fromEndpoint(open.peer, open.conn).filter((d) => d.decoded?.payload?.ack?.streamId === streamId);
}

/** The ACK sections the endpoint sent for `streamId`, in order. */
export const acksOf = (open: Open, streamId: number): Ack[] =>
  ackDatagrams(open, streamId).map((d) => d.decoded?.payload?.ack as Ack);
/** "ACKs of stream 3 seen: (0, 7), (6, 6)" or "no ACK of stream 3 came": for a message about a missing one. */
export function acksSeen(open: Open, streamId: number): string {
  const acks = acksOf(open, streamId);
  return acks.length === 0
    ? `no ACK of stream ${streamId} came`
    : `ACKs of stream ${streamId} seen (offset, length): ${acks.map((a) => `(${a.offset}, ${a.length})`).join(', ')}`;
}

/**
 * The highest stream offset the endpoint sent on a stream: above the data length means something was delivered twice.
 */
export function highestOffset(open: Open, streamId: number): number {
  let high = 0;
  for (const d of fromEndpoint(open.peer, open.conn)) {
    const s = d.decoded?.payload?.stream;
    if (s && s.streamId === streamId) high = Math.max(high, s.offset + s.data.length);
  }
  return high;
}

export interface StreamState {
  /** The in-order bytes received so far. */
  bytes: Uint8Array;
  /** Offset of the endpoint's CLOSE on this stream, when one came. */
  closeOffset: number | null;
}

/** Reassembles what the endpoint sent on one stream, as the tester received it. */
export function streamState(peer: TesterPeer, conn: PeerConnection, streamId: number): StreamState {
  const parts = new Map<number, Uint8Array>();
  let closeOffset: number | null = null;
  for (const d of fromEndpoint(peer, conn)) {
    const s = d.decoded?.payload?.stream;
    if (s === null || s === undefined || s.streamId !== streamId) continue;
    if (d.decoded?.payload?.isClose) closeOffset = s.offset + s.data.length;
    const known = parts.get(s.offset);
    if (known === undefined || known.length < s.data.length) parts.set(s.offset, s.data);
  }
  const chunks: Uint8Array[] = [];
  let end = 0;
  for (const [offset, data] of [...parts].sort((a, b) => a[0] - b[0])) {
    if (offset > end) break;
    if (offset + data.length > end) {
      chunks.push(data.subarray(end - offset));
      end = offset + data.length;
    }
  }
  return { bytes: Buffer.concat(chunks), closeOffset };
}

/** Anything the endpoint said about the probe stream: a sign that a packet meant to be dropped was accepted. */
export function probeReactions(peer: TesterPeer, conn: PeerConnection, since: number): Datagram[] {
  return fromEndpoint(peer, conn, since).filter(
    (d) => d.decoded?.payload?.ack?.streamId === PROBE_STREAM || d.decoded?.payload?.stream?.streamId === PROBE_STREAM,
  );
}

/** What came back on `streamId`, once it is `length` bytes or `ms` passed. */
export async function received(open: Open, streamId: number, length: number, ms: number): Promise<Uint8Array> {
  await waitUntil(open.peer, () => streamState(open.peer, open.conn, streamId).bytes.length >= length, ms);
  return streamState(open.peer, open.conn, streamId).bytes;
}

/** Waits until `done()` holds, re-checked at each datagram; false when `ms` passed first. */
export async function waitUntil(peer: TesterPeer, done: () => boolean, ms: number): Promise<boolean> {
  if (done()) return true;
  return (await peer.waitFor(() => done(), ms, 0)) !== null;
}
