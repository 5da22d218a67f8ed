// Impaired paths between real endpoints (quic-interop-runner's transfer cases, for QOTP): the
// target and the reference talk through a relay that loses, reorders, duplicates, corrupts,
// delays, rate-limits or blackholes datagrams, seeded so that `--seed` replays the same fates.
// Server role: a reference client echoes through the relay with the target's server; client
// role: the target's client echoes with a reference server behind the relay. A case passes
// when the echo comes back intact; what happened to the datagrams is in its notes.
import { formatHostPort, parseHostPort, QotpSocket, type QotpConnection, type QotpStream } from '@qotp/reference/node';
import { performance } from 'node:perf_hooks';
import type { Impairment } from '../impair/impairment.js';
import { startRelay, type Relay, type RelaySettings } from '../impair/relay.js';
import type { CaseContext, CaseDefinition } from './case.js';
import { pattern } from './helpers.js';

interface Scenario {
  id: string;
  title: string;
  clauses: string[];
  bytes: number;
  zeroRtt?: boolean;
  /** Impairment of each direction; `both` applies to both. */
  both?: Impairment;
  toServer?: Impairment;
  toClient?: Impairment;
  timeoutMs: number;
  /**
   * At this loss rate a segment may well be lost six times in a row, and the spec then lets
   * the sender give up: the reference client's retransmission-limit counts as conforming.
   */
  giveUpAllowed?: boolean;
}

interface Echo {
  /** The bytes that came back, and when the last one did (ms after the dial). */
  received: Buffer;
  completeMs: number | null;
  /** Why the connection ended, if it did. */
  closed: string | null;
}

/** A reference client's echo over `to`: the data on stream 0, collected until it is all back. */
function referenceEcho(to: string, publicKey: Uint8Array | undefined, data: Uint8Array, limitMs: number): Promise<Echo> {
  return QotpSocket.listen({ listen: to.startsWith('[') ? '[::1]:0' : '127.0.0.1:0' }).then(
    (socket) =>
      new Promise<Echo>((resolve) => {
        const started = performance.now();
        const chunks: Buffer[] = [];
        let received = 0;
        let finished = false;
        // The first of: the whole echo, the connection's end, the time limit. Closing the
        // socket afterwards ends the connection too, which is then no longer news.
        const done = (complete: boolean, closed: string | null) => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          const echo = { received: Buffer.concat(chunks), completeMs: complete ? performance.now() - started : null, closed };
          void socket.close().then(() => resolve(echo));
        };
        const timer = setTimeout(() => done(false, null), limitMs);
        const conn: QotpConnection = socket.dial(to, publicKey);
        conn.on('close', (reason: string) => done(false, reason));
        const stream: QotpStream = conn.stream(0);
        stream.on('error', () => {});
        stream.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          if (received >= data.length) done(true, null);
        });
        stream.write(data);
      }),
  );
}

/** A line for the notes: the relay's settings, seed and what happened to the datagrams. */
function relayNote(relay: Relay): string {
  const fates = Object.entries(relay.stats())
    .map(([fate, n]) => `${n} ${fate}`)
    .join(', ');
  return `relay seed ${relay.seed} (--seed replays it): ${relay.description}; datagrams: ${fates || 'none'}`;
}

/** What a scenario's case declares, in either role. */
function header(s: Scenario, role: CaseDefinition['role']): Omit<CaseDefinition, 'run'> {
  return {
    id: `impair.${s.id}`,
    title: s.title,
    clauses: s.clauses,
    level: 'MUST',
    role,
    ...(s.zeroRtt ? { requires: ['zeroRtt' as const] } : {}),
    timeoutMs: s.timeoutMs + 5000,
  };
}

/** The relay in front of `server` for a scenario, drawing from the case's seed. */
const relayFor = (s: Scenario, server: string, seed: number): RelaySettings => ({ server, seed, toServer: s.toServer ?? s.both ?? {}, toClient: s.toClient ?? s.both ?? {} });

