// Engine behaviour in isolation: reassembly of overlapping segments, the advertised
// window, the README's close example, and the idle timeout.
import { constant } from '@qotp/spec';
import { describe, expect, it } from 'vitest';
import {
  encodeInitCryptoRcv,
  encodePayload,
  Endpoint,
  StreamReceiver,
  StreamSender,
  type Connection,
  type Outgoing,
} from '../src/index.js';
import { prng } from './helpers.js';
import { segmentsFrom, simulatedPair, warmSender } from './sim/simnet.js';

describe('StreamSender', () => {
  // An ACK names stream, offset and length: it cannot tell a PING from an empty CLOSE at the
  // same offset. Sent together, the ACK of the PING retired the CLOSE, and a lost CLOSE was
  // never resent (a single-drop simulation hung on exactly that).
  it('keeps at most one empty segment per offset in flight (clause stream.one-empty-segment)', () => {
    const s = new StreamSender();
    s.ping({ reliable: true });
    s.close();
    const ping = s.take(1000, 0);
    expect([ping?.offset, ping?.data.length, ping?.isClose]).toEqual([0, 0, false]);
    expect(s.hasNewData).toBe(false);
    expect(s.take(1000, 1)).toBeNull();
    expect(s.acknowledge(0, 0)).toBe(ping);
    expect(s.hasNewData).toBe(true);
    const close = s.take(1000, 2);
    expect([close?.offset, close?.data.length, close?.isClose]).toEqual([0, 0, true]);
    expect(s.finished).toBe(false);
    s.acknowledge(0, 0);
    expect(s.finished).toBe(true);
  });
});

