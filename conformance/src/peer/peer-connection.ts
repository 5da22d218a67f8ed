// The tester's side of one QOTP connection, at packet level: its keys, its sequence
// numbers and the shared secret, built on the reference's codec and crypto (never on its
// engine), so that a case can seal exactly the packet it needs - right, wrong or odd -
// and read every packet the endpoint sends.
import { constant, headerSize, messageTraits, receiverOf } from '@qotp/spec';
import {
  decodeData,
  decodeInitCryptoRcv,
  decodeInitCryptoSnd,
  decodeInitRcv,
  decodeInitSnd,
  decodePayload,
  encodeData,
  encodeInitCryptoRcv,
  encodeInitCryptoSnd,
  encodeInitRcv,
  encodeInitSnd,
  encodePayload,
  messageTypeOf,
  openPacket,
  publicKeyOf,
  QotpError,
  readUint,
  readUint64,
  sharedSecret,
  type Payload,
} from '@qotp/reference';
import { randomBytes } from 'node:crypto';
import type { Decoded } from '../capture/datagram.js';
import { keyLogLines } from '../capture/key-log.js';

export type Role = 'initiator' | 'responder';

const newKey = (): Uint8Array => new Uint8Array(randomBytes(32));
const CONN_ID_OFFSET = 1;
const FILL_LEN = constant('MsgInitFillLenSize');

export interface SealOptions {
  /** Defaults to the next sequence number of this connection. */
  sn?: number;
  epoch?: number;
  /** Defaults to the tester's own role; the opposite gives a packet with the wrong direction bit. */
  sealedByInitiator?: boolean;
  /**
   * Another connection id in the header, sealed under it (the header is authenticated): a packet the endpoint could
   * open only by guessing the connection.
   */
  connId?: bigint;
}

export class PeerConnection {
  readonly identityPrivateKey: Uint8Array;
  readonly ephemeralPrivateKey: Uint8Array;
  /** The connection id; for a responder, known once the endpoint's first packet arrived. */
  connId: bigint;
  /** The ephemeral-ephemeral secret of replies and Data; null until it is known. */
  secret: Uint8Array | null = null;
  /** The 0-RTT identity secret, when there is one. */
  identitySecret: Uint8Array | null = null;
  /** The endpoint's keys as it announced them. */
  peerEphemeralPublicKey: Uint8Array | null = null;
  peerIdentityPublicKey: Uint8Array | null;
  /** Next sequence number: InitSnd takes 0 without putting it on the wire (clause crypto.sn.counter). */
  nextSn = 0;

  readonly identityPublicKey: Uint8Array;
  readonly ephemeralPublicKey: Uint8Array;

  /**
   * X25519 in plain JavaScript costs milliseconds per operation and the tester serves many
   * cases on one event loop: `identity` lets connections share one identity key pair.
   */
  constructor(
    readonly role: Role,
    options: { identity?: { privateKey: Uint8Array; publicKey: Uint8Array }; peerIdentityPublicKey?: Uint8Array } = {},
  ) {
    this.identityPrivateKey = options.identity?.privateKey ?? newKey();
    this.identityPublicKey = options.identity?.publicKey ?? publicKeyOf(this.identityPrivateKey);
    this.ephemeralPrivateKey = newKey();
    this.ephemeralPublicKey = publicKeyOf(this.ephemeralPrivateKey);
    this.peerIdentityPublicKey = options.peerIdentityPublicKey ?? null;
    this.connId = role === 'initiator' ? readUint64(this.ephemeralPublicKey, 0) : 0n;
  }

  private takeSn(sn: number | undefined): number {
    if (sn !== undefined) return sn;
    return this.nextSn++;
  }

  // ------------------------------------------------------------ as initiator

  initSnd(mtu: number = constant('DefaultMtu')): Uint8Array {
    this.takeSn(undefined);
    return encodeInitSnd(
      { ephemeralPublicKey: this.ephemeralPublicKey, identityPublicKey: this.identityPublicKey },
      mtu,
    );
  }