function serverCase(s: Scenario): CaseDefinition {
  return {
    ...header(s, 'server'),
    async run(ctx: CaseContext) {
      const address = ctx.endpoint.address;
      if (address === null) throw new Error('the case needs the server address');
      const relay = await startRelay(relayFor(s, formatHostPort(address.host, address.port), ctx.seed));
      try {
        const data = pattern(s.bytes, 21);
        const echo = await referenceEcho(relay.address, s.zeroRtt ? (ctx.endpoint.publicKey ?? undefined) : undefined, data, s.timeoutMs);
        ctx.note(relayNote(relay));
        const intact = echo.completeMs !== null && Buffer.compare(echo.received.subarray(0, data.length), Buffer.from(data)) === 0;
        if (!intact && s.giveUpAllowed && echo.closed === 'retransmission-limit') {
          ctx.note(`the reference client gave up after a segment's sixth transmission with ${echo.received.length} of ${data.length} bytes back: conforming at this loss rate (retransmission.give-up), not a pass of the transfer`);
          return;
        }
        const why = echo.closed === 'idle-timeout' ? 'the endpoint went silent for 30 s (it gave up or stalled) and the reference client closed (idle-timeout)' : echo.closed !== null ? `the reference client's connection closed (${echo.closed})` : `${s.timeoutMs / 1000} s passed`;
        ctx.expect(s.clauses[0] as string, intact, `${echo.received.length} of ${data.length} bytes echoed before ${why}`, { expected: `${data.length} bytes echoed intact`, observed: `${echo.received.length} bytes${echo.closed ? `, connection closed: ${echo.closed}` : ''}` });
        const ms = echo.completeMs as number;
        ctx.note(`echo of ${data.length} bytes complete after ${ms.toFixed(0)} ms: ${((data.length * 2 * 8) / (ms * 1000)).toFixed(2)} Mbit/s of goodput both ways`);
      } finally {
        await relay.close();
      }
    },
  };
}

/** A reference echo server: every stream's data back on the same stream, closed when the peer closes. */
async function referenceEchoServer(): Promise<QotpSocket> {
  const socket = await QotpSocket.listen({ listen: '127.0.0.1:0' });
  socket.on('connection', (conn: QotpConnection) => {
    conn.on('stream', (stream: QotpStream) => {
      stream.on('error', () => {});
      stream.on('data', (chunk: Buffer) => stream.write(chunk));
      stream.on('end', () => stream.end());
    });
  });
  return socket;
}

/**
 * Client role: the target's client echoes with a reference server behind the relay, and must
 * exit 0 (its echo intact and its close through, by the client contract).
 */
function clientCase(s: Scenario): CaseDefinition {
  return {
    ...header(s, 'client'),
    async run(ctx: CaseContext) {
      const server = await referenceEchoServer();
      const relay = await startRelay(relayFor(s, server.address, ctx.seed));
      try {
        const started = performance.now();
        const client = await ctx.startClient({ peer: { address: parseHostPort(relay.address) }, identityPublicKey: Uint8Array.from(Buffer.from(server.publicKeyHex, 'hex')), zeroRtt: s.zeroRtt === true, input: pattern(s.bytes, 22) });
        let timer: NodeJS.Timeout | undefined;
        const exit = await Promise.race([client.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), s.timeoutMs)))]);
        clearTimeout(timer);
        client.stop();
        ctx.note(relayNote(relay));
        const said = exit === null ? `still running after ${s.timeoutMs / 1000} s` : `exited with ${exit.code}: ${exit.stdout.trim().split('\n').slice(-2).join(' | ').slice(0, 300)}`;
        ctx.expect(s.clauses[0] as string, exit !== null && exit.code === 0, `the client's ${s.bytes}-byte echo through the impaired path did not succeed: it ${said}`, { expected: 'exit 0 after an intact echo', observed: said });
        ctx.note(`the client finished after ${(performance.now() - started).toFixed(0)} ms`);
      } finally {
        await relay.close();
        await server.close();
      }
    },
  };
}

const MB = 1_000_000;

