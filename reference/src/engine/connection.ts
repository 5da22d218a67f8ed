// One QOTP connection, sans-I/O: payloads and the time go in, datagrams and events
// come out. The handshake state decides the message type of every packet (as the Go
// original does): the initiator sends InitSnd or InitCryptoSnd until a reply arrives,
// the responder replies with InitRcv or InitCryptoRcv until the first Data arrives.
import { constant, type MessageName } from '@qotp/spec';
import { QotpError } from '../errors.js';
import {
  encodeData,
  encodeInitCryptoRcv,
  encodeInitCryptoSnd,
  encodeInitRcv,
  encodeInitSnd,
} from '../crypto/messages.js';
import { publicKeyOf } from '../crypto/x25519.js';
import { initialBbr, onAck, onDuplicateAck, onRetransmit, pacingInterval, type BbrState } from '../recovery/bbr.js';
import { backoffNanos, giveUpNanos, initialRtt, rtoNanos, updateRtt, type RttState } from '../recovery/rtt.js';
import { maxUserData } from '../wire/max-data.js';
import { decodePayload, encodePayload, type Ack, type Payload } from '../wire/payload.js';
import type { Address, CloseReason, EngineEvent } from './events.js';
import { advertisedWindow, fitsReceiveBuffer } from './receive-window.js';
import { Machine } from './state-machine.js';
import { Stream } from './stream.js';
import type { Segment } from './stream-sender.js';

export type Role = 'initiator' | 'responder';

/** What a connection needs from its endpoint. */
export interface ConnectionContext {
  identityPrivateKey: Uint8Array;
  identityPublicKey: Uint8Array;
  mtu: number;
  emit(event: EngineEvent): void;
  /** This connection has something new to do (the application wrote or closed): poll it. */
  touch(conn: Connection): void;
}

interface PendingAck {
  streamId: number;
  offset: number;
  length: number;
}

const RECEIVE_CAPACITY = constant('ReceiveBufferCapacity');
const IDLE_TIMEOUT = constant('IdleTimeout');
const CLOSE_GRACE = constant('CloseGrace');
const SN_MAX = constant('SnMax');
const MAX_STREAMS = constant('ReferenceMaxStreams');
const MAX_HELD_PIECES = constant('ReferenceMaxHeldPieces');
const EPOCH_MAX = constant('EpochMax');
const BANDWIDTH_SAMPLE_OVERHEAD = constant('BandwidthSampleOverhead');

export class Connection {
  readonly streams = new Map<number, Stream>();
  private readonly acks: PendingAck[] = [];
  private sn = 0;
  private sendEpoch = 0;
  private receiveEpoch = 0;
  /** The handshake table this side follows (spec stateMachines: initiator- or responder-handshake). */
  readonly handshake: Machine;
  /** The connection's lifetime table (spec stateMachines: connection-lifetime). */
  readonly lifetime = new Machine('connection-lifetime');
  secret: Uint8Array | null = null;
  peerEphemeralPublicKey: Uint8Array | null = null;
  private rtt: RttState = initialRtt;
  private bbr: BbrState = initialBbr;
  private nextWriteAt = 0;
  private bytesInFlight = 0;
  private peerWindow = RECEIVE_CAPACITY;
  /** While the peer's window is closed: when it closed or was last probed, ns. */
  private lastProbeAt: number | null = null;
  private lastReceivedAt = 0;
  /** Received bytes held for the application, over all streams (kept as a sum: asked per packet). */
  private buffered = 0;
  /** Separate pieces of those bytes, over all streams (clause stream.held-pieces). */
  private heldPieces = 0;
  closeReason: CloseReason | null = null;
  private nextStream = 0; // round-robin position: index of the stream after the last sender

  constructor(
    readonly id: bigint,
    readonly role: Role,
    /** 0-RTT: the initiator knew the responder's identity key. */
    readonly withCrypto: boolean,
    readonly remote: Address,
    /** The ephemeral private key this side uses in the handshake. */
    readonly ephemeralPrivateKey: Uint8Array,
    public peerIdentityPublicKey: Uint8Array | null,
    private readonly ctx: ConnectionContext,
  ) {
    this.ephemeralPublicKey = publicKeyOf(ephemeralPrivateKey);
    this.handshake = new Machine(role === 'initiator' ? 'initiator-handshake' : 'responder-handshake');
  }

  /** Initiator: a reply arrived. Responder: the initiator's first Data packet arrived. */
  get handshakeDone(): boolean {
    return this.handshake.state === 'established';
  }