  initCryptoSnd(payload: Payload, mtu: number = constant('DefaultMtu')): Uint8Array {
    if (this.peerIdentityPublicKey === null) throw new Error('0-RTT needs the endpoint identity public key');
    const sealed = encodeInitCryptoSnd({
      initiatorEphemeralPrivateKey: this.ephemeralPrivateKey,
      initiatorIdentityPublicKey: this.identityPublicKey,
      responderIdentityPublicKey: this.peerIdentityPublicKey,
      sn: this.takeSn(undefined),
      mtu,
      payload: encodePayload(payload),
    });
    this.identitySecret = sealed.secret;
    return sealed.packet;
  }

  // ------------------------------------------------------------ as responder

  /** Answers the endpoint's InitSnd (or, with `zeroRtt`, its InitCryptoSnd) and learns the connection. */
  reply(payload: Payload, kind: 'InitRcv' | 'InitCryptoRcv', sn?: number): Uint8Array {
    if (this.peerEphemeralPublicKey === null) throw new Error('no InitSnd or InitCryptoSnd seen yet');
    const common = {
      connId: this.connId,
      responderEphemeralPrivateKey: this.ephemeralPrivateKey,
      initiatorEphemeralPublicKey: this.peerEphemeralPublicKey,
      sn: this.takeSn(sn),
      payload: encodePayload(payload),
    };
    const encoded =
      kind === 'InitRcv'
        ? encodeInitRcv({ ...common, responderIdentityPublicKey: this.identityPublicKey })
        : encodeInitCryptoRcv(common);
    this.secret = encoded.secret;
    return encoded.packet;
  }

  // ------------------------------------------------------------ both

  /** A Data packet; `payload` as bytes sends exactly those plaintext bytes. */
  data(payload: Payload | Uint8Array, options: SealOptions = {}): Uint8Array {
    if (this.secret === null) throw new Error('no shared secret yet: the handshake has not completed');
    return encodeData({
      connId: options.connId ?? this.connId,
      secret: this.secret,
      sn: this.takeSn(options.sn),
      epoch: options.epoch ?? 0,
      sealedByInitiator: options.sealedByInitiator ?? this.role === 'initiator',
      payload: payload instanceof Uint8Array ? payload : encodePayload(payload),
    });
  }

  /** Whether a datagram names this connection (by the connection id where the type has one). */
  owns(bytes: Uint8Array): boolean {
    if (bytes.length < CONN_ID_OFFSET + 8) return false;
    try {
      const type = messageTypeOf(bytes);
      // The connection id sits at the same offset in every type: the initiator's first
      // packets carry the ephemeral key there, whose first 8 bytes are the id.
      const connId = readUint64(bytes, CONN_ID_OFFSET);
      if (messageTraits(type).firstPacket && this.role === 'responder' && this.connId === 0n) return true;
      return connId === this.connId;
    } catch {
      return false;
    }
  }

