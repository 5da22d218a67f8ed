// Scripting the tester: opening a connection, acknowledging what the endpoint sends, sending
// a stream and waiting for its echo.
import { publicKeyOf } from '@qotp/reference';
import { randomBytes } from 'node:crypto';
import type { Datagram } from '../capture/datagram.js';
import { PeerConnection } from '../peer/peer-connection.js';
import type { TesterPeer } from '../peer/tester-peer.js';
import type { CaseContext } from './case.js';
import { type Open, received } from './observe.js';
import { ackOnly, dataPayload, WINDOW } from './payloads.js';
import { REPLY_MS } from './timing.js';

let identity: { privateKey: Uint8Array; publicKey: Uint8Array } | undefined;
/** The tester's identity key pair, one for the whole run, as a client would have. */
export function testerIdentity(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  if (identity === undefined) {
    const privateKey = new Uint8Array(randomBytes(32));
    identity = { privateKey, publicKey: publicKeyOf(privateKey) };
  }
  return identity;
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
        : `${other.length} datagram(s) arrived but none for this connection id; the ` +
          `first: ${other[0]?.bytes.length} bytes, ` +
          `starting ${Buffer.from(other[0]?.bytes.subarray(0, 12) ?? []).toString('hex')}`;
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

/**
 * Acknowledges every segment the endpoint sends on this connection with an ACK-only packet
 * advertising `window` (except those `withhold` picks), starting with the handshake reply's
 * (a responder may hold its data back until the initiator's first Data packet, as the Go
 * original does).
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
  return received(open, streamId, data.length, options.waitMs ?? REPLY_MS * 2);
}
