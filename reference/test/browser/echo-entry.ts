// Bundled for the browser platform by browser.test.ts and run in headless Chromium: two
// engines exchange datagrams in memory, 1-RTT and 0-RTT, on a clock of their own. Only
// the portable core is imported; a Node API anywhere in it would fail the bundle.
import { Endpoint, type Address } from '../../src/index.js';

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** One echo of `message` on stream 0; returns what came back, or why not. */
function echo(message: Uint8Array, zeroRtt: boolean): { echoed: string; datagrams: number; ms: number } {
  const client = new Endpoint({ identityPrivateKey: random(32), randomBytes: random });
  const server = new Endpoint({ identityPrivateKey: random(32), randomBytes: random });
  const conn = client.connect('server', zeroRtt ? server.publicKey : undefined);
  conn.stream(0).sender.write(message);
  const back: Uint8Array[] = [];
  let now = 0;
  let datagrams = 0;
  const deliver = (to: Endpoint, from: Address, out: { data: Uint8Array }[]) => {
    for (const d of out) {
      datagrams++;
      to.receive(d.data, from, now);
    }
  };
  for (let round = 0; round < 1000 && back.reduce((n, b) => n + b.length, 0) < message.length; round++) {
    now += 1_000_000; // 1 ms per round, as a one-way delay
    deliver(server, 'client', client.poll(now));
    for (const e of server.takeEvents()) {
      if (e.type === 'stream-readable') {
        const c = server.connections.get(e.connId);
        c?.stream(e.streamId).sender.write(c.read(e.streamId, now));
      }
    }
    deliver(client, 'server', server.poll(now));
    for (const e of client.takeEvents()) if (e.type === 'stream-readable') back.push(conn.read(e.streamId, now));
  }
  return { echoed: new TextDecoder().decode(Uint8Array.from(back.flatMap((b) => [...b]))), datagrams, ms: now / 1e6 };
}

const message = new TextEncoder().encode('hello from a browser bundle');
(globalThis as { qotpResult?: unknown }).qotpResult = {
  userAgent: (globalThis as { navigator?: { userAgent: string } }).navigator?.userAgent ?? 'no navigator',
  oneRtt: echo(message, false),
  zeroRtt: echo(message, true),
};