export const impairCases: CaseDefinition[] = [
  serverCase({ id: 'handshake-loss', title: 'A 1-RTT handshake and a 1 kB echo complete with 30 % of the datagrams lost each way', clauses: ['retransmission.recovers'], bytes: 1000, both: { loss: 0.3 }, timeoutMs: 40_000 }),
  serverCase({ id: 'handshake-loss-0rtt', title: 'A 0-RTT handshake and a 1 kB echo complete with 30 % of the datagrams lost each way', clauses: ['retransmission.recovers'], bytes: 1000, zeroRtt: true, both: { loss: 0.3 }, timeoutMs: 40_000 }),
  serverCase({ id: 'transfer-loss-5', title: 'A 1 MB echo arrives intact with 5 % loss each way', clauses: ['retransmission.recovers'], bytes: MB, both: { loss: 0.05 }, timeoutMs: 45_000 }),
  // Each segment needs its data and its ACK through: 0.85^2 per try, so a segment fails six
  // tries with 0.28^6 = 5e-4, and about half the 1 MB echoes meet such a segment.
  serverCase({ id: 'transfer-loss-15', title: 'A 1 MB echo arrives intact with 15 % loss each way, or ends in a conforming give-up', clauses: ['retransmission.recovers'], bytes: MB, both: { loss: 0.15 }, timeoutMs: 50_000, giveUpAllowed: true }),
  // Bursts are counted in datagrams: in the sparse tail of a transfer one burst covers several
  // RTO-spaced resends of the same segment, so a conforming give-up happens now and then
  // (seen: a reference client gave up on a segment whose five resends fell into bursts).
  serverCase({ id: 'transfer-burst-loss', title: 'A 1 MB echo arrives intact through bursts of loss (Gilbert-Elliott), or ends in a conforming give-up', clauses: ['retransmission.recovers'], bytes: MB, both: { burst: { enter: 0.02, leave: 0.3, lossInBad: 0.7 } }, timeoutMs: 45_000, giveUpAllowed: true }),
  serverCase({ id: 'transfer-reorder', title: 'A 1 MB echo arrives intact and in order when 10 % of the datagrams are held back 20 ms', clauses: ['stream.ordered-delivery'], bytes: MB, both: { reorder: { rate: 0.1, ms: 20 } }, timeoutMs: 30_000 }),
  serverCase({ id: 'transfer-duplicate', title: 'A 1 MB echo arrives intact, each byte once, when 10 % of the datagrams come twice', clauses: ['stream.ordered-delivery'], bytes: MB, both: { duplicate: 0.1 }, timeoutMs: 30_000 }),
  serverCase({ id: 'transfer-corrupt', title: 'A 1 MB echo arrives intact when 5 % of the datagrams have a bit flipped: they are dropped and resent', clauses: ['crypto.aead.tamper', 'retransmission.recovers'], bytes: MB, both: { corrupt: 0.05 }, timeoutMs: 45_000 }),
  serverCase({ id: 'transfer-blackhole', title: 'A 1 MB echo resumes after a 2 s blackhole in the middle and arrives intact', clauses: ['retransmission.recovers'], bytes: MB, both: { blackholes: [{ fromMs: 300, toMs: 2300 }] }, timeoutMs: 45_000 }),
  clientCase({ id: 'client-loss-5', title: 'The client completes a 200 kB echo with 5 % of the datagrams lost each way', clauses: ['retransmission.recovers'], bytes: 200_000, both: { loss: 0.05 }, timeoutMs: 20_000 }),
  clientCase({ id: 'client-handshake-loss-0rtt', title: 'The client completes a 0-RTT handshake and a 1 kB echo with 30 % of the datagrams lost each way', clauses: ['retransmission.recovers'], bytes: 1000, zeroRtt: true, both: { loss: 0.3 }, timeoutMs: 20_000 }),
  clientCase({ id: 'client-reorder', title: 'The client completes a 200 kB echo when 10 % of the datagrams are held back 20 ms', clauses: ['stream.ordered-delivery'], bytes: 200_000, both: { reorder: { rate: 0.1, ms: 20 } }, timeoutMs: 20_000 }),
  serverCase({ id: 'goodput-10mbit', title: 'A 2 MB echo through a 10 Mbit/s link with a 64 kB queue arrives intact (goodput in the notes)', clauses: ['retransmission.recovers', 'flow.pacing'], bytes: 2 * MB, both: { rate: { bitsPerSecond: 10e6, queueBytes: 64 * 1024 }, delayMs: 5 }, timeoutMs: 45_000 }),
];
