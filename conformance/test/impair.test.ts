// The impaired path: each setting does what it says at about its rate, and a seed replays
// the same fates, in the pure model and through the live relay.
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import {
  describeImpairment,
  ImpairedPath,
  STAGES,
  type AnyStage,
  type Fate,
  type Impairment,
} from '../src/impair/impairment.js';
import { startRelay } from '../src/impair/relay.js';

const datagram = (i: number) => Uint8Array.from({ length: 100 }, (_, j) => (i + j) & 255);
const fates = (s: Impairment, seed: number, n = 10_000, spacingMs = 1, stages = STAGES): Fate[] => {
  const path = new ImpairedPath(s, seed, 'to-server', stages);
  return Array.from({ length: n }, (_, i) => path.fate(datagram(i), i * spacingMs));
};
const share = (f: Fate[], pick: (x: Fate) => boolean) => f.filter(pick).length / f.length;

describe('impaired path', () => {
  it('loses, corrupts, duplicates and holds back at about the rates asked, and only as asked', () => {
    const f = fates({ loss: 0.1, corrupt: 0.05, duplicate: 0.05, reorder: { rate: 0.2, ms: 30 } }, 7);
    expect(share(f, (x) => x.action === 'drop')).toBeCloseTo(0.1, 1);
    const sent = f.filter((x): x is Extract<Fate, { action: 'send' }> => x.action === 'send');
    expect(share(sent, (x) => x.action === 'send' && x.corrupted)).toBeCloseTo(0.05, 1);
    expect(share(sent, (x) => x.action === 'send' && x.duplicate)).toBeCloseTo(0.05, 1);
    expect(share(sent, (x) => x.action === 'send' && x.delayMs === 30)).toBeCloseTo(0.2, 1);
    const clean = fates({}, 7);
    expect(clean.every((x) => x.action === 'send' && !x.corrupted && !x.duplicate && x.delayMs === 0)).toBe(true);
  });

  it('flips exactly one bit of a corrupted datagram', () => {
    const path = new ImpairedPath({ corrupt: 1 }, 3);
    const input = datagram(0);
    const out = path.fate(input, 0);
    if (out.action !== 'send') throw new Error('dropped');
    const flipped = [...out.bytes].reduce(
      (n, b, i) => n + ((b ^ (input[i] as number)).toString(2).split('1').length - 1),
      0,
    );
    expect(flipped).toBe(1);
  });

  it('drops everything inside a blackhole and nothing around it', () => {
    const f = fates({ blackholes: [{ fromMs: 100, toMs: 200 }] }, 1, 300);
    expect(f.slice(100, 200).every((x) => x.action === 'drop' && x.why === 'blackhole')).toBe(true);
    expect([...f.slice(0, 100), ...f.slice(200)].every((x) => x.action === 'send')).toBe(true);
  });

  it('loses in bursts under the Gilbert-Elliott model: losses come in runs', () => {
    const f = fates({ burst: { enter: 0.01, leave: 0.2, lossInBad: 1 } }, 11, 20_000);
    const lost = f.map((x) => x.action === 'drop');
    const runs = lost.filter((l, i) => l && !lost[i - 1]).length;
    const total = lost.filter(Boolean).length;
    expect(total).toBeGreaterThan(200);
    expect(total / runs).toBeGreaterThan(2.5); // mean burst length about 1 / leave = 5
  });

  it('limits the rate: datagrams leave no faster than the link, and a full queue drops the tail', () => {
    // 100-byte datagrams every 0.01 ms into 1 Mbit/s: 0.8 ms each on the wire.
    const f = fates({ rate: { bitsPerSecond: 1e6, queueBytes: 1000 } }, 5, 100, 0.01);
    const sent = f.filter((x) => x.action === 'send');
    expect(sent.length).toBeLessThanOrEqual(11);
    expect(f.filter((x) => x.action === 'drop' && x.why === 'queue-full').length).toBe(100 - sent.length);
  });

  it('gives the same fates for the same seed and others for another seed', () => {
    const settings = { loss: 0.2, corrupt: 0.1, reorder: { rate: 0.1, ms: 5 } };
    const a = fates(settings, 42, 500).map((x) => (x.action === 'drop' ? 'drop' : `${x.corrupted}${x.delayMs}`));
    const b = fates(settings, 42, 500).map((x) => (x.action === 'drop' ? 'drop' : `${x.corrupted}${x.delayMs}`));
    const c = fates(settings, 43, 500).map((x) => (x.action === 'drop' ? 'drop' : `${x.corrupted}${x.delayMs}`));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(describeImpairment(settings)).toBe('loss 20 %, reordering 10 % by 5 ms, corruption 10 %');
  });

  /** Which datagrams a stage decided about: the indices lost as `why`, or those marked by `pick`. */
  const marked = (f: Fate[], pick: (x: Fate) => boolean) => f.flatMap((x, i) => (pick(x) ? [i] : []));
  const lostTo = (why: string) => (x: Fate) => x.action === 'drop' && x.why === why;

  it("keeps a stage's fates when other stages are switched on: each draws from its own stream", () => {
    const alone = fates({ loss: 0.1 }, 9, 2000);
    const crowded = fates(
      { loss: 0.1, burst: { enter: 0.05, leave: 0.3, lossInBad: 0.5 }, jitterMs: 3, corrupt: 0.2, duplicate: 0.1 },
      9,
      2000,
    );
    expect(marked(crowded, lostTo('loss'))).toEqual(marked(alone, lostTo('loss')));
    expect(marked(crowded, lostTo('burst')).length).toBeGreaterThan(0);
    const corruptAlone = fates({ corrupt: 0.2 }, 9, 2000);
    const corrupted = (x: Fate) => x.action === 'send' && x.corrupted;
    // Loss comes first in the chain: of the datagrams it let through, the same ones are corrupted.
    const through = new Set(marked(crowded, (x) => x.action === 'send'));
    expect(marked(crowded, corrupted)).toEqual(marked(corruptAlone, corrupted).filter((i) => through.has(i)));
  });

  it('keeps every fate of a seed when a new stage is added to the chain', () => {
    const settings: Impairment = { loss: 0.1, reorder: { rate: 0.2, ms: 10 }, corrupt: 0.1 };
    // A stage that draws three numbers per datagram and changes nothing, first in the chain.
    const idle = { name: 'idle', draws: 3, make: () => ({ apply: (d: unknown) => d, describe: () => 'idle' }) };
    const withIdle = [idle as unknown as AnyStage, ...STAGES];
    const before = fates(settings, 5, 2000);
    const after = fates({ ...settings, idle: 1 } as Impairment, 5, 2000, 1, withIdle);
    expect(after).toEqual(before);
    expect(marked(before, lostTo('loss')).length).toBeGreaterThan(100);
  });
});

