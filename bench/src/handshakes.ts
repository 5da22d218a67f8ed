// Handshakes per second and time to the first echoed byte, in-band (1-RTT) and 0-RTT,
// against the TS reference server and the Go server. The client side is the conformance
// runner's tester peer (packet level, the same for both servers), one handshake at a
// time: a handshake, one byte of data, its echo and the ACK of the echo, next connection.
import { bundledTarget, PeerConnection, startServer, TesterPeer } from '@qotp/conformance';
import { publicKeyOf } from '@qotp/reference';
import { parseHostPort } from '@qotp/reference/node';
import { randomBytes } from 'node:crypto';
import { summarize, type Summary } from './measure.js';

export interface HandshakeRow {
  server: string;
  mode: '1-RTT' | '0-RTT';
  /** Complete handshakes with one echoed byte, per second. */
  perSecond: Summary;
  /** Milliseconds from the first packet to the echoed byte. */
  firstByteMs: Summary;
  /** First packets sent again because no reply came within RESEND_MS. */
  resent: number;
  /** Connections that never echoed (TRIES first packets without a reply, or no echo). */
  failed: number;
}

export interface HandshakeOptions {
  handshakes: number;
  repeats: number;
}

/** The client's identity key pair, one for all connections. */
interface Identity {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

const ONE_BYTE = { isClose: false, ack: null, stream: { streamId: 0, offset: 0, data: Uint8Array.of(0x2a) } };

/** Resends the first packet after this long without a reply, as a client would after its RTO. */
const RESEND_MS = 200;
const TRIES = 5;

/**
 * One connection: handshake, one byte (in the 0-RTT packet, or after the reply), its echo.
 * Returns the ms from the first packet to the echo and how many times the first packet
 * went out; null when no echo came after TRIES sends.
 */
async function oneEcho(
  peer: TesterPeer,
  server: { publicKey: Uint8Array },
  zeroRtt: boolean,
  identity: Identity,
): Promise<{ ms: number; sends: number } | null> {
  const conn = peer.add(new PeerConnection('initiator', { identity, peerIdentityPublicKey: server.publicKey }));
  const echoed = peer.waitFor(
    (d) => d.decoded?.connId === conn.connId && (d.decoded.payload?.stream?.data.length ?? 0) > 0,
    RESEND_MS * TRIES * 2,
  );
  const start = performance.now();
  const first = zeroRtt ? conn.initCryptoSnd(ONE_BYTE) : conn.initSnd();
  let reply = null;
  let sends = 0;
  while (reply === null && sends < TRIES) {
    peer.send(first);
    sends++;
    reply = await peer.waitFor((d) => conn.owns(d.bytes) && d.decoded !== null, RESEND_MS, 0);
  }
  if (reply === null) return null;
  // After the reply the client sends a Data packet: its byte (1-RTT) or an ACK of the reply (0-RTT);
  // a responder sends its echo only after the initiator's first Data packet.
  const ack = { isClose: false, ack: { streamId: 0, offset: 0, length: 0, window: 1 << 20 }, stream: null };
  peer.send(conn.data(zeroRtt ? ack : ONE_BYTE));
  const echo = (await echoed)?.decoded?.payload?.stream;
  if (echo === undefined || echo === null) return null;
  const ms = performance.now() - start;
  // Acknowledge the echo, as a client would: an unacknowledged echo keeps the server
  // retransmitting for this connection, and hundreds of those would weigh on the next handshakes.
  peer.send(
    conn.data({
      isClose: false,
      ack: { streamId: 0, offset: echo.offset, length: echo.data.length, window: 1 << 20 },
      stream: null,
    }),
  );
  return { ms, sends };
}

export async function handshakeRows(o: HandshakeOptions): Promise<HandshakeRow[]> {
  const rows: HandshakeRow[] = [];
  const privateKey = new Uint8Array(randomBytes(32));
  const identity: Identity = { privateKey, publicKey: publicKeyOf(privateKey) };
  for (const name of ['reference', 'go']) {
    const server = await startServer(bundledTarget(name), '/dev/null');
    try {
      for (const zeroRtt of [false, true]) {
        const perSecond: number[] = [];
        const firstByte: number[] = [];
        let failed = 0;
        let resent = 0;
        for (let r = 0; r < o.repeats; r++) {
          const peer = await TesterPeer.open({
            target: parseHostPort(server.address),
            timeline: [],
            epoch: performance.now(),
            mtu: 1400,
          });
          try {
            const start = performance.now();
            for (let i = 0; i < o.handshakes; i++) {
              const one = await oneEcho(peer, server, zeroRtt, identity);
              if (one === null) failed++;
              else {
                firstByte.push(one.ms);
                resent += one.sends - 1;
              }
            }
            perSecond.push((o.handshakes * 1000) / (performance.now() - start));
          } finally {
            peer.close();
          }
        }
        if (firstByte.length === 0)
          throw new Error(`no handshake with ${name} (${zeroRtt ? '0-RTT' : '1-RTT'}) completed`);
        rows.push({
          server: name,
          mode: zeroRtt ? '0-RTT' : '1-RTT',
          perSecond: summarize(perSecond),
          firstByteMs: summarize(firstByte),
          resent,
          failed,
        });
      }
    } finally {
      server.stop();
    }
  }
  return rows;
}