  /** This side's ephemeral public key, derived once. */
  readonly ephemeralPublicKey: Uint8Array;

  stream(id: number): Stream {
    let s = this.streams.get(id);
    if (s === undefined) {
      s = new Stream(id, () => this.ctx.touch(this));
      this.streams.set(id, s);
    }
    return s;
  }

  /** Current retransmission timeout, ns. */
  get rto(): number {
    return rtoNanos(this.rtt);
  }

  messageType(): MessageName {
    if (this.handshakeDone) return 'Data';
    if (this.role === 'initiator') return this.withCrypto ? 'InitCryptoSnd' : 'InitSnd';
    return this.withCrypto ? 'InitCryptoRcv' : 'InitRcv';
  }

  // ------------------------------------------------------------------ receiving

  /** A decrypted packet arrived; `payload` is null for an InitSnd, which carries none. */
  onPacket(type: MessageName, payload: Uint8Array | null, epoch: number, now: number): void {
    this.lastReceivedAt = now;
    this.lifetime.take('authentic-packet');
    if (epoch > this.receiveEpoch) this.receiveEpoch = epoch;
    const wasDone = this.handshakeDone;
    this.followHandshake(type);
    const completes = !wasDone && this.handshakeDone;
    if (completes) this.ctx.emit({ type: 'handshake-complete', connId: this.id });
    // InitSnd has no payload; its receipt is acknowledged like an empty segment at stream 0, offset 0.
    const p: Payload =
      payload === null
        ? { isClose: false, ack: null, stream: { streamId: 0, offset: 0, data: new Uint8Array(0) } }
        : decodePayload(payload);
    if (p.ack !== null) this.onAck(p.ack, now);
    if (p.stream !== null) this.onSegment(p.stream, p.isClose, now);
    if (completes && this.role === 'initiator') this.confirmHandshake();
  }

  /**
   * The handshake table's row for a packet that authenticated, where the table has one: a
   * message type it has no row for in the current state (a late or stray copy) changes
   * nothing there.
   */
  private followHandshake(type: MessageName): void {
    const rows: Partial<Record<MessageName, Record<string, string>>> =
      this.role === 'initiator'
        ? {
            InitRcv: { 'awaiting-reply': 'reply', established: 'further-reply' },
            InitCryptoRcv: { 'awaiting-reply': 'reply', established: 'further-reply' },
          }
        : {
            InitSnd: { listening: 'init-snd', replying: 'init-snd-again', established: 'late-first-packet' },
            InitCryptoSnd: {
              listening: 'init-crypto-snd',
              replying: 'init-crypto-snd-again',
              established: 'late-first-packet',
            },
            Data: { replying: 'first-data' },
          };
    const row = rows[type]?.[this.handshake.state];
    if (row !== undefined) this.handshake.take(row);
  }

  /**
   * A responder that follows the Go original sends nothing new until the initiator's first
   * Data packet arrives (clause handshake.initiator-confirms). An initiator with nothing
   * queued would never send one if the ACK it owes for the reply is lost, and both sides
   * would wait: so it sends a PING that is retransmitted like data until acknowledged.
   */
  private confirmHandshake(): void {
    for (const s of this.streams.values()) if (s.sender.hasNewData) return;
    const first: number = this.streams.keys().next().value ?? 0;
    this.stream(first).sender.ping({ reliable: true });
    this.handshake.take('confirm');
  }

  /**
   * A received stream segment. One that does not fit - the receive buffer's bytes, the
   * streams a connection keeps (clause stream.limit) or the pieces it holds (clause
   * stream.held-pieces) - is dropped without an ACK: the peer resends it later.
   */
  private onSegment(segment: NonNullable<Payload['stream']>, isClose: boolean, now: number): void {
    if (!this.streams.has(segment.streamId) && this.streams.size >= MAX_STREAMS)
      return this.lifetime.take('segment-refused');
    const s = this.stream(segment.streamId);
    const { offset, data } = segment;
    if (!fitsReceiveBuffer(this.buffered, data.length)) return this.lifetime.take('segment-refused');
    const piecesBefore = s.receiver.pieceCount;
    const bytesBefore = s.receiver.bufferedBytes;
    // A segment at the read position is always taken: it is what lets the application read
    // and so frees pieces; a limit on it could stall the stream for good.
    const room = offset <= s.receiver.readOffset ? Infinity : MAX_HELD_PIECES - this.heldPieces;
    const added = s.receiver.receive(offset, data, isClose, room);
    if (added === null) return this.lifetime.take('segment-refused');
    this.acks.push({ streamId: s.id, offset, length: data.length }); // duplicates too: the earlier ACK may be lost
    // A CLOSE drops what is held past its end, so the counts are taken after it.
    this.heldPieces += s.receiver.pieceCount - piecesBefore;
    this.buffered += s.receiver.bufferedBytes - bytesBefore;
    if (added > 0) this.ctx.emit({ type: 'stream-readable', connId: this.id, streamId: s.id });
    if (isClose) {
      s.sender.close('peer'); // answer with our own CLOSE after what we queued
      this.checkStream(s, now);
    }
  }

