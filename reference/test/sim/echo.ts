// An echo exchange over a SimNet: the client sends a payload on each stream, the server
// echoes it, the client closes each stream once it has the whole echo back; done when
// every stream closed on both sides. Returns what happened, for the tests to judge.
import { Endpoint, type Connection } from '../../src/index.js';
import { prng } from '../helpers.js';
import { SimNet, type NetConditions } from './simnet.js';

export interface EchoResult {
  completed: boolean;
  /** The whole payload came back, byte for byte, per stream. */
  echoedIntact: boolean[];
  /** What came back is a prefix of the payload (nothing corrupted, reordered or invented), per stream. */
  prefixIntact: boolean[];
  closeReasons: { a: string[]; b: string[] };
  simulatedNanos: number;
  stats: SimNet['stats'];
  net: SimNet;
}

export interface EchoOptions {
  seed: number;
  payloads: Uint8Array[];
  conditions: NetConditions;
  zeroRtt?: boolean;
  limit?: number;
  /** The server writes each echo this long (ns) after reading it; 0 writes it at once. */
  echoDelay?: number;
  /**
   * The client opens its streams at once but writes this long (ns) later, as a Node
   * application does after dial(): the first packet then goes out with nothing queued.
   */
  writeDelay?: number;
}

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

export function runEcho(o: EchoOptions): EchoResult {
  const keys = prng(o.seed * 7919 + 1);
  const a = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
  const b = new Endpoint({ identityPrivateKey: keys(32), randomBytes: (n) => keys(n) });
  const net = new SimNet(a, b, o.conditions, o.seed);

  const client: Connection = a.connect('b', o.zeroRtt ? b.publicKey : undefined);
  const received = o.payloads.map(() => [] as Uint8Array[]);
  const receivedBytes = o.payloads.map(() => 0);
  const closedOn = { a: new Set<number>(), b: new Set<number>() };
  const closeReasons = { a: [] as string[], b: [] as string[] };
  o.payloads.forEach((p, id) => {
    const stream = client.stream(id);
    if (o.writeDelay) net.schedule(o.writeDelay, () => stream.sender.write(p));
    else stream.sender.write(p);
  });

  const completed = net.run(
    () => closedOn.a.size === o.payloads.length && closedOn.b.size === o.payloads.length,
    (events) => {
      for (const e of events.b) {
        if (e.type === 'stream-readable') {
          const conn = b.connections.get(e.connId);
          const s = conn?.streams.get(e.streamId);
          if (conn && s && s.sender.closeAt === null) {
            const data = conn.read(e.streamId, net.now);
            if (o.echoDelay) net.schedule(net.now + o.echoDelay, () => s.sender.write(data));
            else s.sender.write(data);
          }
        }
        if (e.type === 'stream-closed') closedOn.b.add(e.streamId);
        if (e.type === 'connection-closed') closeReasons.b.push(e.reason);
      }
      for (const e of events.a) {
        if (e.type === 'stream-readable') {
          const data = client.read(e.streamId, net.now);
          received[e.streamId]?.push(data);
          receivedBytes[e.streamId] = (receivedBytes[e.streamId] ?? 0) + data.length;
          if (receivedBytes[e.streamId] === o.payloads[e.streamId]?.length) client.stream(e.streamId).sender.close();
        }
        if (e.type === 'stream-closed') closedOn.a.add(e.streamId);
        if (e.type === 'connection-closed') closeReasons.a.push(e.reason);
      }
    },
    o.limit ?? 600e9,
  );
  return {
    completed,
    echoedIntact: o.payloads.map(
      (p, i) => Buffer.compare(Buffer.from(concat(received[i] ?? [])), Buffer.from(p)) === 0,
    ),
    prefixIntact: o.payloads.map((p, i) => {
      const got = Buffer.from(concat(received[i] ?? []));
      return got.length <= p.length && got.equals(Buffer.from(p.subarray(0, got.length)));
    }),
    closeReasons,
    simulatedNanos: net.now,
    stats: net.stats,
    net,
  };
}
