// A UDP relay between one client and one server on loopback, impaired per direction as
// impairment.ts decides, recording every datagram with its fate. QOTP matches packets by
// connection id, so the relay is invisible to both ends. With no impairment it is the plain
// recording relay of the interop tests.
import { formatHostPort, parseHostPort } from '@qotp/reference/node';
import { writePcap } from '../capture/pcap.js';
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { describeImpairment, ImpairedPath, type Impairment } from './impairment.js';

export interface Relayed {
  fromClient: boolean;
  /** As it arrived at the relay. */
  data: Uint8Array;
  /** When the relay received it, ms since the relay started. */
  t: number;
  /** What the path did with it. */
  fate:
    | 'sent'
    | 'dropped: loss'
    | 'dropped: burst'
    | 'dropped: blackhole'
    | 'dropped: queue-full'
    | 'corrupted'
    | 'duplicated'
    | 'delayed';
}

export interface RelaySettings {
  /** The server's "host:port". */
  server: string;
  seed?: number;
  toServer?: Impairment;
  toClient?: Impairment;
}

export interface Relay {
  /** Where clients send to. */
  address: string;
  seed: number;
  /** "client -> server: loss 5 %; server -> client: none". */
  description: string;
  captured: Relayed[];
  /** ms since the relay started: the clock of `captured`. */
  now(): number;
  /**
   * A pcap of `captured`: every datagram as the relay received it (before its impairment,
   * dropped ones too), addressed from client to server or back as if the relay were not there,
   * so that a key log opens it in Wireshark.
   */
  pcap(): Uint8Array;
  /** Counts per fate, both directions together. */
  stats(): Record<string, number>;
  close(): Promise<void>;
}

/** Most datagrams kept per run; later ones are counted only. */
const MAX_CAPTURED = 200_000;

export async function startRelay(settings: RelaySettings): Promise<Relay> {
  const target = parseHostPort(settings.server);
  const v6 = target.host.includes(':');
  const udp = createSocket(v6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => udp.bind(0, v6 ? '::1' : '127.0.0.1', resolve));
  // The relay runs in a busy test process: room for bursts (capped by net.core.rmem_max).
  udp.setRecvBufferSize(4 * 1024 * 1024);
  udp.setSendBufferSize(4 * 1024 * 1024);
  const seed = settings.seed ?? Math.floor(Math.random() * 2 ** 31);
  // Random streams per direction (and per stage), so that what one direction meets does not
  // depend on how much traffic the other carried.
  const paths = {
    toServer: new ImpairedPath(settings.toServer ?? {}, seed, 'to-server'),
    toClient: new ImpairedPath(settings.toClient ?? {}, seed, 'to-client'),
  };
  const captured: Relayed[] = [];
  const counts: Record<string, number> = {};
  const timers = new Set<NodeJS.Timeout>();
  const started = performance.now();
  const startedEpochMs = Date.now();
  let client: { address: string; port: number } | null = null;
  let closed = false;

  const deliver = (bytes: Uint8Array, to: { address: string; port: number }, delayMs: number) => {
    if (delayMs <= 0) return udp.send(bytes, to.port, to.address);
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) udp.send(bytes, to.port, to.address);
    }, delayMs);
    timers.add(timer);
  };

  udp.on('message', (msg, rinfo) => {
    const fromServer = rinfo.port === target.port && rinfo.address === target.host;
    if (!fromServer) client = { address: rinfo.address, port: rinfo.port };
    const to = fromServer ? client : { address: target.host, port: target.port };
    const now = performance.now() - started;
    const fate = (fromServer ? paths.toClient : paths.toServer).fate(new Uint8Array(msg), now);
    let label: Relayed['fate'];
    if (fate.action === 'drop') label = `dropped: ${fate.why}`;
    else {
      label = fate.corrupted ? 'corrupted' : fate.duplicate ? 'duplicated' : fate.delayMs > 0 ? 'delayed' : 'sent';
      if (to !== null) {
        deliver(fate.bytes, to, fate.delayMs);
        if (fate.duplicate) deliver(fate.bytes, to, fate.delayMs);
      }
    }
    counts[label] = (counts[label] ?? 0) + 1;
    if (captured.length < MAX_CAPTURED)
      captured.push({ fromClient: !fromServer, data: new Uint8Array(msg), t: now, fate: label });
  });
  return {
    address: v6 ? `[::1]:${udp.address().port}` : `127.0.0.1:${udp.address().port}`,
    seed,
    description:
      `client -> server: ${describeImpairment(settings.toServer ?? {})}; server -> ` +
      `client: ${describeImpairment(settings.toClient ?? {})}`,
    captured,
    now: () => performance.now() - started,
    pcap: () => {
      const ends = [
        client === null ? '127.0.0.1:0' : formatHostPort(client.address, client.port),
        formatHostPort(target.host, target.port),
      ] as const;
      return writePcap(
        captured.map((r) => ({
          t: r.t,
          bytes: r.data,
          from: r.fromClient ? ends[0] : ends[1],
          to: r.fromClient ? ends[1] : ends[0],
        })),
        startedEpochMs,
      );
    },
    stats: () => ({ ...counts }),
    close: () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise((resolve) => udp.close(() => resolve()));
    },
  };
}

/** Where `side`'s last datagram is in the relay's record, -1 if it sent none. */
export function lastIndexOf(relay: Relay, side: 'client' | 'server'): number {
  for (let i = relay.captured.length - 1; i >= 0; i--)
    if ((relay.captured[i] as Relay['captured'][number]).fromClient === (side === 'client')) return i;
  return -1;
}

/** When `side`'s last datagram reached the relay (the relay's clock), null if none did. */
export function lastDatagramOf(relay: Relay, side: 'client' | 'server'): number | null {
  const i = lastIndexOf(relay, side);
  return i < 0 ? null : (relay.captured[i] as Relay['captured'][number]).t;
}