  private onAck(ack: Ack, now: number): void {
    this.peerWindow = ack.window;
    if (!this.windowFull()) this.lastProbeAt = null;
    const s = this.streams.get(ack.streamId);
    const segment = s?.sender.acknowledge(ack.offset, ack.length);
    if (s === undefined || segment === undefined) {
      this.bbr = onDuplicateAck(this.bbr);
      return;
    }
    this.bytesInFlight -= segment.data.length;
    // Our CLOSE arrived. Earlier segments may still be unacknowledged: ACKs are per segment.
    if (segment.isClose) this.ctx.emit({ type: 'stream-close-acknowledged', connId: this.id, streamId: s.id });
    // Every acknowledged segment gives an RTT sample, empty ones (PING, empty CLOSE) too; only
    // a segment with data gives a bandwidth sample, counted with the per-packet overhead
    // (clause flow.pacing). An empty one would claim 42 bytes per RTT: as the first sample,
    // say the late ACK of a window probe, that makes the next pacing wait seconds (G21).
    // The sample runs from the segment's last transmission, a retransmitted one's too (no
    // Karn's rule: clause retransmission.rtt-sample).
    if (now > segment.sentAt) {
      const sample = now - segment.sentAt;
      const before = this.rtt;
      this.rtt = updateRtt(this.rtt, sample);
      if (this.rtt !== before && ack.length > 0)
        this.bbr = onAck(this.bbr, sample, this.rtt.srtt, ack.length + BANDWIDTH_SAMPLE_OVERHEAD, now);
    }
    this.checkStream(s, now);
  }

  // The application's side of a stream, which the Node adapter uses: it never reaches into a
  // Stream's sender or receiver itself.

  /** Queues bytes to send on a stream (opened on first use). */
  write(streamId: number, data: Uint8Array): void {
    this.stream(streamId).sender.write(data);
  }

  /** Closes this side's direction of a stream: a CLOSE after the bytes written so far. */
  closeStream(streamId: number): void {
    this.stream(streamId).sender.close();
  }

  /** Sends a PING on a stream. */
  ping(streamId: number): void {
    this.stream(streamId).sender.ping();
  }

  /** Bytes written to a stream and not yet sent. */
  queuedBytes(streamId: number): number {
    return this.streams.get(streamId)?.sender.queuedBytes ?? 0;
  }

  /** Reads what a stream has in order and reports its end. */
  read(streamId: number, now: number): Uint8Array {
    const s = this.streams.get(streamId);
    if (s === undefined) return new Uint8Array(0);
    const piecesBefore = s.receiver.pieceCount;
    const data = s.receiver.read();
    this.buffered -= data.length;
    this.heldPieces -= piecesBefore - s.receiver.pieceCount;
    this.checkStream(s, now);
    return data;
  }

  private checkStream(s: Stream, now: number): void {
    if (s.receiver.finished && !s.finishedReported) {
      s.finishedReported = true;
      this.ctx.emit({ type: 'stream-finished', connId: this.id, streamId: s.id });
    }
    if (s.bothDone && s.closedAt === null) {
      s.closedAt = now;
      this.ctx.emit({ type: 'stream-closed', connId: this.id, streamId: s.id });
    }
  }

  // ------------------------------------------------------------------ sending

