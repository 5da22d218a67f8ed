// Building blocks of the cases: opening a connection, acknowledging the endpoint's data,
// reading back what it sent on a stream, and proving it still works after an insult.
import { payloadOverhead, publicKeyOf, type Ack, type Payload } from '@qotp/reference';
import { constant } from '@qotp/spec';
import { randomBytes } from 'node:crypto';
import type { Datagram } from '../peer/datagram.js';
import { PeerConnection } from '../peer/peer-connection.js';
import type { TesterPeer } from '../peer/tester-peer.js';
import type { CaseContext, CaseDefinition } from './case.js';

/** How long a reply may take on a loaded 2-core machine. */
export const REPLY_MS = 2000;
/** How long the tester listens before it concludes that nothing came. */
export const SILENCE_MS = 600;
/** How long the tester waits for what an RTO triggers (a resend, a probe): the RTO is at most MaxRto; and slack. */
export const RTO_WAIT_MS = constant('MaxRto') / 1e6 + 1000;
/** The receive window the tester advertises: large enough never to hold an endpoint back. */
export const WINDOW = 1 << 24;
/** Stream of packets that must be dropped: anything the endpoint says about it means one was accepted. */
export const PROBE_STREAM = 77;

export interface Open {
  peer: TesterPeer;
  conn: PeerConnection;
  /** The tester's InitSnd or InitCryptoSnd. */
  first: Datagram;
  /** The endpoint's InitRcv or InitCryptoRcv. */
  reply: Datagram;
}

export const dataPayload = (streamId: number, offset: number, data: Uint8Array, isClose = false): Payload => ({
  isClose,
  ack: null,
  stream: { streamId, offset, data },
});

export const ackOnly = (streamId: number, offset: number, length: number, window = WINDOW): Payload => ({
  isClose: false,
  ack: { streamId, offset, length, window },
  stream: null,
});

/** Header and stream section of a DATA payload without ACK, narrow offsets (8 bytes). */
const PROBE_OVERHEAD = payloadOverhead(false, false, true);

