// A QOTP endpoint, sans-I/O: one identity key, one (virtual) socket, many connections
// keyed by connection id. Datagrams and the current time go in through receive();
// poll() gives the datagrams to send, nextDeadline() when to call poll() again, and
// takeEvents() what happened. No sockets, clocks or randomness inside: the caller
// injects `randomBytes` and passes `now` (nanoseconds on any monotonic scale).
import { bytesToHex } from '@noble/ciphers/utils.js';
import { constant, fieldOffset, messageTraits, receiverOf, type MessageName } from '@qotp/spec';
import { QotpError } from '../errors.js';
import { connIdOf } from '../crypto/messages.js';
import { messageTypeOf, receivePacket } from '../crypto/receive.js';
import { publicKeyOf, sharedSecret } from '../crypto/x25519.js';
import { readUint64 } from '../wire/uint.js';
import { Connection, type ConnectionContext } from './connection.js';
import { DueQueue } from './due-queue.js';
import { Machine } from './state-machine.js';
import type { Address, EngineEvent, Outgoing } from './events.js';

export interface EndpointOptions {
  identityPrivateKey: Uint8Array;
  /** Largest datagram sent or read (DefaultMtu, 1400). */
  mtu?: number;
  /** Source of ephemeral keys. */
  randomBytes: (length: number) => Uint8Array;
  /** Receives one line per secret, in the Go original's key log format (clause keylog.format). */
  keyLog?: (line: string) => void;
}

/** Most datagrams one poll() returns, so that a busy endpoint still lets its caller read. */
const POLL_BUDGET = 256;

export class Endpoint {
  readonly connections = new Map<bigint, Connection>();
  readonly publicKey: Uint8Array;
  readonly mtu: number;
  private readonly events: EngineEvent[] = [];
  /** The responder table's listening state: first messages refused before any connection exists. */
  private readonly listening = new Machine('responder-handshake');
  private readonly ctx: ConnectionContext;
  /** Connections something happened to since the last poll (a packet, a write, a close). */
  private readonly touched = new Set<Connection>();
  /** When each idle connection next needs a poll (a timer, pacing). */
  private readonly due = new DueQueue<Connection>();

  constructor(private readonly options: EndpointOptions) {
    this.publicKey = publicKeyOf(options.identityPrivateKey);
    this.mtu = options.mtu ?? constant('DefaultMtu');
    this.ctx = {
      identityPrivateKey: options.identityPrivateKey,
      identityPublicKey: this.publicKey,
      mtu: this.mtu,
      emit: (event) => this.events.push(event),
      touch: (conn) => this.touched.add(conn),
    };
  }

  /** Opens a connection; with `peerPublicKey` the first packet carries data (0-RTT). */
  connect(remote: Address, peerPublicKey?: Uint8Array): Connection {
    for (;;) {
      const ephemeral = this.options.randomBytes(32);
      const id = connIdOf(publicKeyOf(ephemeral));
      if (this.connections.has(id)) continue; // 2^-64: draw again
      const conn = new Connection(
        id,
        'initiator',
        peerPublicKey !== undefined,
        remote,
        ephemeral,
        peerPublicKey ?? null,
        this.ctx,
      );
      this.connections.set(id, conn);
      this.touched.add(conn);
      return conn;
    }
  }

  takeEvents(): EngineEvent[] {
    return this.events.splice(0);
  }

  /** Whether events are waiting to be taken. */
  takeEventsPending(): boolean {
    return this.events.length > 0;
  }

  /** Handles one datagram. A datagram that fails any check is dropped with a 'dropped' event. */
  receive(datagram: Uint8Array, from: Address, now: number): void {
    try {
      this.dispatch(datagram, from, now); // receivePacket reads at most the MTU of it
    } catch (e) {
      if (!(e instanceof QotpError)) throw e;
      this.followDrop(datagram, e);
      this.events.push({ type: 'dropped', remote: from, reason: e.message });
    }
  }

  /**
   * The table rows of a dropped datagram: a message of the connection's own role, a first
   * message refused before any connection exists (the responder table's listening state),
   * or a forgery under a known connection id (the connection's lifetime, and an initiator
   * still waiting for its reply).
   */
  private followDrop(packet: Uint8Array, e: QotpError): void {
    let type: MessageName;
    try {
      type = messageTypeOf(packet);
    } catch {
      return; // not even a message type: nothing any table knows
    }
    // Every type has the connection id at the same offset (a first packet's ephemeral key starts with it).
    const conn = this.connections.get(readUint64(packet, fieldOffset('Data', 'connId')));
    if (e.code === 'wrong-role') {
      conn?.lifetime.take('own-role-message');
      return;
    }
    if (messageTraits(type).firstPacket) {
      if (e.code === 'too-short') this.listening.take('short-first-packet');
      else if (e.code === 'invalid-public-key') this.listening.take('low-order-key');
      return;
    }
    if (e.code !== 'authentication-failed' && e.code !== 'invalid-public-key') return;
    if (conn === undefined || conn.closeReason !== null) return;
    conn.lifetime.take('forgery');
    if (conn.handshake.state === 'awaiting-reply') conn.handshake.take('dropped');
  }