  /** The next datagram to send now, or null (nothing to send, or pacing says wait). */
  nextDatagram(now: number): Uint8Array | null {
    if (this.closeReason !== null) return null;
    const type = this.messageType();
    const ack = this.acks[0] ?? null;
    // Pacing holds data back, not ACKs: a held ACK would stall the peer's sending and
    // make it retransmit (the README: ACK-only packets "can send early if needed").
    if (now < this.nextWriteAt) return ack ? this.sendAckOnly(type, now, false) : null;

    // Retransmissions come before the window check: a resend adds nothing in flight, and
    // holding it back while lost segments fill the window would stall for good.
    const retransmit = this.dueRetransmission(now);
    if (retransmit !== null) return retransmit;
    if (this.closeReason !== null) return null;

    if (this.windowFull()) return ack ? this.sendAckOnly(type, now) : this.windowProbe(now);

    if (this.maySendNewData()) {
      for (const s of this.roundRobin()) {
        if (!s.sender.hasNewData) continue;
        const segment = s.sender.take(this.maxData(type, ack, s.sender.sentOffset), now);
        if (segment === null) continue;
        if (this.handshake.state === 'replying') this.handshake.take('more-data');
        this.bytesInFlight += segment.data.length;
        this.sent(s);
        return this.sendSegment(s, segment, type, now, false);
      }
      if (this.handshake.state === 'idle' && this.streams.size > 0) return this.startHandshake(type, now);
    }
    return ack ? this.sendAckOnly(type, now) : null;
  }

  /**
   * The initiator sends one first message and then waits for the reply. The responder holds
   * the shared secret from the start and sends new data in further replies too (clause
   * handshake.responder-progress): waiting for the initiator's first Data packet instead
   * hangs both sides when that packet is an ACK that gets lost.
   */
  private maySendNewData(): boolean {
    return this.handshakeDone || this.handshake.state === 'idle' || this.role === 'responder';
  }

  /** Another full packet would exceed what the peer said it can take. */
  private windowFull(): boolean {
    return this.bytesInFlight + this.ctx.mtu > this.peerWindow;
  }

  /**
   * With data waiting, nothing in flight and the peer's window too small, only an ACK can
   * tell that the window opened again, and a receiver sends none unprompted: a PING every
   * RTO asks for one (clause flow.window-probe), as TCP's persist timer does.
   */
  private windowProbe(now: number): Uint8Array | null {
    const at = this.windowProbeAt(now);
    if (at === null || now < at) return null;
    const s = this.roundRobin().find((stream) => stream.sender.hasNewData) as Stream;
    this.lifetime.take('window-probe');
    s.sender.ping();
    const ping = s.sender.take(0, now) as Segment;
    this.lastProbeAt = now;
    return this.sendSegment(s, ping, this.messageType(), now, false);
  }

  /** When the next window probe is due, or null when none is needed. */
  private windowProbeAt(now: number): number | null {
    if (this.bytesInFlight > 0 || !this.windowFull() || !this.maySendNewData()) return null;
    let waiting = false;
    for (const s of this.streams.values()) waiting ||= s.sender.hasNewData;
    if (!waiting) return null;
    this.lastProbeAt ??= now; // the window just closed: the first probe goes one RTO later
    return this.lastProbeAt + this.rto;
  }

  /** All streams, starting after the one that sent last, so that no stream starves the others. */
  private roundRobin(): Stream[] {
    const all = [...this.streams.values()];
    const start = all.length === 0 ? 0 : this.nextStream % all.length;
    return [...all.slice(start), ...all.slice(0, start)];
  }

  /** Remembers which stream sent, for roundRobin(). */
  private sent(s: Stream): void {
    this.nextStream = [...this.streams.keys()].indexOf(s.id) + 1;
  }

  private maxData(type: MessageName, ack: PendingAck | null, offset: number): number {
    return maxUserData(this.ctx.mtu, type, offset, ack?.offset ?? null);
  }

  /** The oldest segment of some stream whose RTO ran out, sent again; closes the connection past the limit. */
  private dueRetransmission(now: number): Uint8Array | null {
    const type = this.messageType();
    for (const s of this.roundRobin()) {
      const segment = s.sender.oldest();
      if (segment === undefined) continue;
      const wait = backoffNanos(this.rto, segment.transmissions);
      if (now - segment.sentAt <= (wait ?? giveUpNanos(this.rto))) continue;
      if (wait === null) {
        if (this.handshake.state === 'awaiting-reply') this.handshake.take('first-packet-give-up');
        this.lifetime.take('give-up');
        this.close('retransmission-limit'); // the last transmission, too, went unacknowledged
        return null;
      }
      if (segment.isPing) {
        s.sender.forget(segment); // PINGs are not retransmitted
        continue;
      }
      segment.sentAt = now;
      segment.transmissions++;
      s.sender.resent(segment);
      this.lifetime.take('segment-resent');
      if (this.handshake.state === 'awaiting-reply') this.handshake.take('first-packet-resent');
      this.bbr = onRetransmit(this.bbr);
      this.sent(s);
      return this.sendSegment(s, segment, type, now, true);
    }
    return null;
  }

