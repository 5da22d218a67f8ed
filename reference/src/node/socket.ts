// The Node adapter: one UDP socket (node:dgram) driving one engine Endpoint. It feeds
// datagrams and the clock in, sends what the engine gives out, keeps one timer for the
// engine's next deadline, and turns engine events into Node streams and events.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { Endpoint, type EndpointOptions } from '../engine/endpoint.js';
import type { Connection } from '../engine/connection.js';
import type { EngineEvent } from '../engine/events.js';
import { formatHostPort, parseHostPort } from './address.js';
import { identityPrivateKey, type IdentityOption } from './identity.js';

export interface ListenOptions {
  /** "host:port" to bind; "127.0.0.1:0" by default. */
  listen?: string;
  identity?: IdentityOption;
  mtu?: number;
  /** Receives key log lines (QOTP_SHARED_SECRET ...), e.g. to append to a file for Wireshark. */
  keyLog?: (line: string) => void;
  /** Source of ephemeral keys (node:crypto's by default); a test harness may record what it draws. */
  randomBytes?: (length: number) => Uint8Array;
}

/** Requested UDP socket buffer size; the kernel caps it at net.core.rmem_max / wmem_max. */
const SOCKET_BUFFER = 4 * 1024 * 1024;

/** Most bytes a stream queues in the engine before write() waits. */
const WRITE_HIGH_WATER = 4 * 1024 * 1024;

// The engine's clock: integer nanoseconds on a monotonic scale (performance.now() has
// sub-microsecond resolution and, unlike hrtime.bigint(), allocates nothing per call).
const nowNanos = (): number => Math.round(performance.now() * 1e6);

export class QotpStream extends Duplex {
  /**
   * Whether the reader asked for more than was pushed (receive backpressure): while it has not,
   * data stays in the engine, where it counts against the window the peer is told, so a slow
   * reader slows the sender instead of filling this process's memory.
   */
  private wanted = false;

  constructor(
    private readonly socket: QotpSocket,
    readonly connection: QotpConnection,
    readonly id: number,
  ) {
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.connection.engine.write(this.id, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      callback(e as Error);
      return;
    }
    this.socket.pump();
    this.whenDrained(callback);
  }

  /** Calls back once the engine's queue for this stream is below the high-water mark. */
  private whenDrained(callback: () => void): void {
    if (this.connection.engine.queuedBytes(this.id) < WRITE_HIGH_WATER || this.destroyed) callback();
    else this.socket.once('pumped', () => this.whenDrained(callback));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.connection.engine.closeStream(this.id);
    this.socket.pump();
    callback();
  }

  override _read(): void {
    this.wanted = true;
    this.pull();
  }

  /** Moves what the engine holds in order into the stream while the reader wants more. */
  pull(): void {
    let moved = false;
    while (this.wanted && !this.destroyed) {
      const data = this.connection.engine.read(this.id, nowNanos());
      if (data.length === 0) break;
      moved = true;
      this.wanted = this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }
    // Reading frees receive buffer (a larger window next time) and may finish the stream.
    if (moved) this.socket.pump();
  }

  /** Sends a PING on this stream. */
  ping(): void {
    this.connection.engine.ping(this.id);
    this.socket.pump();
  }
}

export class QotpConnection extends EventEmitter {
  private readonly streams = new Map<number, QotpStream>();

  constructor(
    private readonly socket: QotpSocket,
    readonly engine: Connection,
  ) {
    super();
  }

  get id(): bigint {
    return this.engine.id;
  }

  /** The stream with this id, opened on first use. */
  stream(id: number): QotpStream {
    return this.open(id, false);
  }

  /** A stream the peer opened is announced with a 'stream' event. */
  private open(id: number, byPeer: boolean): QotpStream {
    let s = this.streams.get(id);
    if (s === undefined) {
      s = new QotpStream(this.socket, this, id);
      this.streams.set(id, s);
      this.engine.stream(id);
      if (byPeer) this.emit('stream', s);
      else this.socket.pump();
    }
    return s;
  }

  /** Handles an engine event for this connection. */
  handle(event: EngineEvent): void {
    switch (event.type) {
      case 'stream-readable':
        this.open(event.streamId, true).pull();
        return;
      case 'stream-finished':
        this.open(event.streamId, true).push(null);
        return;
      case 'stream-close-acknowledged':
        this.open(event.streamId, true).emit('closeAcknowledged');
        return;
      case 'stream-closed':
        this.open(event.streamId, true).emit('closed');
        return;
      case 'handshake-complete':
        this.emit('handshake');
        return;
      case 'connection-closed': {
        const error = event.reason === 'closed' ? null : new Error(`QOTP connection closed: ${event.reason}`);
        for (const s of this.streams.values()) if (!s.destroyed) s.destroy(error ?? undefined);
        this.emit('close', event.reason);
        return;
      }
      case 'connection':
      case 'dropped':
        // The socket handles these before a connection exists (or for none): see QotpSocket.
        return;
    }
  }
}

export class QotpSocket extends EventEmitter {
  readonly engine: Endpoint;
  private readonly connections = new Map<bigint, QotpConnection>();
  private readonly destinations = new Map<string, { host: string; port: number }>();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** When the armed timer or immediate fires (engine ns), null when none is armed. */
  private wakeAt: number | null = null;
  private closed = false;
  private pumping = false;
  private pumpAgain = false;