describe('relay', () => {
  /** Sends 200 numbered datagrams through a relay with 30 % loss; returns which ones arrived. */
  async function throughRelay(seed: number): Promise<{ arrived: number[]; seed: number }> {
    const server = createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    const arrived: number[] = [];
    server.on('message', (m) => arrived.push(m.readUInt16LE(0)));
    const relay = await startRelay({ server: `127.0.0.1:${server.address().port}`, seed, toServer: { loss: 0.3 } });
    const client = createSocket('udp4');
    const [host, port] = [relay.address.split(':')[0] as string, Number(relay.address.split(':')[1])];
    for (let i = 0; i < 200; i++) {
      const b = Buffer.alloc(50);
      b.writeUInt16LE(i, 0);
      client.send(b, port, host);
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(relay.stats()['dropped: loss']).toBe(200 - arrived.length);
    await relay.close();
    client.close();
    server.close();
    return { arrived, seed: relay.seed };
  }

  it('drops the same datagrams again when given the same seed (--seed replays a run)', async () => {
    const first = await throughRelay(2026);
    const again = await throughRelay(2026);
    expect(first.arrived.length).toBeGreaterThan(100);
    expect(first.arrived.length).toBeLessThan(180);
    expect(again.arrived).toEqual(first.arrived);
  });
});