  private sendSegment(
    s: Stream,
    segment: Segment,
    type: MessageName,
    now: number,
    isRetransmission: boolean,
  ): Uint8Array {
    if (type === 'InitSnd') return this.sendInitSnd(now);
    // Attach a pending ACK when it fits (a resent segment may have been cut without one):
    // one of this segment's own stream first, else the oldest. The Go original credits an
    // ACK to the stream of the packet's stream section (finding G4), so an ACK of a CLOSE
    // that rides on another stream's segment never confirms that close there.
    const own = this.acks.findIndex((a) => a.streamId === s.id);
    const index = own >= 0 ? own : 0;
    const pending = this.acks[index] ?? null;
    const ack = pending !== null && segment.data.length <= this.maxData(type, pending, segment.offset) ? pending : null;
    if (ack !== null) this.acks.splice(index, 1);
    const datagram = this.seal(type, {
      isClose: segment.isClose,
      ack: ack && { ...ack, window: this.window() },
      stream: { streamId: s.id, offset: segment.offset, data: segment.data },
    });
    // The original paces a resend by its data length and a first send by the datagram length.
    this.pace(now, isRetransmission ? segment.data.length : datagram.length);
    return datagram;
  }

  private sendAckOnly(type: MessageName, now: number, paced = true): Uint8Array {
    const ack = this.acks.shift() as PendingAck;
    // A responder still in the handshake may send nothing new until the initiator's first
    // Data packet, and an initiator that has nothing to send never sends one: a PING
    // (acknowledged, never resent) asks for it, so a reply written later is not stuck.
    const ping =
      type === 'InitRcv' || type === 'InitCryptoRcv'
        ? { streamId: ack.streamId, offset: this.stream(ack.streamId).sender.sentOffset, data: new Uint8Array(0) }
        : null;
    const datagram = this.seal(type, { isClose: false, ack: { ...ack, window: this.window() }, stream: ping });
    if (paced) this.pace(now, datagram.length);
    return datagram;
  }

  /**
   * The first packet of an initiator with nothing queued yet (the application dials, then
   * writes): a reliable PING on stream 0, sent as the InitSnd or InitCryptoSnd and tracked
   * like any segment, so that a lost first packet is resent on the RTO schedule until the
   * reply acknowledges it. Sent untracked, its loss left both sides waiting for good: the
   * data written next may not go out before the reply (clause retransmission.recovers).
   */
  private startHandshake(type: MessageName, now: number): Uint8Array {
    const s = this.stream(0);
    s.sender.ping({ reliable: true });
    const segment = s.sender.take(this.maxData(type, null, s.sender.sentOffset), now) as Segment;
    this.sent(s);
    return this.sendSegment(s, segment, type, now, false);
  }

  /** An InitSnd, which carries no payload: sealed from the keys alone, whatever segment it stands for. */
  private sendInitSnd(now: number): Uint8Array {
    const datagram = this.seal('InitSnd', {
      isClose: false,
      ack: null,
      stream: { streamId: 0, offset: 0, data: new Uint8Array(0) },
    });
    this.pace(now, datagram.length);
    return datagram;
  }

  private window(): number {
    return advertisedWindow(this.buffered);
  }

  private pace(now: number, bytes: number): void {
    this.nextWriteAt = now + pacingInterval(this.bbr, this.rtt.srtt, bytes);
  }

  private seal(type: MessageName, payload: Payload): Uint8Array {
    const sn = this.sn;
    const datagram = this.encode(type, encodePayload(payload), sn);
    if (this.handshake.state === 'idle') this.handshake.take(this.withCrypto ? 'dial-0rtt' : 'dial');
    // Every encoded packet takes a sequence number, InitSnd included (erratum E11).
    this.sn++;
    if (this.sn > SN_MAX) {
      this.sn = 0;
      this.sendEpoch++;
      if (this.sendEpoch > EPOCH_MAX) this.close('sequence-exhausted');
    }
    return datagram;
  }

