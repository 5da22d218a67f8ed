// Engine behaviour in isolation: reassembly of overlapping segments, the advertised
// window, the README's close example, and the idle timeout.
import { constant } from '@qotp/spec';
import { describe, expect, it } from 'vitest';
import { Endpoint, StreamReceiver } from '../src/index.js';
import { prng } from './helpers.js';
import { SimNet } from './sim/simnet.js';

describe('StreamReceiver', () => {
  const bytes = (from: number, to: number) => Uint8Array.from({ length: to - from }, (_, i) => (from + i) & 255);

  it('delivers in order from out-of-order, duplicate and overlapping segments', () => {
    const r = new StreamReceiver();
    expect(r.insert(10, bytes(10, 20))).toBe(10);
    expect(r.read()).toHaveLength(0); // a gap at 0..10
    expect(r.insert(5, bytes(5, 15))).toBe(5); // overlaps the held segment: only 5..10 is new
    expect(r.insert(10, bytes(10, 20))).toBe(0); // duplicate
    expect(r.insert(0, bytes(0, 25))).toBe(10); // covers everything: 0..5 and 20..25 are new
    expect(r.read()).toEqual(bytes(0, 25));
    expect(r.insert(3, bytes(3, 8))).toBe(0); // already read
    expect(r.bufferedBytes).toBe(0);
  });

  it('keeps the bytes received first when an overlap disagrees', () => {
    const r = new StreamReceiver();
    r.insert(0, Uint8Array.of(1, 2, 3, 4));
    r.insert(2, Uint8Array.of(9, 9, 5, 6));
    expect([...r.read()]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('finishes at the close offset only once everything before it was read', () => {
    const r = new StreamReceiver();
    r.insert(4, bytes(4, 8));
    r.close(8);
    expect(r.finished).toBe(false);
    r.insert(0, bytes(0, 4));
    r.read();
    expect(r.finished).toBe(true);
  });
});

function pair(seed: number) {
  const keys = prng(seed);
  const a = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
  const b = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
  return { a, b, net: new SimNet(a, b, { loss: 0, duplicate: 0, delay: 2_000_000, jitter: 0 }, seed) };
}

describe('engine over a clean simulated network', () => {
  it("follows the README's close example: A sends 100 bytes and closes, B answers with 50 queued bytes and its CLOSE", () => {
    const { a, b, net } = pair(3);
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
          if (e.type === 'connection') bc?.stream(0).sender.write(new Uint8Array(50).fill(2)); // queued before A's CLOSE is read
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
  });

  it('sends no new data while the advertised window is smaller than bytes in flight plus one MTU, but keeps ACKing', () => {
    const { a, b, net } = pair(4);
    const conn = a.connect('b');
    conn.stream(0).sender.write(new Uint8Array(5000).fill(3));
    net.run(() => conn.handshakeDone, () => {}, 5e9);
    // Pretend the peer advertised a tiny window: only ACK-only packets may go out now.
    (conn as unknown as { peerWindow: number }).peerWindow = 1000;
    conn.stream(0).sender.write(new Uint8Array(5000).fill(4));
    const before = conn.stream(0).sender.sentOffset;
    for (let t = 1; t < 50; t++) a.poll(net.now + t * 10_000_000);
    expect(conn.stream(0).sender.sentOffset).toBe(before);
    expect(b.connections.size).toBe(1);
    // Held by the window, neither new data nor a retransmission sets a deadline: only an ACK
    // (a packet) can open the window, so the only time left is the idle timeout.
    const at = net.now + 50 * 10_000_000;
    expect(conn.nextDeadline(at)).toBe(net.now + constant('IdleTimeout') + 1);
  });

  it('takes turns between streams that both have data', () => {
    const { a, net } = pair(8);
    const conn = a.connect('b');
    conn.stream(0).sender.write(new Uint8Array(50_000));
    conn.stream(1).sender.write(new Uint8Array(50_000));
    net.run(() => conn.handshakeDone, () => {}, 5e9);
    const senders: number[] = [];
    for (let step = 1; senders.length < 8 && step < 100; step++) {
      const before = [0, 1].map((id) => conn.stream(id).sender.sentOffset);
      a.poll(net.now + step * 5_000_000); // nothing is delivered: only new data and pacing matter here
      [0, 1].forEach((id) => conn.stream(id).sender.sentOffset > (before[id] as number) && senders.push(id));
    }
    expect(senders).toHaveLength(8);
    expect(senders.filter((id, i) => i > 0 && id === senders[i - 1])).toEqual([]); // never the same stream twice in a row
  });

  it('closes a connection that received nothing for IdleTimeout', () => {
    const { a, b, net } = pair(5);
    const conn = a.connect('b');
    conn.stream(0).sender.write(Uint8Array.of(1, 2, 3));
    net.run(() => conn.handshakeDone, () => {}, 5e9);
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
