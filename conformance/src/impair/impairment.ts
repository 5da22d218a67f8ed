// What an impaired path does to each datagram, as a pure function of seeded random streams:
// a chain of stages (a timed blackhole, independent or Gilbert-Elliott burst loss, a rate
// limit with a queue, delay, jitter, reordering, corruption, duplication), each with its own
// parameters, its own description and its own random stream, derived from the path's seed and
// the stage's name. The relay (relay.ts) applies the verdicts on real sockets; given the same
// seed, settings and arrival order, the same datagrams meet the same fate.
//
// Adding a stage: one entry in STAGES (where in the chain it acts), one optional field in
// Impairment. Every stage draws its numbers for every datagram, before any stage decides, so
// that a new stage, or another stage switched on, shifts no other stage's draws: a seed's
// losses stay the datagrams they were (test/impair.test.ts).
import { seededUnit } from '@qotp/reference';

/** Per direction. Rates are probabilities 0..1; times in ms. */
export interface Impairment {
  /** Drop everything between these times (ms since the relay started). */
  blackholes?: { fromMs: number; toMs: number }[];
  /** Independent loss. */
  loss?: number;
  /** Gilbert-Elliott burst loss: enter the bad state with `enter`, leave it with `leave`; lose `lossInBad` there. */
  burst?: { enter: number; leave: number; lossInBad: number };
  /** A rate limit: datagrams leave at most this fast, queued up to `queueBytes` (tail drop). */
  rate?: { bitsPerSecond: number; queueBytes: number };
  /** Added one-way delay. */
  delayMs?: number;
  /** Uniform jitter on top of the delay, 0..jitterMs. */
  jitterMs?: number;
  /** Hold a share of datagrams back by `ms`, so later ones overtake them. */
  reorder?: { rate: number; ms: number };
  /** Flip one random bit of a datagram with this probability. */
  corrupt?: number;
  /** Send a datagram twice with this probability (the copy right behind). */
  duplicate?: number;
}

export type DropReason = 'loss' | 'burst' | 'blackhole' | 'queue-full';

export type Fate =
  | { action: 'drop'; why: DropReason }
  | { action: 'send'; bytes: Uint8Array; delayMs: number; corrupted: boolean; duplicate: boolean };

/** A datagram on its way through the stages. */
type InFlight = Extract<Fate, { action: 'send' }>;

/** One stage of a path, set up with its parameters; it keeps its own state (a burst, a queue). */
interface StageAt {
  /** The stage's verdict on a datagram that arrived at `nowMs`, given its own draws for it. */
  apply(d: InFlight, nowMs: number, draws: number[]): InFlight | DropReason;
  describe(): string;
}

/** How a stage is made from its parameters, and how many numbers it draws per datagram. */
export interface Stage<K extends keyof Impairment = keyof Impairment> {
  name: K;
  draws: number;
  make(p: NonNullable<Impairment[K]>): StageAt;
}

/** Any one stage: the union over the fields of Impairment, so that each entry is checked against its own field. */
export type AnyStage = { [K in keyof Impairment]-?: Stage<K> }[keyof Impairment];