  /**
   * The one receive path: the connection the packet names (all types carry its id at the
   * same offset), the role check, then receivePacket - the function the vectors test -
   * with that connection's keys, and the connection's handling of what it opened.
   */
  private dispatch(packet: Uint8Array, from: Address, now: number): void {
    const type = messageTypeOf(packet);
    const id = readUint64(packet, fieldOffset('Data', 'connId'));
    const found = this.connections.get(id);
    const conn = found !== undefined && found.closeReason === null ? found : undefined;
    const first = messageTraits(type).firstPacket;
    // A connection takes only the other role's messages (clause handshake.role-messages):
    // a reply reaching the responder, or a first packet naming a connection this side
    // dialled, is refused before it is opened. Data goes to this side's role on the connection.
    const role = receiverOf(type) ?? conn?.role ?? 'responder';
    if (conn !== undefined && conn.role !== role)
      throw new QotpError(
        'wrong-role',
        `a ${type} for connection 0x${id.toString(16)}, which is this ` +
          `side's ${conn.role === 'initiator' ? 'own dial' : 'accepted connection'}`,
      );
    if (!first && conn === undefined)
      throw new QotpError('unknown-connection', `no connection with id 0x${id.toString(16)}`);
    // A new connection's ephemeral key is drawn before the first packet is opened: the
    // secret receivePacket derives with it is the one the reply is sealed with.
    const ephemeralPrivateKey = conn?.ephemeralPrivateKey ?? this.options.randomBytes(32);
    const known = conn === undefined ? null : { connId: conn.id, secret: conn.secret, epoch: conn.receiveEpochNow };
    const r = receivePacket(packet, {
      role,
      mtu: this.mtu,
      identityPrivateKey: this.options.identityPrivateKey,
      ephemeralPrivateKey,
      connection: known,
    });
    if (r.type === 'InitSnd' || r.type === 'InitCryptoSnd') {
      const zeroRtt = r.type === 'InitCryptoSnd';
      const accepted = this.accept(
        conn,
        r.connId,
        from,
        zeroRtt,
        ephemeralPrivateKey,
        r,
        zeroRtt ? r.identitySecret : null,
      );
      accepted.onPacket(type, zeroRtt ? r.payload : null, 0, now);
      return;
    }
    const c = conn as Connection; // not a first packet: an unknown connection was refused above
    if (r.type === 'InitRcv') this.established(c, r.secret, r.ephemeralPublicKey, r.identityPublicKey);
    if (r.type === 'InitCryptoRcv') this.established(c, r.secret, r.ephemeralPublicKey, c.peerIdentityPublicKey);
    this.touched.add(c);
    c.onPacket(type, r.payload, r.epoch, now);
  }

  /** The initiator learns the responder's keys from the first reply (later replies repeat them). */
  private established(
    conn: Connection,
    secret: Uint8Array,
    peerEphemeral: Uint8Array,
    peerIdentity: Uint8Array | null,
  ): void {
    if (conn.secret !== null) return;
    conn.secret = secret;
    conn.peerEphemeralPublicKey = peerEphemeral;
    conn.peerIdentityPublicKey = peerIdentity;
    const identitySecret =
      conn.withCrypto && peerIdentity !== null ? sharedSecret(conn.ephemeralPrivateKey, peerIdentity) : null;
    this.logKeys(conn, identitySecret);
  }

  /**
   * The responder's connection for a first packet: the existing one for a repeat (same id,
   * same ephemeral key), else a new one under `secret`, which receivePacket derived.
   */
  private accept(
    existing: Connection | undefined,
    id: bigint,
    from: Address,
    withCrypto: boolean,
    ephemeral: Uint8Array,
    keys: { secret: Uint8Array; ephemeralPublicKey: Uint8Array; identityPublicKey: Uint8Array },
    identitySecret: Uint8Array | null,
  ): Connection {
    if (existing !== undefined) {
      this.touched.add(existing);
      return existing;
    }
    const conn = new Connection(id, 'responder', withCrypto, from, ephemeral, keys.identityPublicKey, this.ctx);
    this.touched.add(conn);
    conn.secret = keys.secret;
    conn.peerEphemeralPublicKey = keys.ephemeralPublicKey;
    this.connections.set(id, conn);
    this.events.push({ type: 'connection', connId: id, remote: from });
    this.logKeys(conn, identitySecret);
    return conn;
  }

  /**
   * Key log lines (clause keylog.format) once the connection's secret is known, on either
   * side: the identity secret is the one that sealed the 0-RTT InitCryptoSnd, null for 1-RTT.
   */
  private logKeys(conn: Connection, identitySecret: Uint8Array | null): void {
    const log = this.options.keyLog;
    if (log === undefined || conn.secret === null) return;
    log(`QOTP_SHARED_SECRET ${conn.id.toString(16)} ${bytesToHex(conn.secret)}`);
    if (identitySecret !== null) log(`QOTP_SHARED_SECRET_ID ${conn.id.toString(16)} ${bytesToHex(identitySecret)}`);
  }

  /**
   * Datagrams due now, from the connections that need attention in turn: those touched
   * since the last poll and those whose deadline came. The others are not looked at, so
   * the cost does not grow with the number of idle connections.
   */
  poll(now: number): Outgoing[] {
    const active = new Set([...this.touched, ...this.due.takeDue(now)]);
    this.touched.clear();
    for (const conn of active) conn.checkTimers(now);
    const out: Outgoing[] = [];
    let progress = true;
    while (progress && out.length < POLL_BUDGET) {
      progress = false;
      for (const conn of active) {
        const data = conn.nextDatagram(now);
        if (data !== null) {
          out.push({ to: conn.remote, data });
          progress = true;
        }
      }
    }
    for (const conn of active) {
      if (conn.closeReason !== null) {
        this.connections.delete(conn.id);
        this.due.schedule(conn, null);
      } else this.due.schedule(conn, conn.nextDeadline(now));
    }
    this.touched.clear(); // what the sends above touched is already rescheduled
    return out;
  }

  /** When poll() should run next, ns; null when only an incoming datagram can make work. */
  nextDeadline(now: number): number | null {
    if (this.touched.size > 0) return now;
    return this.due.peek();
  }
}
