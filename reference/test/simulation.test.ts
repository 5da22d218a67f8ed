// Deterministic simulations of two engines over a simulated network and clock
// (SimNet): loss, duplication and reordering by fixed seeds, checked for intact data,
// completed closes, and the exact retransmission schedule of the spec.
import { constant, spec } from '@qotp/spec';
import { describe, expect, it } from 'vitest';
import { Endpoint, giveUpNanos } from '../src/index.js';
import { prng } from './helpers.js';
import { runEcho } from './sim/echo.js';
import { SimNet } from './sim/simnet.js';

const SEEDS = Array.from({ length: 100 }, (_, i) => i + 1);
const payload = (seed: number, stream: number, size: number) =>
  new Uint8Array(size).map((_, j) => (j * 31 + stream * 7 + seed) & 255);
const lossy = (loss: number) => ({ loss, duplicate: 0.1, delay: 5_000_000, jitter: 10_000_000 });

function summary(label: string, runs: ReturnType<typeof runEcho>[], bytesPerRun: number): void {
  const completed = runs.filter((r) => r.completed).length;
  const datagrams = runs.reduce((n, r) => n + r.stats.sent, 0);
  console.log(
    `simulation: ${label}: ${runs.length} seeds, ${completed} completed, ${(runs.length * bytesPerRun) / 1000} ` +
      `kB echoed per direction, ${datagrams} datagrams`,
  );
}

/**
 * A run either completes with every echo intact and every stream closed on both sides, or
 * a side gives up by the retransmission limit (and its peer later by the idle timeout).
 * At 20% loss a try of a segment fails when the data or its ACK is lost, 1 - 0.8^2 = 36%,
 * so 0.36^6, about 0.2%, of segments hit the 6-transmission limit: giving up is then the
 * conforming outcome, and what arrived must still be an intact prefix.
 */
function expectConforming(runs: ReturnType<typeof runEcho>[]): void {
  for (const [i, r] of runs.entries()) {
    const seed = { seed: i + 1 };
    expect({ ...seed, prefixIntact: r.prefixIntact.every(Boolean) }).toEqual({ ...seed, prefixIntact: true });
    if (r.completed)
      expect({ ...seed, intact: r.echoedIntact.every(Boolean), closes: r.closeReasons }).toEqual({
        ...seed,
        intact: true,
        closes: { a: [], b: [] },
      });
    else
      expect({ ...seed, gaveUp: [...r.closeReasons.a, ...r.closeReasons.b].includes('retransmission-limit') }).toEqual({
        ...seed,
        gaveUp: true,
      });
  }
}

describe('echo over a lossy, reordering, duplicating network', () => {
  it.each([
    ['1-RTT', false],
    ['0-RTT', true],
  ])(
    '%s, 20 percent loss, 10 percent duplication, 5-15 ms delay, 100 seeds: intact and closed, or given up by ' +
      'the limit',
    { timeout: 120_000 },
    (label, zeroRtt) => {
      const runs = SEEDS.map((seed) =>
        runEcho({ seed, payloads: [payload(seed, 0, 4000)], conditions: lossy(0.2), zeroRtt }),
      );
      summary(`${label}, 20% loss, 4 kB`, runs, 4000);
      expectConforming(runs);
      expect(runs.filter((r) => r.completed).length).toBeGreaterThanOrEqual(95);
    },
  );

  it(
    'three streams of 30 kB each at 5 percent loss: all 100 seeds deliver intact and close',
    { timeout: 120_000 },
    () => {
      const runs = SEEDS.map((seed) =>
        runEcho({ seed, payloads: [0, 1, 2].map((s) => payload(seed, s, 30_000)), conditions: lossy(0.05) }),
      );
      summary('3 streams, 5% loss, 90 kB', runs, 90_000);
      for (const r of runs)
        expect([r.completed, ...r.echoedIntact, r.closeReasons]).toEqual([true, true, true, true, { a: [], b: [] }]);
    },
  );

  it(
    'three streams of 30 kB at 20 percent loss, 100 seeds: intact and closed, or given up by the limit',
    { timeout: 120_000 },
    () => {
      const runs = SEEDS.map((seed) =>
        runEcho({ seed, payloads: [0, 1, 2].map((s) => payload(seed, s, 30_000)), conditions: lossy(0.2) }),
      );
      summary('3 streams, 20% loss, 90 kB (give-ups expected)', runs, 90_000);
      expectConforming(runs);
      expect(runs.filter((r) => r.completed).length).toBeGreaterThan(20);
    },
  );
});