const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 1 : 0)} %`;

/** The stages in the order they act on a datagram. */
export const STAGES: AnyStage[] = [
  {
    name: 'blackholes',
    draws: 0,
    make: (holes) => ({
      apply: (d, nowMs) => (holes.some((h) => nowMs >= h.fromMs && nowMs < h.toMs) ? 'blackhole' : d),
      describe: () => holes.map((h) => `blackhole ${h.fromMs}-${h.toMs} ms`).join(', '),
    }),
  },
  {
    name: 'loss',
    draws: 1,
    make: (loss) => ({
      apply: (d, _now, [r]) => ((r as number) < loss ? 'loss' : d),
      describe: () => `loss ${pct(loss)}`,
    }),
  },
  {
    name: 'burst',
    draws: 2,
    make: (b) => {
      let bad = false;
      return {
        // The state moves for every datagram, lost or not, as the channel would.
        apply: (d, _now, [move, lose]) => {
          bad = bad ? (move as number) >= b.leave : (move as number) < b.enter;
          return bad && (lose as number) < b.lossInBad ? 'burst' : d;
        },
        describe: () =>
          `burst loss (enter ${pct(b.enter)}, leave ${pct(b.leave)}, ${pct(b.lossInBad)} lost in a burst)`,
      };
    },
  },
  {
    name: 'rate',
    draws: 0,
    make: (rate) => {
      /** When the link is next free, in ms since the start. */
      let linkFreeAt = 0;
      return {
        apply: (d, nowMs) => {
          const start = Math.max(nowMs, linkFreeAt);
          const queued = ((start - nowMs) * rate.bitsPerSecond) / 8000; // bytes ahead of this one
          if (queued + d.bytes.length > rate.queueBytes) return 'queue-full';
          linkFreeAt = start + (d.bytes.length * 8000) / rate.bitsPerSecond;
          return { ...d, delayMs: d.delayMs + linkFreeAt - nowMs };
        },
        describe: () => `${rate.bitsPerSecond / 1e6} Mbit/s, queue ${rate.queueBytes} B`,
      };
    },
  },
  {
    name: 'delayMs',
    draws: 0,
    make: (ms) => ({ apply: (d) => ({ ...d, delayMs: d.delayMs + ms }), describe: () => `delay ${ms} ms` }),
  },
  {
    name: 'jitterMs',
    draws: 1,
    make: (ms) => ({
      apply: (d, _now, [r]) => ({ ...d, delayMs: d.delayMs + ms * (r as number) }),
      describe: () => `jitter ${ms} ms`,
    }),
  },
  {
    name: 'reorder',
    draws: 1,
    make: (o) => ({
      apply: (d, _now, [r]) => ((r as number) < o.rate ? { ...d, delayMs: d.delayMs + o.ms } : d),
      describe: () => `reordering ${pct(o.rate)} by ${o.ms} ms`,
    }),
  },
  {
    name: 'corrupt',
    draws: 2,
    make: (rate) => ({
      apply: (d, _now, [r, bitDraw]) => {
        if ((r as number) >= rate || d.bytes.length === 0) return d;
        const bytes = d.bytes.slice();
        const bit = Math.floor((bitDraw as number) * bytes.length * 8);
        bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
        return { ...d, bytes, corrupted: true };
      },
      describe: () => `corruption ${pct(rate)}`,
    }),
  },
  {
    name: 'duplicate',
    draws: 1,
    make: (rate) => ({
      apply: (d, _now, [r]) => ((r as number) < rate ? { ...d, duplicate: true } : d),
      describe: () => `duplication ${pct(rate)}`,
    }),
  },
];

/** A 32-bit seed for one stage of one direction: FNV-1a of "seed/direction/stage", never 0. */
export function stageSeed(seed: number, direction: string, stageName: string): number {
  let h = 0x811c9dc5;
  for (const c of `${seed >>> 0}/${direction}/${stageName}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h || 1;
}

/** True for a parameter that switches its stage on (a rate of 0 or an empty list does not). */
const enabled = (p: unknown): boolean => p !== undefined && p !== 0 && !(Array.isArray(p) && p.length === 0);

/**
 * A stage set up with its own field of `settings`. TypeScript cannot pair a union member's
 * name with its field's type here; each entry of STAGES is checked against its field instead.
 */
const setUp = (s: AnyStage, settings: Impairment): StageAt => s.make(settings[s.name] as never);

/** The verdicts of one direction of the path. */
export class ImpairedPath {
  private readonly chain: { at: StageAt; draws: number; random: () => number }[];

  /**
   * `direction` names the path's random streams ("to-server", "to-client"), so that the two
   * directions of a relay meet independent fates under one seed. `stages` is STAGES but in a test.
   */
  constructor(settings: Impairment, seed: number, direction = 'path', stages: AnyStage[] = STAGES) {
    this.chain = stages
      .filter((s) => enabled(settings[s.name]))
      .map((s) => ({
        at: setUp(s, settings),
        draws: s.draws,
        random: seededUnit(stageSeed(seed, direction, s.name)),
      }));
  }

  /** What happens to a datagram that arrives `nowMs` after the relay started. */
  fate(bytes: Uint8Array, nowMs: number): Fate {
    // Every stage draws first, whatever an earlier stage decides (see the top of the file).
    const draws = this.chain.map((s) => Array.from({ length: s.draws }, s.random));
    let d: InFlight = { action: 'send', bytes, delayMs: 0, corrupted: false, duplicate: false };
    for (const [i, s] of this.chain.entries()) {
      const next = s.at.apply(d, nowMs, draws[i] as number[]);
      if (typeof next === 'string') return { action: 'drop', why: next };
      d = next;
    }
    return d;
  }
}

/** "loss 5 %, reordering 10 % by 20 ms" for reports: each stage in the chain describes itself. */
export function describeImpairment(s: Impairment): string {
  const parts = STAGES.filter((st) => enabled(s[st.name])).map((st) => setUp(st, s).describe());
  return parts.join(', ') || 'none';
}