describe('StreamReceiver', () => {
  const bytes = (from: number, to: number) => Uint8Array.from({ length: to - from }, (_, i) => (from + i) & 255);

  it('delivers in order from out-of-order, duplicate and overlapping segments', () => {
    const r = new StreamReceiver();
    expect(r.receive(10, bytes(10, 20), false)).toBe(10);
    expect(r.read()).toHaveLength(0); // a gap at 0..10
    expect(r.receive(5, bytes(5, 15), false)).toBe(5); // overlaps the held segment: only 5..10 is new
    expect(r.receive(10, bytes(10, 20), false)).toBe(0); // duplicate
    expect(r.receive(0, bytes(0, 25), false)).toBe(10); // covers everything: 0..5 and 20..25 are new
    expect(r.read()).toEqual(bytes(0, 25));
    expect(r.receive(3, bytes(3, 8), false)).toBe(0); // already read
    expect(r.bufferedBytes).toBe(0);
  });

  it('reassembles 2,000 random overlapping segments in random order, reading as it goes', () => {
    const dice = prng(77);
    const total = 50_000;
    const all = bytes(0, total);
    const r = new StreamReceiver();
    const got: Uint8Array[] = [];
    for (let k = 0; k < 2000 || r.readOffset < total; k++) {
      const [x, y, z] = dice(3) as unknown as [number, number, number];
      const at = k < 2000 ? ((x << 8) | y) % total : r.readOffset; // then fill what is left, in order
      const length = Math.min(1 + z * 4, total - at);
      r.receive(at, all.subarray(at, at + length), false);
      if (k % 7 === 0) got.push(r.read());
    }
    got.push(r.read());
    expect(Buffer.concat(got).equals(Buffer.from(all))).toBe(true);
    expect(r.bufferedBytes).toBe(0);
  });

  it('keeps the bytes received first when an overlap disagrees', () => {
    const r = new StreamReceiver();
    r.receive(0, Uint8Array.of(1, 2, 3, 4), false);
    r.receive(2, Uint8Array.of(9, 9, 5, 6), false);
    expect([...r.read()]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('finishes at the close offset only once everything before it was read', () => {
    const r = new StreamReceiver();
    r.receive(4, bytes(4, 8), false);
    r.receive(8, new Uint8Array(0), true);
    expect(r.finished).toBe(false);
    r.receive(0, bytes(0, 4), false);
    r.read();
    expect(r.finished).toBe(true);
  });

  it(
    'keeps no byte at or past the close offset, held before the CLOSE or arriving after it ' +
      '(close.deliver-to-offset)',
    () => {
      const r = new StreamReceiver();
      r.receive(6, bytes(6, 10), false);
      r.receive(4, new Uint8Array(0), true);
      expect(r.bufferedBytes).toBe(0);
      r.receive(0, bytes(0, 10), false); // straddles the end: cut at 4
      r.receive(4, bytes(4, 8), false); // wholly past it
      expect([...r.read()]).toEqual([...bytes(0, 4)]);
      expect(r.bufferedBytes).toBe(0);
      expect(r.finished).toBe(true);
    },
  );

  it('lets the first CLOSE fix the end: a second one at another offset changes nothing (close.second-close)', () => {
    const r = new StreamReceiver();
    r.receive(6, new Uint8Array(0), true);
    r.receive(3, new Uint8Array(0), true);
    r.receive(9, new Uint8Array(0), true);
    r.receive(0, bytes(0, 9), false);
    expect(r.closeAt).toBe(6);
    expect([...r.read()]).toEqual([...bytes(0, 6)]);
  });
});

/**
 * A connects to b, 100 bytes go through; then a window that fits three segments, and
 * 6000 more bytes sent over 50 ms into a path that delivers nothing: three segments in
 * flight, all lost. `t` is where a's clock stands.
 */
function threeLostSegments(seed: number) {
  const { a, b, net, conn, sender } = warmSender(seed, 3 * 1400);
  sender.write(new Uint8Array(6000).fill(2));
  let t = net.now;
  for (const end = t + 50_000_000; t < end; t += 1_000_000) a.poll(t);
  return { a, b, conn, sender, t };
}

describe('engine over a CLEAN simulated network', () => {
  it(
    "follows the README's close example: A sends 100 bytes and closes, B answers with 50 queued bytes and its " +
      'CLOSE',
    () => {
      const { a, b, net } = simulatedPair(3);
      const conn = a.connect('b');
      conn.stream(0).sender.write(new Uint8Array(100).fill(1));
      conn.stream(0).sender.close();
      let bRead = 0;
      let aRead = 0;
      const closed = { a: false, b: false };
      net.run(
        () => closed.a && closed.b,
        (events) => {
          for (const e of events.b) {
            const bc = 'connId' in e ? b.connections.get(e.connId) : undefined;
            // queued before A's CLOSE is read
            if (e.type === 'connection') bc?.stream(0).sender.write(new Uint8Array(50).fill(2));
            if (e.type === 'stream-readable') bRead += bc?.read(e.streamId, net.now).length ?? 0;
            if (e.type === 'stream-closed') closed.b = true;
          }
          for (const e of events.a) {
            if (e.type === 'stream-readable') aRead += conn.read(e.streamId, net.now).length;
            if (e.type === 'stream-closed') closed.a = true;
          }
        },
        10e9,
      );
      expect({ bRead, aRead, closed }).toEqual({ bRead: 100, aRead: 50, closed: { a: true, b: true } });
      expect(conn.stream(0).receiver.closeAt).toBe(50);
    },
  );

  it(
    'holds new data while the window is too small, and probes it every RTO until an ACK opens it ' +
      '(flow.window-probe)',
    () => {
      const { a, net } = simulatedPair(4);
      const conn = a.connect('b');
      const sender = conn.stream(0).sender;
      sender.write(new Uint8Array(5000).fill(3));
      net.run(
        () => sender.sentOffset === 5000 && sender.inFlight.size === 0,
        () => {},
        5e9,
      );
      // Pretend the peer's last ACK advertised a tiny window; nothing is in flight, so no ACK
      // would ever come to open it again without a probe.
      (conn as unknown as { peerWindow: number }).peerWindow = 1000;
      sender.write(new Uint8Array(5000).fill(4));
      const heldAt = net.now;
      expect(a.poll(heldAt)).toEqual([]);
      expect(conn.nextDeadline(heldAt)).toBe(heldAt + conn.rto);
      const logged = net.log.length;
      expect(
        net.run(
          () => sender.sentOffset === 10_000 && sender.inFlight.size === 0,
          () => {},
          heldAt + 5e9,
        ),
      ).toBe(true);
      const next = net.log.slice(logged).filter((l) => l.from === 'a');
      // The first packet after the window closed is the probe, one RTO later (+1 ns: due once
      // MORE than the RTO passed); the peer's ACK of it carries its real window and data flows.
      expect(next[0]?.at).toBe(heldAt + conn.rto);
      expect(next.length).toBeGreaterThan(4);
    },
  );

  it(
    'retransmits while lost segments fill the peer window: a resend adds nothing in flight ' +
      '(flow.retransmit-past-window)',
    () => {
      const { b, conn, sender, t, a } = threeLostSegments(6);
      expect(sender.sentOffset).toBe(100 + 3 * sender.oldest()!.data.length);
      const oldest = sender.oldest();
      const resendAt = (oldest?.sentAt ?? 0) + conn.rto + 1;
      expect(conn.nextDeadline(t)).toBe(resendAt);
      const resent = a.poll(resendAt);
      expect(resent).toHaveLength(1);
      expect(oldest?.transmissions).toBe(2);
      expect(b.connections.size).toBe(1);
    },
  );

  it(
    'resends only the oldest unacknowledged segment of a stream: a later one waits although its RTO ran out ' +
      '(clause retransmission.oldest-first)',
    () => {
      const { a, conn, sender } = threeLostSegments(7);
      const [first, second] = [...sender.inFlight.values()];
      if (first === undefined || second === undefined || second.sentAt <= first.sentAt)
        throw new Error('expected two segments sent one after the other');
      expect(a.poll(first.sentAt + conn.rto + 1)).toHaveLength(1); // the oldest, resent
      expect(first.transmissions).toBe(2);
      // The second one's RTO runs out now, but the oldest waits for its doubled RTO: nothing goes.
      expect(a.poll(second.sentAt + conn.rto + 1)).toEqual([]);
      expect(second.transmissions).toBe(1);
    },
  );

  it('takes turns between streams that both have data', () => {
    const { a, net } = simulatedPair(8);
    const conn = a.connect('b');
    conn.stream(0).sender.write(new Uint8Array(50_000));
    conn.stream(1).sender.write(new Uint8Array(50_000));
    net.run(
      () => conn.handshakeDone,
      () => {},
      5e9,
    );
    const senders: number[] = [];
    for (let step = 1; senders.length < 8 && step < 100; step++) {
      const before = [0, 1].map((id) => conn.stream(id).sender.sentOffset);
      a.poll(net.now + step * 5_000_000); // nothing is delivered: only new data and pacing matter here
      [0, 1].forEach((id) => conn.stream(id).sender.sentOffset > (before[id] as number) && senders.push(id));
    }
    expect(senders).toHaveLength(8);
    // never the same stream twice in a row
    expect(senders.filter((id, i) => i > 0 && id === senders[i - 1])).toEqual([]);
  });

  it('closes a connection that received nothing for IdleTimeout', () => {
    const { a, b, net } = simulatedPair(5);
    const conn = a.connect('b');
    conn.stream(0).sender.write(Uint8Array.of(1, 2, 3));
    net.run(
      () => conn.handshakeDone,
      () => {},
      5e9,
    );
    const lastHeard = net.now; // a heard b last when the handshake reply arrived; nothing is delivered after
    const idleClosed = (t: number) => {
      a.poll(t);
      return a.takeEvents().some((e) => e.type === 'connection-closed' && e.reason === 'idle-timeout');
    };
    expect(idleClosed(lastHeard + constant('IdleTimeout'))).toBe(false);
    expect(idleClosed(lastHeard + constant('IdleTimeout') + 1)).toBe(true);
    expect(b.connections.size).toBe(1);
  });
});

describe('handshake confirmation (clause handshake.initiator-confirms)', () => {
  it(
    'a 0-RTT initiator whose data went in its first packet answers an ACK-only reply with a Data packet, resent ' +
      'until acknowledged',
    () => {
      const keys = prng(12);
      const a = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
      const b = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
      const conn = a.connect('b', b.publicKey);
      conn.stream(0).sender.write(Uint8Array.of(42));
      const [first] = a.poll(0);
      b.receive((first as Outgoing).data, 'a', 1_000_000);
      const server = [...b.connections.values()][0] as Connection;
      // The reply a Go responder sends when its application has not written yet: an ACK of
      // the 0-RTT byte and no stream section, after which it waits for a Data packet.
      const reply = encodeInitCryptoRcv({
        connId: server.id,
        responderEphemeralPrivateKey: server.ephemeralPrivateKey,
        initiatorEphemeralPublicKey: server.peerEphemeralPublicKey as Uint8Array,
        sn: 0,
        payload: encodePayload({
          isClose: false,
          ack: { streamId: 0, offset: 0, length: 1, window: 1 << 24 },
          stream: null,
        }),
      }).packet;
      a.receive(reply, 'b', 2_000_000);
      expect(conn.handshakeDone).toBe(true);
      // Polled when the engine asks, until pacing lets the confirmation go.
      let sentAt = 2_000_000;
      let confirm = a.poll(sentAt);
      for (let polls = 0; confirm.length === 0 && polls < 10; polls++) {
        sentAt = a.nextDeadline(sentAt) as number;
        confirm = a.poll(sentAt);
      }
      expect(confirm).toHaveLength(1);
      b.receive((confirm[0] as Outgoing).data, 'a', sentAt + 1_000_000);
      expect(server.handshakeDone).toBe(true); // it was a Data packet that b could open
      // Not acknowledged: sent again once the RTO passed, like data.
      expect(a.poll(sentAt + conn.rto)).toEqual([]);
      expect(a.poll(sentAt + conn.rto + 1)).toHaveLength(1);
    },
  );
});

describe('receiver limits (clauses stream.buffer-full, stream.limit, stream.held-pieces)', () => {
  /** b's connection after a 1-RTT handshake, and a sealer for Data packets as a would send them. */
  function established(seed: number) {
    const { a, b, net } = simulatedPair(seed);
    const conn = a.connect('b');
    conn.stream(0).sender.write(Uint8Array.of(1));
    net.run(
      () => conn.handshakeDone && conn.stream(0).sender.inFlight.size === 0,
      () => {},
      5e9,
    );
    const server = [...b.connections.values()][0] as Connection;
    const segment = segmentsFrom(conn, b, 100, () => net.now);
    const send = (streamId: number, offset: number, data: Uint8Array) => segment(streamId, offset, data);
    return { b, server, send, now: () => net.now };
  }

  it(
    'a segment that does not fit the receive buffer is dropped without an ACK, one that just fits is taken ' +
      '(clause stream.buffer-full)',
    () => {
      const { b, send, now } = established(23);
      const capacity = constant('ReceiveBufferCapacity');
      const chunk = new Uint8Array(1300);
      // Held behind a gap at offset 0 of stream 1: the application cannot read any of it.
      let at = 1;
      for (; at - 1 + chunk.length <= capacity; at += chunk.length) {
        send(1, at, chunk);
        while (b.poll(now()).length > 0);
      }
      const room = capacity - (at - 1);
      send(1, at, new Uint8Array(room + 1));
      expect(b.poll(now())).toEqual([]); // one byte too many: no ACK, the sender resends it later
      send(1, at, new Uint8Array(room));
      expect(b.poll(now())).toHaveLength(1);
    },
    60_000,
  );

  it('a segment that would open a stream past ReferenceMaxStreams is dropped without an ACK', () => {
    const { b, server, send, now } = established(21);
    const limit = constant('ReferenceMaxStreams');
    for (let id = 1; id < limit + 10; id++) send(id, 0, Uint8Array.of(id & 255));
    expect(server.streams.size).toBe(limit);
    while (b.poll(now()).length > 0); // the ACKs of the accepted ones, a poll budget at a time
    send(limit + 50, 0, Uint8Array.of(7));
    expect(b.poll(now())).toEqual([]); // no ACK for the refused stream
    send(5, 1, Uint8Array.of(8)); // an existing stream still takes data
    expect(b.poll(now())).toHaveLength(1);
  });

  it(
    'a segment that would add pieces past ReferenceMaxHeldPieces is dropped without an ACK; in-order data that ' +
      'fills a gap is still taken',
    () => {
      const { b, server, send, now } = established(22);
      const limit = constant('ReferenceMaxHeldPieces');
      // One-byte pieces with a gap before each, on stream 1: none can be read yet.
      for (let i = 0; i < limit; i++) send(1, 2 * i + 1, Uint8Array.of(1));
      while (b.poll(now()).length > 0);
      send(1, 2 * limit + 1, Uint8Array.of(1)); // one more separate piece
      expect(b.poll(now())).toEqual([]);
      send(1, 0, Uint8Array.of(0)); // at the read position: always taken, and it makes two bytes readable
      expect(b.poll(now())).toHaveLength(1);
      expect(server.read(1, now())).toEqual(Uint8Array.of(0, 1));
      send(1, 2 * limit + 1, Uint8Array.of(1)); // room again after the read
      expect(b.poll(now())).toHaveLength(1);
    },
    60_000,
  );
});

describe('the last transmission (clause retransmission.give-up)', () => {
  it('a sixth transmission acknowledged before the give-up wait keeps the connection', () => {
    const { a, b, net } = simulatedPair(31);
    const conn = a.connect('b');
    const sender = conn.stream(0).sender;
    sender.write(Uint8Array.of(1));
    net.run(
      () => sender.inFlight.size === 0 && sender.sentOffset === 1,
      () => {},
      5e9,
    );
    sender.write(Uint8Array.of(2, 3, 4));
    // Every copy is lost but the sixth, which arrives and is answered at once.
    let now = net.now;
    let sixth: Outgoing | undefined;
    for (let polls = 0; polls < 100 && sixth === undefined; polls++) {
      now = Math.max(now, a.nextDeadline(now) ?? now);
      for (const d of a.poll(now)) if (sender.oldest()?.transmissions === 6) sixth = d;
    }
    expect(sixth).toBeDefined();
    a.poll(now + 20_000_000); // the sender's loop wakes before the ACK is back
    b.receive((sixth as Outgoing).data, 'a', now + 25_000_000);
    for (const d of b.poll(now + 25_000_000)) a.receive(d.data, 'b', now + 50_000_000);
    a.poll(now + 50_000_000);
    expect(conn.closeReason).toBeNull();
    expect(sender.inFlight.size).toBe(0);
  });
});
