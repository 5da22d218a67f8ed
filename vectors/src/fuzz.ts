// A seeded fuzzer for the reference: it mutates every packet and payload vector and feeds
// the results to the receive path and the payload decoder, and it seals adversarial
// payloads with a live connection's secret so that they pass authentication and reach
// the engine. Every input must end in success or a QotpError (a typed rejection);
// anything else thrown is a crash, reported with the input that caused it.
import {
  decodePayload,
  encodeData,
  encodePayload,
  Endpoint,
  QotpError,
  receivePacket,
  type Connection,
  type Payload,
  type ReceiverContext,
  xorshift32,
} from '@qotp/reference';
import { fromHex, toHex } from './hex.js';
import { allTests, loadVectors } from './index.js';
import { receiverContext } from './packets.js';

export interface FuzzOptions {
  /** Inputs in all (split between the three targets). */
  count: number;
  seed: number;
}

export interface Crash {
  target: 'receive-path' | 'payload-decoder' | 'engine';
  /** The input, hex: the datagram, the payload, or the payload sealed into a Data packet. */
  input: string;
  error: string;
}

export interface FuzzReport {
  inputs: number;
  /** Inputs that decoded, or that the engine took (a mutation can leave a packet valid, e.g. a flipped padding bit). */
  accepted: number;
  /** QotpError codes (thrown, or of the engine's 'dropped' events) and how often each came. */
  rejected: Record<string, number>;
  crashes: Crash[];
  /** Why the engine's connection ended, when fuzzing ended it (a new pair then takes over). */
  engineCloses: Record<string, number>;
  ms: number;
}

/** The same seed gives the same inputs. */
function dice(seed: number): { int(n: number): number; bytes(n: number): Uint8Array } {
  const next = xorshift32(seed);
  return { int: (n) => next() % n, bytes: (n) => Uint8Array.from({ length: n }, () => next() & 0xff) };
}

type Dice = ReturnType<typeof dice>;

/** One random damage: bit flips, a byte set, truncation, extension, a random range, a repeated slice. */
function mutate(input: Uint8Array, d: Dice): Uint8Array {
  const b = input.slice();
  switch (d.int(7)) {
    case 0:
      for (let i = 1 + d.int(4); i > 0 && b.length > 0; i--) {
        const at = d.int(b.length);
        b[at] = (b[at] as number) ^ (1 << d.int(8));
      }
      return b;
    case 1:
      if (b.length > 0) b[d.int(b.length)] = d.int(256);
      return b;
    case 2:
      return b.subarray(0, d.int(b.length + 1));
    case 3:
      return Uint8Array.from([...b, ...d.bytes(1 + d.int(64))]);
    case 4: {
      const at = d.int(b.length + 1);
      b.set(d.bytes(Math.min(b.length - at, 1 + d.int(16))), at);
      return b;
    }
    case 5: {
      const at = d.int(b.length + 1);
      return Uint8Array.from([...b.subarray(0, at), ...b.subarray(d.int(b.length + 1)), ...b.subarray(at)]);
    }
    default:
      if (b.length > 0) b[0] = d.int(256); // the header byte: every message type and version
      return b;
  }
}

/** Extreme but encodable field values: what a hostile peer with the keys may send. */
function adversarialPayload(d: Dice): Payload {
  const big = [0, 1, 0xff_ffff, 0x100_0000, 2 ** 32 - 1, 2 ** 48 - 1];
  const offset = d.int(3) === 0 ? (big[d.int(big.length)] as number) : d.int(40_000);
  const streamId = d.int(4) === 0 ? 2 ** 32 - 1 - d.int(3) : d.int(6);
  const ack =
    d.int(2) === 0
      ? null
      : {
          streamId: d.int(6),
          offset: d.int(3) === 0 ? (big[d.int(big.length)] as number) : d.int(40_000),
          length: d.int(1500),
          window: d.int(3) === 0 ? 0 : d.int(1 << 24),
        };
  const data = d.bytes(d.int(3) === 0 ? 0 : d.int(1300));
  const isClose = d.int(5) === 0;
  return {
    isClose,
    ack,
    stream:
      ack !== null && d.int(4) === 0 && !isClose
        ? null
        : { streamId, offset: Math.max(0, Math.min(offset, 2 ** 48 - 1 - data.length)), data },
  };
}

/** Runs one input; returns whether it was accepted, or throws what was not a QotpError. */
function attempt(run: () => void, report: FuzzReport, crash: (e: unknown) => void): void {
  report.inputs++;
  try {
    run();
    report.accepted++;
  } catch (e) {
    if (e instanceof QotpError) report.rejected[e.code] = (report.rejected[e.code] ?? 0) + 1;
    else crash(e);
  }
}

