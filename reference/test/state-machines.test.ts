// The engine follows the spec's transition tables: its handshake and connection states are
// Machines of spec/qotp.spec.json (engine/state-machine.ts), which move only along the
// tables' rows and throw on any other move. Driven through simulations that between them
// meet every situation the tables name, the engine must take every row of the tables it
// follows, the stream tables included (each stream's sender and receiver run one).
import { constant, spec } from '@qotp/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeInitRcv,
  encodeInitSnd,
  encodePayload,
  Endpoint,
  observeTransitions,
  type Connection,
  type MachineId,
  type Outgoing,
} from '../src/index.js';
import { prng } from './helpers.js';
import { CLEAN, segmentsFrom, SimNet, simulatedPair, warmSender } from './sim/simnet.js';

const FOLLOWED: MachineId[] = [
  'initiator-handshake',
  'responder-handshake',
  'connection-lifetime',
  'stream-send',
  'stream-receive',
];
const taken = new Map<MachineId, Set<string>>(FOLLOWED.map((m) => [m, new Set<string>()]));
let stop: () => void;
beforeAll(() => {
  stop = observeTransitions((machine, row) => taken.get(machine)?.add(row));
});
afterAll(() => stop());

/** a echoes `bytes` through b (b's application writes back what it reads) until it is all back or `limitNs` passes. */
function echo(net: SimNet, conn: Connection, b: Endpoint, bytes: number, limitNs = 60e9): number {
  conn.stream(0).sender.write(new Uint8Array(bytes).fill(7));
  let back = 0;
  net.run(
    () => back >= bytes || conn.closeReason !== null,
    (events) => {
      for (const e of events.b)
        if (e.type === 'stream-readable')
          b.connections
            .get(e.connId)
            ?.stream(e.streamId)
            .sender.write(b.connections.get(e.connId)!.read(e.streamId, net.now));
      for (const e of events.a) if (e.type === 'stream-readable') back += conn.read(e.streamId, net.now).length;
    },
    limitNs,
  );
  return back;
}

