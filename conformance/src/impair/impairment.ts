// What an impaired path does to each datagram, as a pure function of a seeded random
// stream: drop it (independent or Gilbert-Elliott burst loss, or a timed blackhole), pass
// a corrupted copy, send it twice, or hold it back (delay, jitter, reordering, a rate
// limit with a queue). The relay (relay.ts) applies the verdicts on real sockets; given the
// same seed, settings and arrival order, the same datagrams meet the same fate.

/** Per direction. Rates are probabilities 0..1; times in ms. */
export interface Impairment {
  /** Independent loss. */
  loss?: number;
  /** Gilbert-Elliott burst loss: enter the bad state with `enter`, leave it with `leave`; lose `lossInBad` there. */
  burst?: { enter: number; leave: number; lossInBad: number };
  /** Flip one random bit of a datagram with this probability. */
  corrupt?: number;
  /** Send a datagram twice with this probability (the copy right behind). */
  duplicate?: number;
  /** Hold a share of datagrams back by `ms`, so later ones overtake them. */
  reorder?: { rate: number; ms: number };
  /** Added one-way delay and uniform jitter on top. */
  delayMs?: number;
  jitterMs?: number;
  /** A rate limit: datagrams leave at most this fast, queued up to `queueBytes` (tail drop). */
  rate?: { bitsPerSecond: number; queueBytes: number };
  /** Drop everything between these times (ms since the relay started). */
  blackholes?: { fromMs: number; toMs: number }[];
}

export type Fate =
  | { action: 'drop'; why: 'loss' | 'burst' | 'blackhole' | 'queue-full' }
  | { action: 'send'; bytes: Uint8Array; delayMs: number; corrupted: boolean; duplicate: boolean };

/** The verdicts of one direction of the path. */
export class ImpairedPath {
  private bad = false;
  /** When the rate limiter's queue is next free, in ms since the start. */
  private linkFreeAt = 0;

  constructor(
    private readonly settings: Impairment,
    private readonly random: () => number,
  ) {}

  /** What happens to a datagram that arrives `nowMs` after the relay started. */
  fate(bytes: Uint8Array, nowMs: number): Fate {
    const s = this.settings;
    // Every datagram draws the same numbers in the same order whatever happens to it, so a
    // change in one setting does not shift the fate of every later datagram.
    const [lossDraw, burstDraw, corruptDraw, bitDraw, dupDraw, reorderDraw, jitterDraw] = Array.from(
      { length: 7 },
      () => this.random(),
    );
    if (s.burst !== undefined)
      this.bad = this.bad ? (burstDraw as number) >= s.burst.leave : (burstDraw as number) < s.burst.enter;
    if (s.blackholes?.some((h) => nowMs >= h.fromMs && nowMs < h.toMs)) return { action: 'drop', why: 'blackhole' };
    if (s.loss !== undefined && (lossDraw as number) < s.loss) return { action: 'drop', why: 'loss' };
    if (this.bad && s.burst !== undefined && (lossDraw as number) < s.burst.lossInBad)
      return { action: 'drop', why: 'burst' };
    let delayMs = (s.delayMs ?? 0) + (s.jitterMs ?? 0) * (jitterDraw as number);
    if (s.rate !== undefined) {
      const start = Math.max(nowMs, this.linkFreeAt);
      const queued = ((start - nowMs) * s.rate.bitsPerSecond) / 8000; // bytes ahead of this one
      if (queued + bytes.length > s.rate.queueBytes) return { action: 'drop', why: 'queue-full' };
      this.linkFreeAt = start + (bytes.length * 8000) / s.rate.bitsPerSecond;
      delayMs += this.linkFreeAt - nowMs;
    }
    if (s.reorder !== undefined && (reorderDraw as number) < s.reorder.rate) delayMs += s.reorder.ms;
    let out = bytes;
    const corrupted = s.corrupt !== undefined && (corruptDraw as number) < s.corrupt && bytes.length > 0;
    if (corrupted) {
      out = bytes.slice();
      const bit = Math.floor((bitDraw as number) * bytes.length * 8);
      out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
    }
    return {
      action: 'send',
      bytes: out,
      delayMs,
      corrupted,
      duplicate: s.duplicate !== undefined && (dupDraw as number) < s.duplicate,
    };
  }
}

/** "loss 5 %, reorder 10 % by 20 ms" for reports. */
export function describeImpairment(s: Impairment): string {
  const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 1 : 0)} %`;
  const parts: string[] = [];
  if (s.loss) parts.push(`loss ${pct(s.loss)}`);
  if (s.burst)
    parts.push(
      `burst loss (enter ${pct(s.burst.enter)}, leave ${pct(s.burst.leave)}, ${pct(s.burst.lossInBad)} lost in a burst)`,
    );
  if (s.corrupt) parts.push(`corruption ${pct(s.corrupt)}`);
  if (s.duplicate) parts.push(`duplication ${pct(s.duplicate)}`);
  if (s.reorder) parts.push(`reordering ${pct(s.reorder.rate)} by ${s.reorder.ms} ms`);
  if (s.delayMs) parts.push(`delay ${s.delayMs} ms`);
  if (s.jitterMs) parts.push(`jitter ${s.jitterMs} ms`);
  if (s.rate) parts.push(`${s.rate.bitsPerSecond / 1e6} Mbit/s, queue ${s.rate.queueBytes} B`);
  for (const h of s.blackholes ?? []) parts.push(`blackhole ${h.fromMs}-${h.toMs} ms`);
  return parts.join(', ') || 'none';
}