/** A payload of exactly `length` bytes (at least 8) on a probe stream. */
export function probePayload(length: number, streamId = PROBE_STREAM): Payload {
  return dataPayload(streamId, 0, new Uint8Array(Math.max(0, length - PROBE_OVERHEAD)).fill(0x70));
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Deterministic bytes of a given length, so that misplaced data shows. */
export function pattern(length: number, seed = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

/** Datagrams of the endpoint on this connection that decoded. */
export function fromEndpoint(peer: TesterPeer, conn: PeerConnection, since = 0): Datagram[] {
  return peer.incoming(since).filter((d) => d.decoded !== null && d.decoded.connId === conn.connId);
}

let identity: { privateKey: Uint8Array; publicKey: Uint8Array } | undefined;
/** The tester's identity key pair, one for the whole run, as a client would have. */
export function testerIdentity(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  if (identity === undefined) {
    const privateKey = new Uint8Array(randomBytes(32));
    identity = { privateKey, publicKey: publicKeyOf(privateKey) };
  }
  return identity;
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

/**
 * Opens a connection from a new or given peer: InitSnd, or InitCryptoSnd carrying `zeroRtt` on
 * stream 0. No answer fails under the reply's layout clause, or under `unanswered` where the
 * first packet is what the case tests (an endpoint that drops it breaks that case's rule).
 */
export async function handshake(
  ctx: CaseContext,
  options: { peer?: TesterPeer; zeroRtt?: Uint8Array; mtu?: number; unanswered?: string } = {},
): Promise<Open> {
  const peer = options.peer ?? (await ctx.peer());
  const conn = peer.add(
    new PeerConnection('initiator', {
      identity: testerIdentity(),
      ...(ctx.endpoint.publicKey ? { peerIdentityPublicKey: ctx.endpoint.publicKey } : {}),
    }),
  );
  const mtu = options.mtu ?? ctx.endpoint.mtu;
  const zeroRtt = options.zeroRtt !== undefined;
  const first =
    options.zeroRtt !== undefined
      ? peer.send(
          conn.initCryptoSnd(dataPayload(0, 0, options.zeroRtt), mtu),
          'InitCryptoSnd (0-RTT) with data on stream 0',
        )
      : peer.send(conn.initSnd(mtu), 'InitSnd');
  const expected = zeroRtt ? 'InitCryptoRcv' : 'InitRcv';
  const clause = zeroRtt ? 'crypto.init-crypto-rcv.layout' : 'crypto.init-rcv.layout';
  const reply = await peer.waitFor((d) => conn.owns(d.bytes), REPLY_MS);
  if (reply === null) {
    // Say what did come: an answer under another connection id or one that is not QOTP at all.
    const other = peer.incoming(first.index + 1);
    const seen =
      other.length === 0
        ? 'nothing arrived from the endpoint'
        : `${other.length} datagram(s) arrived but none for this connection id; the first: ${other[0]?.bytes.length} bytes, starting ${Buffer.from(other[0]?.bytes.subarray(0, 12) ?? []).toString('hex')}`;
    ctx.expect(
      options.unanswered ?? clause,
      false,
      `no answer to the ${zeroRtt ? 'InitCryptoSnd' : 'InitSnd'} within ${REPLY_MS} ms (${seen})`,
    );
  }
  ctx.expect(
    zeroRtt ? 'crypto.init-crypto-rcv.secret' : 'crypto.init-rcv.secret',
    reply.decoded !== null,
    `the answer to the ${zeroRtt ? 'InitCryptoSnd' : 'InitSnd'} does not decode: ${reply.error}`,
  );
  ctx.expect(clause, reply.decoded.type === expected, `the answer is a ${reply.decoded.type}, expected ${expected}`);
  return { peer, conn, first, reply };
}

export type CaseHeader = Pick<CaseDefinition, 'id' | 'title' | 'clauses'> &
  Partial<Pick<CaseDefinition, 'level' | 'requires' | 'needsLaunch' | 'timeoutMs' | 'slow' | 'waitsOnTimer'>>;

/**
 * A server-role case (MUST and 10 s unless the header says otherwise) whose script starts
 * on an open connection whose every segment the tester acknowledges.
 */
export function onConnection(
  header: CaseHeader,
  script: (ctx: CaseContext, open: Open) => Promise<void>,
): CaseDefinition {
  return {
    level: 'MUST',
    role: 'server',
    timeoutMs: 10_000,
    ...header,
    async run(ctx: CaseContext) {
      const open = await handshake(ctx);
      autoAck(open);
      await script(ctx, open);
    },
  };
}

/**
 * Acknowledges every segment the endpoint sends on this connection with an ACK-only
 * packet advertising `window` (except those `withhold` picks), starting with the handshake reply's (a responder may
 * hold its data back until
 * the initiator's first Data packet, as the Go original does).
 */
export function autoAck(open: Open, window = WINDOW, withhold: (d: Datagram) => boolean = () => false): void {
  const { peer, conn } = open;
  const acknowledge = (d: Datagram) => {
    const s = d.decoded?.payload?.stream;
    if (d.decoded?.connId !== conn.connId || s === undefined || s === null || withhold(d)) return;
    peer.send(conn.data(ackOnly(s.streamId, s.offset, s.data.length, window)), 'ACK');
  };
  const previous = peer.onDatagram;
  peer.onDatagram = (d) => {
    previous?.(d);
    acknowledge(d);
  };
  acknowledge(open.reply);
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

/** Waits until `done()` holds, re-checked at each datagram; false when `ms` passed first. */
export async function waitUntil(peer: TesterPeer, done: () => boolean, ms: number): Promise<boolean> {
  if (done()) return true;
  return (await peer.waitFor(() => done(), ms, 0)) !== null;
}

/** Sends `data` on a stream in segments of `segment` bytes (the last one a CLOSE when `close`). */
export function sendStream(
  open: Open,
  streamId: number,
  data: Uint8Array,
  options: { segment?: number; close?: boolean; from?: number } = {},
): void {
  const segment = options.segment ?? 1000;
  const from = options.from ?? 0;
  if (data.length === 0 && options.close) {
    open.peer.send(open.conn.data(dataPayload(streamId, from, data, true)), `CLOSE stream ${streamId} at ${from}`);
    return;
  }
  for (let at = 0; at < data.length; at += segment) {
    const last = at + segment >= data.length;
    const isClose = last && options.close === true;
    const chunk = data.subarray(at, at + segment);
    open.peer.send(
      open.conn.data(dataPayload(streamId, from + at, chunk, isClose)),
      `${isClose ? 'CLOSE' : 'DATA'} stream ${streamId} offset ${from + at}`,
    );
  }
}

/** Sends `data` and waits for its echo on the same stream; returns what came back. */
export async function echo(
  open: Open,
  streamId: number,
  data: Uint8Array,
  options: { segment?: number; close?: boolean; waitMs?: number } = {},
): Promise<Uint8Array> {
  sendStream(open, streamId, data, options);
  await waitUntil(
    open.peer,
    () => streamState(open.peer, open.conn, streamId).bytes.length >= data.length,
    options.waitMs ?? REPLY_MS * 2,
  );
  return streamState(open.peer, open.conn, streamId).bytes;
}

export const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

/**
 * Fails with `clause` unless the endpoint acknowledges the tester's segment; it is resent
 * up to twice, as a sender would (an ACK may be lost, or discarded during pacing: G8).
 */
export async function expectAcknowledged(
  ctx: CaseContext,
  open: Open,
  clause: string,
  segment: { streamId: number; offset: number; data: Uint8Array; isClose: boolean },
  what: string,
): Promise<void> {
  const { streamId, offset, data } = segment;
  const acked = () => acksOf(open, streamId).some((a) => a.offset === offset && a.length === data.length);
  for (let copy = 1; copy < 3 && !(await waitUntil(open.peer, acked, REPLY_MS / 2)); copy++) {
    open.peer.send(open.conn.data(dataPayload(streamId, offset, data, segment.isClose)), `${what} again`);
  }
  await waitUntil(open.peer, acked, REPLY_MS / 2);
  ctx.expect(
    clause,
    acked(),
    `${what} (stream ${streamId}, offset ${offset}, ${data.length} bytes) was never acknowledged (sent 3 times); ${acksSeen(open, streamId)}`,
  );
}

let aliveStream = 900;
/**
 * Fails with `clause` unless the connection still echoes a probe on a fresh stream. The probe is sent up to
 * three times, as a sender would retransmit it: after a burst the endpoint's socket buffer
 * may have dropped the first copy, which says nothing about the endpoint.
 */
export async function expectAlive(ctx: CaseContext, open: Open, clause: string, after: string): Promise<void> {
  const streamId = aliveStream++;
  const probe = text(`still there? ${streamId}`);
  let got: Uint8Array = new Uint8Array(0);
  let tries = 0;
  while (tries < 3 && got.length < probe.length) {
    tries++;
    got = await echo(open, streamId, probe, { waitMs: REPLY_MS });
  }
  if (tries > 1) ctx.note(`the probe after ${after} was echoed only after ${tries} sends`);
  ctx.expect(
    clause,
    equal(got, probe),
    `the connection no longer echoes after ${after} (${got.length} of ${probe.length} bytes came back on stream ${streamId}, probe sent ${tries} times, ${REPLY_MS} ms apart)`,
  );
}

/** Fails with `clause` unless a new connection from a new peer completes a handshake and an echo. */
export async function expectServing(ctx: CaseContext, clause: string, after: string): Promise<void> {
  let open: Open;
  try {
    open = await handshake(ctx);
  } catch (e) {
    ctx.expect(clause, false, `no new connection is possible after ${after}: ${(e as Error).message}`);
  }
  autoAck(open);
  const probe = text('new connection');
  const got = await echo(open, 0, probe);
  ctx.expect(clause, equal(got, probe), `a new connection does not echo after ${after}`);
}

/** Anything the endpoint said about the probe stream: a sign that a packet meant to be dropped was accepted. */
export function probeReactions(peer: TesterPeer, conn: PeerConnection, since: number): Datagram[] {
  return fromEndpoint(peer, conn, since).filter(
    (d) => d.decoded?.payload?.ack?.streamId === PROBE_STREAM || d.decoded?.payload?.stream?.streamId === PROBE_STREAM,
  );
}
