// A simulated network and clock for two endpoints, in the manner of swp's SimNet:
// every datagram is delayed, and by the seed's dice lost, duplicated or reordered.
// Nothing here reads a real clock or Math.random, so a seed replays exactly.
import { type Connection, encodeData, encodePayload, Endpoint, type EngineEvent } from '../../src/index.js';
import { prng } from '../helpers.js';

export interface NetConditions {
  /** Probability that a datagram is dropped. */
  loss: number;
  /** Probability that a datagram is delivered twice. */
  duplicate: number;
  /** One-way delay, ns, plus up to `jitter` more (jitter reorders datagrams). */
  delay: number;
  jitter: number;
  /** Indexes (0-based, in the order sent by either side) of datagrams to drop for certain. */
  drop?: ReadonlySet<number>;
}

interface Timer {
  at: number;
  fire: () => void;
}

interface InTransit {
  at: number;
  seq: number; // tie-break, so equal times keep a stable order
  to: 'a' | 'b';
  from: 'a' | 'b';
  data: Uint8Array;
}

export class SimNet {
  now = 0;
  private readonly queue: InTransit[] = [];
  private readonly timers: Timer[] = [];
  private seq = 0;
  private readonly dice: () => number;
  readonly stats = { sent: 0, lost: 0, duplicated: 0, delivered: 0 };
  readonly events: { a: EngineEvent[]; b: EngineEvent[] } = { a: [], b: [] };
  /** Every datagram as sent, with its time, for timing checks. */
  readonly log: { at: number; from: 'a' | 'b'; data: Uint8Array }[] = [];

  constructor(
    readonly a: Endpoint,
    readonly b: Endpoint,
    private readonly conditions: NetConditions,
    seed: number,
  ) {
    const bytes = prng(seed);
    this.dice = () => {
      const [x, y, z] = bytes(3) as unknown as [number, number, number];
      return (x * 65536 + y * 256 + z) / 2 ** 24;
    };
  }

  /** Runs `fire` (the application's part, e.g. a delayed write) once the clock reaches `at`. */
  schedule(at: number, fire: () => void): void {
    this.timers.push({ at, fire });
  }

  private endpoint(name: 'a' | 'b'): Endpoint {
    return name === 'a' ? this.a : this.b;
  }

  /** Polls both endpoints and puts what they send on the wire. */
  private flush(): void {
    for (const name of ['a', 'b'] as const) {
      const out = this.endpoint(name).poll(this.now);
      this.events[name].push(...this.endpoint(name).takeEvents());
      for (const d of out) {
        const index = this.stats.sent++;
        this.log.push({ at: this.now, from: name, data: d.data });
        if (this.dice() < this.conditions.loss || this.conditions.drop?.has(index)) {
          this.stats.lost++;
          continue;
        }
        const copies = this.dice() < this.conditions.duplicate ? 2 : 1;
        if (copies === 2) this.stats.duplicated++;
        for (let i = 0; i < copies; i++) {
          const at = this.now + this.conditions.delay + Math.floor(this.dice() * this.conditions.jitter);
          this.queue.push({ at, seq: this.seq++, to: d.to as 'a' | 'b', from: name, data: d.data });
        }
      }
    }
  }

  /**
   * Runs until `done()` or until simulated time passes `limit` ns. `react` runs after
   * every step with the events since the last one (the application's part).
   */
  run(done: () => boolean, react: (events: { a: EngineEvent[]; b: EngineEvent[] }) => void, limit: number): boolean {
    this.flush();
    let stalled = 0; // steps in a row that did not advance the clock
    for (;;) {
      react(this.takeEvents());
      this.flush();
      if (done()) return true;
      const deadlines = [this.a.nextDeadline(this.now), this.b.nextDeadline(this.now)].filter(
        (t): t is number => t !== null,
      );
      const nextArrival = this.queue.reduce((m, d) => Math.min(m, d.at), Infinity);
      const nextTimer = this.timers.reduce((m, t) => Math.min(m, t.at), Infinity);
      const next = Math.min(nextArrival, nextTimer, ...deadlines);
      if (next === Infinity || next > limit) {
        react(this.takeEvents()); // the last events, e.g. a connection closing
        return done();
      }
      stalled = next <= this.now ? stalled + 1 : 0;
      if (stalled > 10_000)
        throw new Error(`livelock at ${this.now} ns: an endpoint asks to be polled now but sends nothing`);
      this.now = Math.max(this.now, next);
      for (const t of this.timers.filter((t) => t.at <= this.now)) {
        this.timers.splice(this.timers.indexOf(t), 1);
        t.fire();
      }
      this.queue.sort((x, y) => x.at - y.at || x.seq - y.seq);
      while (this.queue.length > 0 && (this.queue[0] as InTransit).at <= this.now) {
        const d = this.queue.shift() as InTransit;
        this.stats.delivered++;
        this.endpoint(d.to).receive(d.data, d.from, this.now);
      }
      this.events.a.push(...this.a.takeEvents());
      this.events.b.push(...this.b.takeEvents());
    }
  }

  private takeEvents(): { a: EngineEvent[]; b: EngineEvent[] } {
    return { a: this.events.a.splice(0), b: this.events.b.splice(0) };
  }
}

/** No loss, no duplicates, 2 ms each way. */
export const CLEAN: NetConditions = { loss: 0, duplicate: 0, delay: 2_000_000, jitter: 0 };

/** Endpoints `a` and `b`, their keys and randomness drawn from `seed`, on a SimNet with `conditions`. */
export function simulatedPair(
  seed: number,
  conditions: NetConditions = CLEAN,
): { a: Endpoint; b: Endpoint; net: SimNet } {
  const keys = prng(seed);
  const a = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
  const b = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
  return { a, b, net: new SimNet(a, b, conditions, seed) };
}

/**
 * `a` connected to `b` with the first 100 bytes of stream 0 sent and acknowledged, then the
 * window `a` was told set to `window` bytes, as if `b`'s last ACK had said so.
 */
export function warmSender(seed: number, window: number) {
  const { a, b, net } = simulatedPair(seed);
  const conn = a.connect('b');
  const sender = conn.stream(0).sender;
  sender.write(new Uint8Array(100).fill(1));
  net.run(
    () => sender.inFlight.size === 0 && sender.sentOffset === 100,
    () => {},
    5e9,
  );
  (conn as unknown as { peerWindow: number }).peerWindow = window;
  return { a, b, net, conn, sender };
}

/**
 * Hands `to` a Data packet of `conn`'s (the initiator's connection to it) carrying one stream
 * segment, sealed under sequence numbers counted from `firstSn`, at `now()`: packets as the
 * initiator would send them, made by the test.
 */
export function segmentsFrom(conn: Connection, to: Endpoint, firstSn: number, now: () => number) {
  let sn = firstSn;
  return (streamId: number, offset: number, data: Uint8Array, isClose = false) =>
    to.receive(
      encodeData({
        connId: conn.id,
        secret: conn.secret as Uint8Array,
        sn: sn++,
        epoch: 0,
        sealedByInitiator: true,
        payload: encodePayload({ isClose, ack: null, stream: { streamId, offset, data } }),
      }),
      'a',
      now(),
    );
}
