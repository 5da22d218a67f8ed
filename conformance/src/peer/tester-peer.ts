// The scripted tester peer: one UDP socket towards the endpoint under test. It sends
// exactly the bytes a case gives it and records every datagram both ways with a
// timestamp, decrypted where one of its connections holds the keys.
import { formatHostPort, type HostPort } from '@qotp/reference/node';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { messageTypeOf } from '@qotp/reference';
import type { Datagram } from '../capture/datagram.js';
import { diagnose, type Diagnosis } from '../capture/diagnose.js';
import { keyLogText } from '../capture/key-log.js';
import type { PeerConnection } from './peer-connection.js';

/** "host:port" of an address, "[host]:port" for IPv6. */
const format = (a: HostPort): string => formatHostPort(a.host, a.port);

/** Most datagrams one case records (about 70 MB at the MTU). */
const MAX_RECORDED = 50_000;

type Waiter = { match: (d: Datagram) => boolean; resolve: (d: Datagram | null) => void; timer: NodeJS.Timeout };

/** The error of an incoming datagram that belongs to none of the tester's connections. */
export const NO_OWNER = 'no connection of the tester matches it';

export class TesterPeer {
  /** Every datagram of the case, shared by all peers of the case, in time order. */
  readonly connections: PeerConnection[] = [];
  /** Incoming datagrams go to this callback after they are recorded (auto-ACK, scripted echo). */
  onDatagram: ((d: Datagram) => void) | null = null;
  private readonly waiters = new Set<Waiter>();
  /** Pending collect() waits: a closed peer (case over) ends them at once. */
  private readonly sleepers = new Set<() => void>();
  private closed = false;
  /** Datagrams that arrived after the case's timeline was full (an amplifying endpoint). */
  unrecorded = 0;

  private constructor(
    private readonly socket: Socket,
    readonly address: HostPort,
    /** Where datagrams go unless a send names another address. */
    public target: HostPort | null,
    private readonly timeline: Datagram[],
    private readonly epoch: number,
    private readonly mtu: number,
  ) {
    socket.on('message', (bytes, info) => this.received(new Uint8Array(bytes), info));
  }

  /** Binds an ephemeral port on the loopback address of the target's family. */
  static async open(options: {
    target: HostPort | null;
    timeline: Datagram[];
    epoch: number;
    mtu: number;
    ipv6?: boolean;
  }): Promise<TesterPeer> {
    const ipv6 = options.ipv6 ?? options.target?.host.includes(':') ?? false;
    const socket = createSocket({ type: ipv6 ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, ipv6 ? '::1' : '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const a = socket.address();
    return new TesterPeer(
      socket,
      { host: a.address, port: a.port },
      options.target,
      options.timeline,
      options.epoch,
      options.mtu,
    );
  }

  /** Adds a connection whose packets this peer should decode. */
  add(conn: PeerConnection): PeerConnection {
    this.connections.push(conn);
    return conn;
  }

  now(): number {
    return performance.now() - this.epoch;
  }

  /** Sends raw bytes and records them; `note` says what they are meant to be. */
  send(bytes: Uint8Array, note: string | null = null, to: HostPort | null = this.target): Datagram {
    if (to === null) throw new Error('the tester peer has no target address yet');
    const d: Datagram = {
      index: this.timeline.length,
      t: this.now(),
      direction: 'out',
      from: format(this.address),
      to: format(to),
      bytes,
      note,
      decoded: null,
      error: null,
    };
    const owner = this.connections.find((c) => c.owns(bytes));
    if (owner !== undefined) d.decoded = owner.describeOwn(bytes);
    this.timeline.push(d);
    if (!this.closed) this.socket.send(bytes, to.port, to.host);
    return d;
  }

  private received(bytes: Uint8Array, info: RemoteInfo): void {
    // An endpoint that floods the tester must not exhaust its memory: past the cap the case
    // has seen enough, and further datagrams are only counted.
    if (this.timeline.length >= MAX_RECORDED) {
      this.unrecorded++;
      return;
    }
    const d: Datagram = {
      index: this.timeline.length,
      t: this.now(),
      direction: 'in',
      from: formatHostPort(info.address, info.port),
      to: format(this.address),
      bytes,
      note: null,
      decoded: null,
      error: null,
    };
    const owner = this.connections.find((c) => c.owns(bytes));
    if (owner === undefined) d.error = NO_OWNER;
    else {
      try {
        d.decoded = owner.receive(bytes, this.mtu);
      } catch (e) {
        d.error = (e as Error).message;
        const why = diagnoseOwned(bytes, owner);
        if (why !== null) d.diagnosis = why;
      }
    }
    this.timeline.push(d);
    // The listener first: a waiter's match may read state that the listener keeps (what was
    // acknowledged, which datagram was withheld), and must see this datagram's part of it.
    this.onDatagram?.(d);
    for (const w of this.waiters) {
      if (w.match(d)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(d);
      }
    }
  }

  /** Datagrams from the endpoint to this peer, from timeline position `since` on. */
  incoming(since = 0): Datagram[] {
    const me = format(this.address);
    return this.timeline.slice(since).filter((d) => d.direction === 'in' && d.to === me);
  }

  /** The first incoming datagram from `since` on that matches, waiting up to `timeoutMs`; null when none came. */
  waitFor(match: (d: Datagram) => boolean, timeoutMs: number, since = this.timeline.length): Promise<Datagram | null> {
    const seen = this.incoming(since).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    const me = format(this.address);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        match: (d) => d.to === me && match(d),
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(null);
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits `ms` and returns the incoming datagrams that arrived meanwhile and match. */
  async collect(ms: number, match: (d: Datagram) => boolean = () => true): Promise<Datagram[]> {
    const since = this.timeline.length;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
    return this.incoming(since).filter(match);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(null);
    }
    this.waiters.clear();
    for (const wake of this.sleepers) wake();
    this.socket.close();
  }
}

function diagnoseOwned(bytes: Uint8Array, owner: PeerConnection): Diagnosis | null {
  try {
    return diagnose(messageTypeOf(bytes), bytes, owner);
  } catch {
    return null; // not even a type to go by
  }
}

/** The key log of a case's tester peers: every secret their connections held, one line each. */
export const keyLogOf = (peers: TesterPeer[]): string =>
  keyLogText(peers.flatMap((p) => p.connections.flatMap((c) => c.keyLog())));
