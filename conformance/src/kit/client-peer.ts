// Client-role cases: the tester plays the server. It launches the implementation's
// client against itself, answers its first packet and echoes what the client sends,
// closing each stream once the client closed it and every byte went back.
import type { Datagram } from '../capture/datagram.js';
import { PeerConnection } from '../peer/peer-connection.js';
import { headerByte } from '@qotp/reference';
import { parseHostPort } from '@qotp/reference/node';
import type { TesterPeer } from '../peer/tester-peer.js';
import type { CaseContext, ClientRun } from './case.js';
import { streamState } from './observe.js';
import { ackOnly, dataPayload, WINDOW } from './payloads.js';

/** How long a client process may take to start and send its first packet. */
export const CLIENT_START_MS = 8000;

export interface ClientSession {
  peer: TesterPeer;
  conn: PeerConnection;
  client: ClientRun;
  /** The client's InitSnd or InitCryptoSnd. */
  first: Datagram;
}

/** Starts the client and waits for its first packet; the tester has not answered yet. */
export async function acceptClient(
  ctx: CaseContext,
  options: { zeroRtt: boolean; input: Uint8Array },
): Promise<ClientSession> {
  const peer = await ctx.peer();
  const conn = peer.add(new PeerConnection('responder'));
  const client = await ctx.startClient({
    peer,
    identityPublicKey: conn.identityPublicKey,
    zeroRtt: options.zeroRtt,
    input: options.input,
  });
  const first = await Promise.race([peer.waitFor(() => true, CLIENT_START_MS, 0), client.exited]);
  if (first !== null && 'code' in first) {
    if (first.spawnError !== null) throw new Error(first.spawnError); // the target file's command, not the endpoint
    ctx.expect(
      'harness.client-start',
      false,
      `the client exited with status ${first.code} before it sent anything` +
        (first.stdout.trim()
          ? `; its last output: ${first.stdout.trim().split('\n').slice(-5).join(' | ')}`
          : ' (it printed nothing)'),
    );
  }
  ctx.expect(
    'harness.client-start',
    first !== null,
    `the client sent nothing within ${CLIENT_START_MS} ms and is still running`,
  );
  // A first packet below the MTU does not decode (a responder drops it, amplification): say why.
  const shortFirst =
    first.decoded === null &&
    first.bytes.length < ctx.endpoint.mtu &&
    (first.bytes[0] === headerByte('InitSnd') || first.bytes[0] === headerByte('InitCryptoSnd'));
  ctx.expect(
    options.zeroRtt ? 'crypto.init-crypto-snd.filler' : 'crypto.init-snd.padding',
    !shortFirst,
    `the client's first packet has ${first.bytes.length} bytes, less than the MTU of ${ctx.endpoint.mtu} it ` +
      `must be filled to: ${first.error}`,
  );
  ctx.expect(
    options.zeroRtt ? 'crypto.init-crypto-snd.layout' : 'crypto.init-snd.layout',
    first.decoded !== null,
    `the client's first datagram (${first.bytes.length} bytes) does not decode: ${first.error}`,
  );
  peer.target = parseHostPort(first.from);
  return { peer, conn, client, first };
}

const CHUNK = 1000;

/** How the client process ended, or null while it still runs after `ms`. */
export function clientExit(session: ClientSession, ms: number): Promise<Awaited<ClientRun['exited']> | null> {
  return Promise.race([session.client.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))]);
}

/** Answers the first packet and echoes every stream from now on. */
export function serveEcho(session: ClientSession): void {
  const { peer, conn, first } = session;
  const echoed = new Map<number, number>();
  const closed = new Set<number>();

  const echoStream = (streamId: number, closeOffset: number | null) => {
    const have = streamState(peer, conn, streamId).bytes;
    let done = echoed.get(streamId) ?? 0;
    while (done < have.length) {
      const chunk = have.subarray(done, done + CHUNK);
      peer.send(conn.data(dataPayload(streamId, done, chunk)), `echo stream ${streamId} offset ${done}`);
      done += chunk.length;
    }
    echoed.set(streamId, done);
    if (closeOffset !== null && done >= closeOffset && !closed.has(streamId)) {
      closed.add(streamId);
      peer.send(
        conn.data(dataPayload(streamId, closeOffset, new Uint8Array(0), true)),
        `CLOSE stream ${streamId} at ${closeOffset}`,
      );
    }
  };

  // The reply: an ACK of the 0-RTT data with its echo, or an ACK-only InitRcv.
  const s = first.decoded?.payload?.stream;
  if (first.decoded?.type === 'InitCryptoSnd' && s) {
    const payload = {
      isClose: false,
      ack: { streamId: s.streamId, offset: s.offset, length: s.data.length, window: WINDOW },
      stream: { streamId: s.streamId, offset: 0, data: s.data },
    };
    peer.send(conn.reply(payload, 'InitCryptoRcv'), 'InitCryptoRcv with ACK and the echo of the 0-RTT data');
    echoed.set(s.streamId, s.data.length);
  } else {
    peer.send(conn.reply(ackOnly(0, 0, 0), 'InitRcv'), 'InitRcv (ACK-only)');
  }

  peer.onDatagram = (d) => {
    const m = d.decoded;
    const seg = m?.payload?.stream;
    if (m === null || m.connId !== conn.connId || seg === null || seg === undefined) return;
    if (m.type === 'Data') peer.send(conn.data(ackOnly(seg.streamId, seg.offset, seg.data.length)), 'ACK');
    echoStream(seg.streamId, streamState(peer, conn, seg.streamId).closeOffset);
  };
}