  /**
   * Decodes a datagram the endpoint sent on this connection, learning keys on the way
   * (the reply's secret; as responder, the initiator's keys from its first packet).
   */
  receive(bytes: Uint8Array, mtu: number = constant('DefaultMtu')): Decoded {
    const type = messageTypeOf(bytes);
    // A message of the tester's own role (its InitSnd reflected, say) is none the endpoint may send.
    if (receiverOf(type) === (this.role === 'initiator' ? 'responder' : 'initiator')) {
      throw new QotpError(
        'wrong-role',
        `${type} is the ${this.role}'s own message type; ` +
          `a ${this.role === 'initiator' ? 'responder' : 'initiator'} never sends it`,
      );
    }
    const base = (connId: bigint, sn: number | null, epoch: number | null, plaintext: Uint8Array | null): Decoded => ({
      type,
      connId,
      sn,
      epoch,
      payload: plaintext === null || plaintext.length === 0 ? null : decodePayload(plaintext),
      payloadHeader: plaintext?.[0] ?? null,
    });
    switch (type) {
      case 'InitSnd': {
        const m = decodeInitSnd(bytes, mtu);
        this.learnInitiator(m.connId, m.ephemeralPublicKey, m.identityPublicKey);
        return base(m.connId, null, null, null);
      }
      case 'InitCryptoSnd': {
        const m = decodeInitCryptoSnd(bytes, this.identityPrivateKey, mtu);
        this.learnInitiator(m.connId, m.ephemeralPublicKey, m.identityPublicKey);
        this.identitySecret = m.identitySecret;
        return { ...base(m.connId, m.sn, m.epoch, m.payload), fillerLength: m.fillerLength };
      }
      case 'InitRcv': {
        const m = decodeInitRcv(bytes, this.ephemeralPrivateKey);
        this.learnResponder(m.secret, m.ephemeralPublicKey, m.identityPublicKey);
        return base(m.connId, m.sn, m.epoch, m.payload);
      }
      case 'InitCryptoRcv': {
        const m = decodeInitCryptoRcv(bytes, this.ephemeralPrivateKey);
        this.learnResponder(m.secret, m.ephemeralPublicKey, null);
        return base(m.connId, m.sn, m.epoch, m.payload);
      }
      case 'Data': {
        if (this.secret === null) throw new QotpError('unknown-connection', 'Data before the handshake completed');
        const m = decodeData(bytes, this.secret, 0, this.role === 'responder');
        return base(m.connId, m.sn, m.epoch, m.payload);
      }
    }
  }

  private learnInitiator(connId: bigint, ephemeralPublicKey: Uint8Array, identityPublicKey: Uint8Array): void {
    this.connId = connId;
    this.peerEphemeralPublicKey = ephemeralPublicKey;
    this.peerIdentityPublicKey = identityPublicKey;
    this.secret = sharedSecret(this.ephemeralPrivateKey, ephemeralPublicKey);
  }

  private learnResponder(
    secret: Uint8Array,
    ephemeralPublicKey: Uint8Array,
    identityPublicKey: Uint8Array | null,
  ): void {
    this.secret ??= secret;
    this.peerEphemeralPublicKey ??= ephemeralPublicKey;
    if (identityPublicKey !== null) this.peerIdentityPublicKey ??= identityPublicKey;
  }

  /**
   * What one of the tester's own packets says, for the timeline: opened with the keys it
   * was sealed with, either direction bit (cases send wrong ones on purpose). null for a
   * packet that no longer opens (a deliberately mutated one).
   */
  describeOwn(bytes: Uint8Array): Decoded | null {
    try {
      const type = messageTypeOf(bytes);
      const connId = readUint64(bytes, CONN_ID_OFFSET);
      if (type === 'InitSnd') return { type, connId, sn: null, epoch: null, payload: null, payloadHeader: null };
      const secret = type === 'InitCryptoSnd' ? this.identitySecret : this.secret;
      if (secret === null) return null;
      for (const sealedByInitiator of [this.role === 'initiator', this.role !== 'initiator']) {
        try {
          const opened = openPacket(bytes, headerSize(type), { secret, epoch: 0, sealedByInitiator });
          let plaintext = opened.payload;
          if (type === 'InitCryptoSnd') plaintext = plaintext.subarray(FILL_LEN + readUint(plaintext, 0, 16));
          return {
            type,
            connId,
            sn: opened.sn,
            epoch: opened.epoch,
            payload: decodePayload(plaintext),
            payloadHeader: plaintext[0] ?? null,
          };
        } catch (e) {
          if (!(e instanceof QotpError)) throw e;
        }
      }
      return null;
    } catch (e) {
      if (e instanceof QotpError) return null;
      throw e;
    }
  }

  keyLog(): string[] {
    return keyLogLines(this.connId, this.secret, this.identitySecret);
  }
}
