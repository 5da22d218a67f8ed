// A second, independent peer: a minimal scripted client that behaves as the spec allows
// but not as the reference does. It sends its InitSnd twice, never confirms the handshake
// with a PING, sends two streams at once in 500-byte segments taking turns, acknowledges
// every segment alone in an ACK-only packet (never on data), resends what is not
// acknowledged on the default RTO without ever taking an RTT sample, and closes each stream
// with an empty CLOSE once its echo is back. Both bundled endpoints must complete the echo
// with it: all bytes back in order on each stream, and each stream closed by the server.
// (The client-role cases play the other side: a scripted server whose handshake reply is
// an ACK-only InitRcv without a PING and whose ACKs always go alone.)
import { parseHostPort } from '@qotp/reference/node';
import { constant } from '@qotp/spec';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { ackOnly, dataPayload, equal, pattern, streamState } from '../src/kit/index.js';
import type { Datagram } from '../src/capture/datagram.js';
import { PeerConnection } from '../src/peer/peer-connection.js';
import { TesterPeer } from '../src/peer/tester-peer.js';
import { type RunningServer, startServer } from '../src/targets/server.js';
import { bundledTarget } from '../src/targets/target.js';

const SEGMENT = 500;
const DEFAULT_RTO_MS = constant('DefaultRto') / 1e6;
const MAX_COPIES = constant('MaxTransmissions');
const STREAMS = [pattern(20_000, 31), pattern(15_000, 32)];
const servers: RunningServer[] = [];
const dir = mkdtempSync(join(tmpdir(), 'qotp-independent-'));
afterAll(() => {
  for (const s of servers) s.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  /** InitRcv datagrams for the two InitSnd. */
  replies: number;
  streams: { echoed: number; intact: boolean; closedAt: number | null }[];
}

/** A segment the peer sent and keeps until the server acknowledges it. */
interface Unacked {
  streamId: number;
  offset: number;
  data: Uint8Array;
  close: boolean;
  sentAt: number;
  copies: number;
}

async function echoWithIndependentPeer(server: RunningServer): Promise<Outcome> {
  const timeline: Datagram[] = [];
  const peer = await TesterPeer.open({
    target: parseHostPort(server.address),
    timeline,
    epoch: performance.now(),
    mtu: 1400,
  });
  const unacked = new Map<string, Unacked>();
  const send = (u: Unacked) => {
    peer.send(
      conn.data(dataPayload(u.streamId, u.offset, u.data, u.close)),
      `${u.close ? 'CLOSE' : 'DATA'} stream ${u.streamId} ` +
        `offset ${u.offset}${u.copies > 1 ? `, copy ${u.copies}` : ''}`,
    );
  };
  const conn = peer.add(new PeerConnection('initiator'));
  // Its own retransmission: the default RTO, doubled per copy, no RTT samples (it never needs them on loopback).
  const resend = setInterval(() => {
    const now = performance.now();
    for (const u of unacked.values()) {
      if (u.copies >= MAX_COPIES || now - u.sentAt <= DEFAULT_RTO_MS * 2 ** (u.copies - 1)) continue;
      u.copies++;
      u.sentAt = now;
      send(u);
    }
  }, 20);
  try {
    const first = conn.initSnd(1400);
    peer.send(first, 'InitSnd');
    await peer.collect(5);
    peer.send(first, 'the same InitSnd again, as if the first were lost');
    const reply = await peer.waitFor((d) => conn.owns(d.bytes) && d.decoded?.type === 'InitRcv', 3000, 0);
    if (reply === null) throw new Error(`no InitRcv from ${server.address}`);
    // Every segment that arrives is acknowledged on its own, before anything else is sent;
    // every ACK that arrives retires the segment it names.
    const onArrival = (d: Datagram) => {
      if (d.decoded?.connId !== conn.connId) return;
      const ack = d.decoded.payload?.ack;
      if (ack) unacked.delete(`${ack.streamId}/${ack.offset}`);
      const s = d.decoded.payload?.stream;
      if (s) peer.send(conn.data(ackOnly(s.streamId, s.offset, s.data.length)), 'ACK alone');
    };
    peer.onDatagram = onArrival;
    onArrival(reply);
    const track = (streamId: number, offset: number, data: Uint8Array, close: boolean) => {
      const u = { streamId, offset, data, close, sentAt: performance.now(), copies: 1 };
      unacked.set(`${streamId}/${offset}`, u);
      send(u);
    };
    // No PING: the first Data packet is the data itself, two streams taking turns.
    const longest = Math.max(...STREAMS.map((s) => s.length));
    for (let at = 0; at < longest; at += SEGMENT) {
      for (const [i, data] of STREAMS.entries())
        if (at < data.length) track(i + 1, at, data.subarray(at, at + SEGMENT), false);
      if ((at / SEGMENT) % 10 === 9) await peer.collect(2);
    }
    // Each stream is closed by an empty CLOSE once its echo is back: the server answers a
    // CLOSE at its own write position (close.answer), so data sent with the CLOSE would not
    // come back.
    const until = performance.now() + 10_000;
    const echoed = (i: number) => streamState(peer, conn, i + 1).bytes.length >= (STREAMS[i] as Uint8Array).length;
    const closing = new Set<number>();
    while (performance.now() < until) {
      for (const [i, data] of STREAMS.entries()) {
        if (!closing.has(i) && echoed(i)) {
          closing.add(i);
          track(i + 1, data.length, new Uint8Array(0), true);
        }
      }
      if (STREAMS.every((_, i) => echoed(i) && streamState(peer, conn, i + 1).closeOffset !== null)) break;
      await peer.collect(50);
    }
    const replies = peer.incoming(0).filter((d) => d.decoded?.type === 'InitRcv').length;
    return {
      replies,
      streams: STREAMS.map((data, i) => {
        const s = streamState(peer, conn, i + 1);
        return {
          echoed: s.bytes.length,
          intact: equal(s.bytes.subarray(0, data.length), data) && s.bytes.length === data.length,
          closedAt: s.closeOffset,
        };
      }),
    };
  } finally {
    clearInterval(resend);
    peer.close();
  }
}

describe('an independent scripted peer interoperates with the bundled endpoints', () => {
  it.each(['reference', 'go'])(
    '%s server: repeated InitSnd, no PING, two streams in 500-byte segments, ACKs always alone, empty CLOSEs',
    async (name) => {
      const server = await startServer(bundledTarget(name), join(dir, `${name}.keylog`));
      servers.push(server);
      const outcome = await echoWithIndependentPeer(server);
      console.log(`independent peer: ${name}: ${JSON.stringify(outcome)}`);
      // The target's version probe says which qotp the Go endpoint was built from.
      if (name === 'go' && bundledTarget(name).implementation.version === 'v0.2.18') {
        // Finding G3 (v0.2.18): with several streams open, qotp sometimes never sends a
        // stream's CLOSE; seen here on the second stream in every run. The echo is intact.
        expect(outcome.streams.map((s) => [s.echoed, s.intact])).toEqual(STREAMS.map((data) => [data.length, true]));
        expect(
          outcome.streams.every((s, i) => s.closedAt === null || s.closedAt === (STREAMS[i] as Uint8Array).length),
        ).toBe(true);
      } else {
        expect(outcome.streams).toEqual(
          STREAMS.map((data) => ({ echoed: data.length, intact: true, closedAt: data.length })),
        );
      }
      // The repeat's answer is not required here: a v0.2.18 Go server may discard it (G8, case
      // handshake.init-snd-duplicate).
      console.log(`independent peer: ${name} server answered ${outcome.replies} of 2 InitSnd`);
      server.stop();
    },
    30_000,
  );
});