describe('retransmission timing under the simulated clock', () => {
  const blackHole = (zeroRtt: boolean) => {
    const keys = prng(99);
    const a = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
    const b = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
    const net = new SimNet(a, b, { loss: 1, duplicate: 0, delay: 1_000_000, jitter: 0 }, 1);
    const conn = a.connect('b', zeroRtt ? b.publicKey : undefined);
    conn.stream(0).sender.write(new Uint8Array(100).fill(1));
    let closedAt: number | null = null;
    let reason = '';
    net.run(
      () => closedAt !== null,
      (events) => {
        for (const e of events.a) if (e.type === 'connection-closed') [closedAt, reason] = [net.now, e.reason];
      },
      60e9,
    );
    return { sent: net.log.filter((l) => l.from === 'a').map((l) => l.at), closedAt, reason };
  };

  it.each([
    ['InitSnd (1-RTT)', false],
    ['InitCryptoSnd (0-RTT)', true],
  ])(
    'an unanswered %s goes out 6 times on the spec schedule, then the connection gives up (retransmission.give-up)',
    (_, zeroRtt) => {
      const { sent, closedAt, reason } = blackHole(zeroRtt);
      // A resend is due once MORE than RTO * 2^(n-1) has passed: 1 ns after each boundary.
      let at = 0;
      const expected = spec.retransmission.transmissions.map((row) => {
        const t = at;
        at += (row.waitFactor ?? 0) * constant('DefaultRto') + 1;
        return t;
      });
      console.log(
        `simulation: black hole (${zeroRtt ? '0-RTT' : '1-RTT'}): sent ` +
          `at ${sent.map((t) => `${t / 1e6} ms`).join(', ')}; gave up at ${(closedAt ?? 0) / 1e6} ms`,
      );
      expect(sent).toEqual(expected);
      expect(sent.map((t) => Math.round(t / 1e6))).toEqual([0, 200, 600, 1400, 3000, 6200]);
      expect(reason).toBe('retransmission-limit');
      // After the sixth transmission the connection waits once more, RTO * 2^5, for its ACK
      // (the Go original would close at once, giving it no chance), then gives up.
      expect(closedAt).toBe((expected.at(-1) ?? 0) + giveUpNanos(constant('DefaultRto')) + 1);
    },
  );
});

describe(
  'no single lost datagram hangs an exchange (clauses handshake.responder-progress, ' +
    'handshake.reply-after-handshake)',
  () => {
    const clean = { loss: 0, duplicate: 0, delay: 5_000_000, jitter: 0 };
    // The echo written at once rides on the responder's first reply; written 20 ms later
    // (as a Node application does) it must go out in a later packet, which is where a
    // responder that waits for the initiator's first Data packet used to hang.
    it.each([
      ['1-RTT, 1 B, echo at once', false, 1, 0, 0],
      ['1-RTT, 1 B, echo 20 ms later', false, 1, 20_000_000, 0],
      ['0-RTT, 1 B, echo at once', true, 1, 0, 0],
      ['0-RTT, 1 B, echo 20 ms later', true, 1, 20_000_000, 0],
      ['0-RTT, 3 kB, echo 20 ms later', true, 3000, 20_000_000, 0],
      // The client dials, its first packet goes out with nothing queued, and it writes 1 ms
      // later (as through the Node adapter): a lost first packet must still be resent.
      ['1-RTT, 1 B, written 1 ms after the dial', false, 1, 0, 1_000_000],
      ['0-RTT, 1 B, written 1 ms after the dial', true, 1, 0, 1_000_000],
    ])(
      '%s: dropping each datagram in turn, every run completes intact',
      { timeout: 60_000 },
      (label, zeroRtt, size, echoDelay, writeDelay) => {
        const run = (drop: Set<number>) =>
          runEcho({
            seed: 1,
            payloads: [payload(1, 0, size)],
            conditions: { ...clean, drop },
            zeroRtt,
            echoDelay,
            writeDelay,
            limit: 60e9,
          });
        const lossless = run(new Set());
        expect(lossless.completed).toBe(true);
        const outcomes = Array.from({ length: lossless.stats.sent }, (_, k) => {
          const r = run(new Set([k]));
          return {
            dropped: k,
            completed: r.completed,
            intact: r.echoedIntact.every(Boolean),
            closes: r.closeReasons,
            ms: Math.round(r.simulatedNanos / 1e6),
          };
        });
        console.log(
          `simulation: single drop, ${label}: ${lossless.stats.sent} datagrams without loss; completed after ` +
            `each drop in ${outcomes.map((o) => `${o.ms}`).join(', ')} ms`,
        );
        for (const o of outcomes) expect(o).toEqual({ ...o, completed: true, intact: true, closes: { a: [], b: [] } });
      },
    );
  },
);