/** A responder engine with one established 1-RTT connection, and what it takes to seal for it. */
function establishedPair(d: Dice): { server: Endpoint; client: Endpoint; conn: Connection; now: { t: number } } {
  const client = new Endpoint({ identityPrivateKey: d.bytes(32), randomBytes: (n) => d.bytes(n) });
  const server = new Endpoint({ identityPrivateKey: d.bytes(32), randomBytes: (n) => d.bytes(n) });
  const conn = client.connect('server');
  conn.stream(0).sender.write(Uint8Array.of(1, 2, 3));
  const now = { t: 1_000_000 };
  for (let i = 0; i < 200 && !(conn.handshakeDone && [...server.connections.values()][0]?.handshakeDone); i++) {
    now.t += 1_000_000;
    for (const o of client.poll(now.t)) server.receive(o.data, 'client', now.t);
    for (const o of server.poll(now.t)) client.receive(o.data, 'server', now.t);
  }
  if (!conn.handshakeDone) throw new Error('fuzz: the handshake of the engine pair did not complete');
  return { server, client, conn, now };
}

export function fuzz(o: FuzzOptions): FuzzReport {
  const started = performance.now();
  const d = dice(o.seed);
  const report: FuzzReport = { inputs: 0, accepted: 0, rejected: {}, crashes: [], engineCloses: {}, ms: 0 };
  const crashOf = (target: Crash['target'], input: Uint8Array) => (e: unknown) => {
    if (report.crashes.length < 20)
      report.crashes.push({ target, input: toHex(input), error: (e as Error).stack ?? String(e) });
  };

  const packets: { packet: Uint8Array; ctx: ReceiverContext }[] = [];
  for (const name of ['crypto-messages', 'invalid-packets'] as const) {
    for (const { group, test } of allTests(loadVectors(name)))
      packets.push({ packet: fromHex(test.packet), ctx: receiverContext(group.keySet, test.receiver) });
  }
  const payloads = [...allTests(loadVectors('payloads'))].map(({ test }) => fromHex(test.encoded));

  // The three targets in turn, so that any count exercises all of them.
  let pair = establishedPair(d);
  let snUsed = 1000; // past what the handshake used
  const sealed = (payload: Uint8Array) =>
    encodeData({
      connId: pair.conn.id,
      secret: pair.conn.secret as Uint8Array,
      sn: ++snUsed,
      epoch: 0,
      sealedByInitiator: true,
      payload,
    });
  for (let i = 0; i < o.count; i++) {
    switch (i % 3) {
      case 0: {
        const v = packets[d.int(packets.length)] as (typeof packets)[number];
        const input = mutate(v.packet, d);
        attempt(() => void receivePacket(input, v.ctx), report, crashOf('receive-path', input));
        break;
      }
      case 1: {
        const input = d.int(8) === 0 ? d.bytes(d.int(64)) : mutate(payloads[d.int(payloads.length)] as Uint8Array, d);
        attempt(() => void decodePayload(input), report, crashOf('payload-decoder', input));
        break;
      }
      default: {
        // Authenticated: a mutated vector payload, random bytes, or extreme field values.
        let payload: Uint8Array;
        try {
          const kind = d.int(3);
          payload =
            kind === 0
              ? mutate(payloads[d.int(payloads.length)] as Uint8Array, d)
              : kind === 1
                ? d.bytes(d.int(1300))
                : encodePayload(adversarialPayload(d));
        } catch (e) {
          if (!(e instanceof QotpError)) throw e; // the generator's own bug, not the engine's
          payload = d.bytes(8);
        }
        // A sealed payload has at least 8 bytes (they supply the SN mask's nonce).
        if (payload.length < 8) payload = Uint8Array.from([...payload, ...d.bytes(8 - payload.length)]);
        const input = sealed(payload);
        pair.now.t += 1_000_000;
        attempt(
          () => {
            // The engine drops what fails its checks itself (a 'dropped' event): only a
            // non-QotpError escapes receive().
            pair.server.receive(input, 'client', pair.now.t);
            for (const out of pair.server.poll(pair.now.t)) pair.client.receive(out.data, 'server', pair.now.t);
            pair.client.poll(pair.now.t);
            pair.server.nextDeadline(pair.now.t);
            pair.client.takeEvents();
            const events = pair.server.takeEvents();
            for (const e of events)
              if (e.type === 'connection-closed')
                report.engineCloses[e.reason] = (report.engineCloses[e.reason] ?? 0) + 1;
            const dropped = events.find((e) => e.type === 'dropped');
            if (dropped !== undefined)
              throw new QotpError(dropped.reason.split(':')[0] as QotpError['code'], dropped.reason);
          },
          report,
          crashOf('engine', payload),
        );
        if (pair.server.connections.size === 0) {
          pair = establishedPair(d);
          snUsed = 1000;
        }
      }
    }
  }
  report.ms = performance.now() - started;
  return report;
}