  private encode(type: MessageName, payload: Uint8Array, sn: number): Uint8Array {
    const peerEphemeral = this.peerEphemeralPublicKey;
    switch (type) {
      case 'InitSnd':
        return encodeInitSnd(
          { ephemeralPublicKey: this.ephemeralPublicKey, identityPublicKey: this.ctx.identityPublicKey },
          this.ctx.mtu,
        );
      case 'InitCryptoSnd':
        if (this.peerIdentityPublicKey === null)
          throw new QotpError('invalid-argument', '0-RTT needs the peer identity key');
        return encodeInitCryptoSnd({
          initiatorEphemeralPrivateKey: this.ephemeralPrivateKey,
          initiatorIdentityPublicKey: this.ctx.identityPublicKey,
          responderIdentityPublicKey: this.peerIdentityPublicKey,
          sn,
          mtu: this.ctx.mtu,
          payload,
        }).packet;
      case 'InitRcv':
      case 'InitCryptoRcv': {
        if (peerEphemeral === null || this.secret === null)
          throw new QotpError('invalid-argument', 'reply before the peer ephemeral key is known');
        // computed once, at accept
        const derived = { responderEphemeralPublicKey: this.ephemeralPublicKey, secret: this.secret };
        const reply = {
          connId: this.id,
          responderEphemeralPrivateKey: this.ephemeralPrivateKey,
          initiatorEphemeralPublicKey: peerEphemeral,
          sn,
          payload,
          derived,
        };
        return type === 'InitRcv'
          ? encodeInitRcv({ ...reply, responderIdentityPublicKey: this.ctx.identityPublicKey }).packet
          : encodeInitCryptoRcv(reply).packet;
      }
      case 'Data':
        if (this.secret === null) throw new QotpError('invalid-argument', 'Data before the shared secret is known');
        return encodeData({
          connId: this.id,
          secret: this.secret,
          sn,
          epoch: this.sendEpoch,
          sealedByInitiator: this.role === 'initiator',
          payload,
        });
    }
  }

  // ------------------------------------------------------------------ timers

  /** The epoch a receiver tries first (the last one that authenticated). */
  get receiveEpochNow(): number {
    return this.receiveEpoch;
  }

  /** Idle timeout and the end of stream grace periods. */
  checkTimers(now: number): void {
    if (this.closeReason !== null) return;
    if (this.lastReceivedAt > 0 && now > this.lastReceivedAt + IDLE_TIMEOUT) {
      this.lifetime.take('idle-timeout');
      this.close('idle-timeout');
      return;
    }
    for (const s of this.streams.values()) {
      if (s.closedAt !== null && now > s.closedAt + CLOSE_GRACE) {
        this.buffered -= s.receiver.bufferedBytes; // bytes held behind a gap that will never be filled
        this.heldPieces -= s.receiver.pieceCount;
        this.streams.delete(s.id);
      }
    }
  }

  /**
   * When this connection next needs attention, ns; null when only a packet can wake it.
   * The Node adapter asks after every pass, and many times a millisecond while pacing,
   * so it takes the minimum in one walk without building lists.
   */
  nextDeadline(now: number): number | null {
    if (this.closeReason !== null) return null;
    let next = this.acks.length > 0 ? now : Infinity;
    // A full peer window holds back new data (nextDatagram) until an ACK opens it, so it
    // sets no deadline for new data then, only for the window probe.
    const windowOpen = !this.windowFull();
    let wantsToSend = this.handshake.state === 'idle' && this.streams.size > 0;
    const mayStartData = this.maySendNewData();
    const rto = this.rto;
    for (const s of this.streams.values()) {
      wantsToSend ||= mayStartData && s.sender.hasNewData;
      const segment = s.sender.oldest();
      if (segment !== undefined) {
        const wait = backoffNanos(rto, segment.transmissions) ?? giveUpNanos(rto);
        next = Math.min(next, Math.max(segment.sentAt + wait + 1, this.nextWriteAt));
      }
      if (s.closedAt !== null) next = Math.min(next, s.closedAt + CLOSE_GRACE + 1);
    }
    if (wantsToSend && windowOpen) next = Math.min(next, Math.max(this.nextWriteAt, now));
    const probeAt = windowOpen ? null : this.windowProbeAt(now);
    if (probeAt !== null) next = Math.min(next, Math.max(probeAt, this.nextWriteAt));
    if (this.lastReceivedAt > 0) next = Math.min(next, this.lastReceivedAt + IDLE_TIMEOUT + 1);
    return next === Infinity ? null : next;
  }

  close(reason: CloseReason): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    this.ctx.touch(this); // so that the endpoint forgets it at the next poll
    this.ctx.emit({ type: 'connection-closed', connId: this.id, reason });
  }
}