  private constructor(
    private readonly udp: Socket,
    options: EndpointOptions,
  ) {
    super();
    this.engine = new Endpoint(options);
    // A failed send (e.g. no route) must not end the process: QOTP recovers by retransmission.
    udp.on('error', (error) => this.emit('socketError', error));
    udp.on('message', (data, rinfo) => {
      this.engine.receive(
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        formatHostPort(rinfo.address, rinfo.port),
        nowNanos(),
      );
      this.pump();
    });
  }

  static async listen(options: ListenOptions = {}): Promise<QotpSocket> {
    const { host, port } = parseHostPort(options.listen ?? '127.0.0.1:0');
    const udp = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    // A bulk transfer delivers bursts faster than one event-loop turn drains them; the
    // default 208 KiB receive buffer overflows and drops datagrams (RcvbufErrors).
    udp.setRecvBufferSize(SOCKET_BUFFER);
    udp.setSendBufferSize(SOCKET_BUFFER);
    const endpointOptions: EndpointOptions = {
      identityPrivateKey: identityPrivateKey(options.identity ?? { random: true }),
      randomBytes: options.randomBytes ?? ((n) => new Uint8Array(randomBytes(n))),
      ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
      ...(options.keyLog !== undefined ? { keyLog: options.keyLog } : {}),
    };
    return new QotpSocket(udp, endpointOptions);
  }

  /** The bound address as "host:port". */
  get address(): string {
    const a = this.udp.address();
    return formatHostPort(a.address, a.port);
  }

  get publicKeyHex(): string {
    return Buffer.from(this.engine.publicKey).toString('hex');
  }

  /** Opens a connection; with the peer's public key (hex or bytes) it starts 0-RTT. */
  dial(to: string, peerPublicKey?: Uint8Array): QotpConnection {
    parseHostPort(to); // fail early on a malformed address
    const conn = new QotpConnection(this, this.engine.connect(to, peerPublicKey));
    this.connections.set(conn.id, conn);
    return conn;
  }

  /**
   * Runs the engine: hands its events to the application first (so that a reply written
   * in an event handler goes out in the same packet, as the Go original's Loop does),
   * then sends what is due and re-arms the timer. Writes from handlers re-enter here;
   * they are folded into the running pass.
   */
  pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      let now = nowNanos();
      do {
        this.pumpAgain = false;
        now = nowNanos();
        for (const event of this.engine.takeEvents()) this.dispatch(event);
        for (const d of this.engine.poll(now)) {
          const { host, port } = this.destination(d.to);
          // No callback: a failed send is emitted as 'error' on the socket (handled above).
          this.udp.send(d.data, port, host);
        }
        if (this.engine.takeEventsPending()) this.pumpAgain = true;
      } while (this.pumpAgain && !this.closed);
      this.emit('pumped');
      this.arm(now);
    } finally {
      this.pumping = false;
    }
  }

  /** The engine names peers as "host:port"; parsed once per peer, not once per datagram. */
  private destination(address: string): { host: string; port: number } {
    let d = this.destinations.get(address);
    if (d === undefined) {
      d = parseHostPort(address);
      this.destinations.set(address, d);
    }
    return d;
  }

  private dispatch(event: EngineEvent): void {
    if (event.type === 'dropped') {
      this.emit('dropped', event.remote, event.reason);
      return;
    }
    if (event.type === 'connection') {
      const engineConn = this.engine.connections.get(event.connId);
      if (engineConn === undefined) return;
      const conn = new QotpConnection(this, engineConn);
      this.connections.set(conn.id, conn);
      this.emit('connection', conn);
      return;
    }
    const conn = this.connections.get(event.connId);
    conn?.handle(event);
    if (event.type === 'connection-closed') {
      this.connections.delete(event.connId);
      if (conn !== undefined) this.destinations.delete(conn.engine.remote);
    }
  }

  private arm(now: number): void {
    const deadline = this.engine.nextDeadline(now);
    // A wake-up already set for no later than needed stays: waking early costs one empty
    // pass, while re-arming on every datagram (whose arrival moves the idle deadline) would
    // cost a timer per packet.
    if (this.wakeAt !== null && (deadline === null || this.wakeAt <= deadline)) return;
    this.disarm();
    if (deadline === null) return;
    this.wakeAt = deadline;
    const wait = deadline - now;
    // setTimeout has millisecond resolution (and waits at least 1 ms), but pacing asks for
    // gaps of a fraction of a millisecond on a fast path: a deadline within the next
    // millisecond is met by checking again after the pending I/O (setImmediate), so that
    // the engine sends at the rate it computed rather than one packet per timer tick.
    if (wait < 1e6) this.immediate = setImmediate(() => this.wake());
    else this.timer = setTimeout(() => this.wake(), Math.floor(wait / 1e6));
  }

  private wake(): void {
    this.wakeAt = null;
    this.pump();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.wakeAt = null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    for (const conn of this.engine.connections.values()) conn.close('closed');
    for (const event of this.engine.takeEvents()) this.dispatch(event);
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
  }
}