describe('the engine against the transition tables', () => {
  it('a 1-RTT echo: dial, reply, the responder sending more in its replies, the first Data packet', () => {
    const { a, b, net } = simulatedPair(41);
    const conn = a.connect('b');
    expect(echo(net, conn, b, 20_000)).toBe(20_000);
  });

  it('0-RTT: the first packet carries data', () => {
    const { a, b, net } = simulatedPair(42);
    const conn = a.connect('b', b.publicKey);
    expect(echo(net, conn, b, 5_000)).toBe(5_000);
  });

  it('an initiator with nothing to send confirms the reply with a PING', () => {
    const { a, net } = simulatedPair(43);
    const conn = a.connect('b');
    conn.stream(0); // the application opened a stream and writes nothing yet
    net.run(
      () => conn.handshakeDone && conn.stream(0).sender.inFlight.size === 0,
      () => {},
      5e9,
    );
    expect(conn.handshakeDone).toBe(true);
  });

  it(
    'lost first packets and replies: the first packet resent, the same InitSnd and InitCryptoSnd again, data ' +
      'resent',
    () => {
      for (const [seed, zeroRtt] of [
        [44, false],
        [45, true],
      ] as const) {
        // Datagram 0 (the first packet) and 2 (the reply to its resend, or the first reply) lost.
        const { a, b, net } = simulatedPair(seed, { ...CLEAN, drop: new Set([0, 2, 5]) });
        const conn = zeroRtt ? a.connect('b', b.publicKey) : a.connect('b');
        expect(echo(net, conn, b, 4_000)).toBe(4_000);
      }
    },
  );

  it('a lost 0-RTT reply: the same InitCryptoSnd again', () => {
    const { a, b, net } = simulatedPair(51, { ...CLEAN, drop: new Set([1]) }); // b's first reply
    const conn = a.connect('b', b.publicKey);
    conn.stream(0).sender.write(Uint8Array.of(1));
    net.run(
      () => conn.handshakeDone && conn.stream(0).sender.inFlight.size === 0,
      () => {},
      5e9,
    );
    expect(conn.handshakeDone).toBe(true);
  });

  it('a responder that writes first: its data in further replies, which the initiator takes after the first', () => {
    // Datagrams 2 and 3 are a's first two Data packets (the ACK of the reply, the confirming
    // PING): lost, so b is still replying when its pacing lets the next packet go.
    const { a, b, net } = simulatedPair(52, { ...CLEAN, drop: new Set([2, 3]) });
    const conn = a.connect('b');
    conn.stream(0); // opened, nothing written: a's first Data packet is its confirming PING
    net.run(
      () => conn.stream(0).receiver.readOffset + conn.stream(0).receiver.bufferedBytes >= 6000,
      (events) => {
        for (const e of events.b)
          if (e.type === 'connection')
            b.connections.get(e.connId)?.stream(0).sender.write(new Uint8Array(6000).fill(5));
      },
      5e9,
    );
    expect(conn.stream(0).receiver.bufferedBytes).toBe(6000);
  });

  it('a path that delivers nothing: the first packet resent until the initiator gives up', () => {
    const { a, net } = simulatedPair(46, { ...CLEAN, loss: 1 });
    const conn = a.connect('b');
    conn.stream(0).sender.write(Uint8Array.of(1));
    net.run(
      () => conn.closeReason !== null,
      () => {},
      60e9,
    );
    expect(conn.closeReason).toBe('retransmission-limit');
  });

  it('an established connection whose peer goes silent gives up on its data, another times out', () => {
    const { a, b, net } = simulatedPair(47);
    const conn = a.connect('b');
    expect(echo(net, conn, b, 1_000)).toBe(1_000);
    const server = [...b.connections.values()][0] as Connection;
    const settled = (c: Connection) => [...c.streams.values()].every((st) => st.sender.inFlight.size === 0);
    net.run(
      () => settled(conn) && settled(server),
      () => {},
      net.now + 5e9,
    );
    // From now on nothing arrives: a's next segment goes unanswered until a gives up, and
    // b, which hears nothing, closes when its idle timer runs out.
    const silent = new SimNet(a, b, { ...CLEAN, loss: 1 }, 48);
    silent.now = net.now;
    conn.stream(0).sender.write(Uint8Array.of(2));
    silent.run(
      () => conn.closeReason !== null && server.closeReason !== null,
      () => {},
      net.now + constant('IdleTimeout') + 20e9,
    );
    expect([conn.closeReason, server.closeReason]).toEqual(['retransmission-limit', 'idle-timeout']);
  });

  it(
    'forgeries: a tampered reply while the initiator waits, a ' + 'tampered Data packet later; refused first packets',
    () => {
      const keys = prng(49);
      const a = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
      const b = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
      const conn = a.connect('b');
      conn.stream(0).sender.write(Uint8Array.of(1));
      const [first] = a.poll(0) as [Outgoing];
      b.receive(first.data, 'a', 1_000_000);
      const [reply] = b.poll(1_000_000) as [Outgoing];
      const tampered = reply.data.slice();
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
      a.receive(tampered, 'b', 2_000_000); // dropped while awaiting the reply
      a.receive(reply.data, 'b', 3_000_000);
      expect(conn.handshakeDone).toBe(true);
      const [data] = a.poll(4_000_000) as [Outgoing];
      const forged = data.data.slice();
      forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
      b.receive(forged, 'a', 5_000_000);
      b.receive(data.data, 'a', 6_000_000);
      // First packets the responder refuses before any connection exists.
      const short = encodeInitSnd(
        { identityPublicKey: new Uint8Array(32).fill(3), ephemeralPublicKey: new Uint8Array(32).fill(4) },
        1000,
      );
      b.receive(short, 'c', 7_000_000);
      const lowOrder = encodeInitSnd(
        { identityPublicKey: new Uint8Array(32).fill(3), ephemeralPublicKey: new Uint8Array(32) },
        1400,
      );
      b.receive(lowOrder, 'c', 8_000_000);
      expect(b.takeEvents().filter((e) => e.type === 'dropped')).toHaveLength(3);
    },
  );

  it('a late copy of the first packet after the first Data packet', () => {
    const { a, b, net } = simulatedPair(50);
    const conn = a.connect('b');
    expect(echo(net, conn, b, 1_000)).toBe(1_000);
    const first = net.log.find((d) => d.from === 'a')?.data as Uint8Array;
    b.receive(first, 'a', net.now + 1);
    expect([...b.connections.values()][0]?.closeReason).toBeNull();
  });

  it(
    "messages of the connection's own role: a forged reply at the responder, the initiator's own InitSnd " +
      'reflected to it',
    () => {
      const { a, b, net } = simulatedPair(53);
      const conn = a.connect('b');
      expect(echo(net, conn, b, 1_000)).toBe(1_000);
      const server = [...b.connections.values()][0] as Connection;
      // The responder's ephemeral key went out in clear in its reply: a key pair of the
      // forger's, taken as the "responder's", seals an InitRcv the responder can open.
      const forged = encodeInitRcv({
        connId: server.id,
        responderEphemeralPrivateKey: new Uint8Array(32).fill(9),
        initiatorEphemeralPublicKey: server.ephemeralPublicKey,
        responderIdentityPublicKey: new Uint8Array(32).fill(9),
        sn: 1,
        payload: encodePayload({
          isClose: false,
          ack: null,
          stream: { streamId: 9, offset: 0, data: Uint8Array.of(1, 2, 3) },
        }),
      });
      const secret = server.secret;
      b.takeEvents();
      b.receive(forged.packet, 'mallory', net.now);
      a.takeEvents();
      a.receive(net.log.find((d) => d.from === 'a')?.data as Uint8Array, 'b', net.now);
      const drops = [...b.takeEvents(), ...a.takeEvents()].map((e) =>
        e.type === 'dropped' ? e.reason.split(':')[0] : e.type,
      );
      expect(drops).toEqual(['wrong-role', 'wrong-role']);
      expect(server.secret).toBe(secret);
      expect(server.streams.has(9)).toBe(false);
      expect(echo(net, conn, b, 1_000)).toBe(1_000);
    },
  );

  it(
    'closing both ways: the application closes with data ' + 'queued, the peer answers, its CLOSE is lost and resent',
    () => {
      const { a, b, net } = simulatedPair(54);
      const conn = a.connect('b');
      const sender = conn.stream(0).sender;
      sender.write(new Uint8Array(5000).fill(1));
      sender.close(); // with all of it queued: drain, then the flag on the last segment
      const answered = net.run(
        () => conn.stream(0).receiver.finished && sender.finished,
        (events) => {
          for (const e of events.b)
            if (e.type === 'stream-readable') b.connections.get(e.connId)?.read(e.streamId, net.now);
          for (const e of events.a) if (e.type === 'stream-readable') conn.read(e.streamId, net.now);
        },
        10e9,
      );
      expect(answered).not.toBe(false);
      const server = [...b.connections.values()][0] as Connection;
      // Then b closes a stream it never wrote on: its empty CLOSE is taken off the network
      // (never delivered), so b resends it on its RTO.
      server.stream(3).sender.close();
      const pollUntilSent = (from: number): { at: number; out: Outgoing[] } => {
        for (let at = from; at < from + 1e9; at += 1e6) {
          const out = b.poll(at);
          if (out.length > 0) return { at, out };
        }
        return { at: from + 1e9, out: [] };
      };
      const lost = pollUntilSent(net.now);
      expect(lost.out).toHaveLength(1);
      const resent = pollUntilSent(lost.at + 1e6);
      expect(resent.out).toHaveLength(1);
      expect(server.stream(3).sender.machine.state).toBe('close-sent');
    },
  );

  it(
    'the receive table on one stream: a CLOSE behind a gap, data below and past its end, a second CLOSE, a late ' +
      'copy; an empty CLOSE at 0',
    () => {
      const { a, b, net } = simulatedPair(55);
      const conn = a.connect('b');
      expect(echo(net, conn, b, 1_000)).toBe(1_000);
      const server = [...b.connections.values()][0] as Connection;
      const segment = segmentsFrom(conn, b, 1_000_000, () => net.now); // above a's own numbers
      const from = (streamId: number, offset: number, length: number, isClose = false) =>
        segment(streamId, offset, new Uint8Array(length).fill(offset & 255), isClose);
      from(5, 0, 10); // segment
      from(5, 20, 10, true); // close, its end 30 behind the gap at 10..20
      from(5, 10, 10); // below-end
      from(5, 30, 10); // beyond-end
      from(5, 50, 0, true); // second-close
      expect(server.read(5, net.now)).toHaveLength(30); // delivered
      from(5, 0, 10); // late-retransmission
      from(6, 0, 0, true); // empty-close-at-0
      expect([server.stream(5).receiver.machine.state, server.stream(6).receiver.machine.state]).toEqual([
        'closed',
        'closed',
      ]);
      // Streams past the reference's bound are refused, without an ACK.
      let id = 100;
      while (server.streams.size < constant('ReferenceMaxStreams')) from(id++, 0, 0);
      from(id, 0, 0);
      expect(server.streams.has(id)).toBe(false);
    },
  );

  it('a window too small for one more packet, with data waiting and nothing in flight: a window probe', () => {
    const { a, net, sender } = warmSender(56, 100);
    sender.write(new Uint8Array(100).fill(2));
    let probes = 0;
    for (let t = net.now; t < net.now + 1e9; t += 10e6) probes += a.poll(t).length;
    expect(probes).toBeGreaterThan(0);
  });

  it('takes every row of every table it follows, and no other', () => {
    const missing = FOLLOWED.flatMap((id) => {
      const table = spec.stateMachines.find((m) => m.id === id);
      return (table?.transitions ?? [])
        .filter((t) => !taken.get(id)?.has(t.id))
        .map((t) => `${id}: ${t.id} (${t.from}, ${t.event})`);
    });
    expect(missing).toEqual([]);
  });
});
