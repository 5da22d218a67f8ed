// Whether a give-up was allowed, read from what the relay saw: the spec lets a sender close a
// connection once a segment went out six times unacknowledged (retransmission.give-up), and
// asks a transfer to complete as long as no packet is lost six times in a row
// (retransmission.recovers). With the key log of the reference side, every datagram the relay
// received (dropped ones too: it keeps them as they arrived) opens, so the relay's record
// says, per segment, how many copies each side sent and whether an acknowledgement of it
// reached the sender.
import { decodePayload, messageTypeOf, readUint64 } from '@qotp/reference';
import type { MessageName } from '@qotp/spec';
import type { KeyLog } from '../capture/key-log.js';
import { NoSecret, openCaptured } from '../capture/open.js';
import type { Relayed } from './relay.js';

export type Side = 'client' | 'server';

/** One segment a side sent, with what became of its copies and of the answers to it. */
export interface Resent {
  /** "stream 0 at 12345", "stream 0 at 0 (empty)", "InitSnd", "InitCryptoSnd". */
  segment: string;
  copies: number;
  /** Copies the relay dropped or corrupted. */
  copiesLost: number;
  /**
   * Answers to it (ACKs of the segment; for a first message, the other side's datagrams of
   * that connection) that the relay dropped or corrupted: what can explain a copy that
   * arrived and still went unanswered.
   */
  answersLost: number;
  /**
   * When the first acknowledgement of it (for InitSnd: a reply) that reached the sender passed the relay; null if none
   * did.
   */
  answeredMs: number | null;
}

export interface ResendRecord {
  /** Per side, the unanswered segment with the most copies (null: every segment was answered). */
  worstUnanswered: Record<Side, Resent | null>;
  /** Per side, when its last datagram reached the relay (null: it sent none). */
  lastDatagramMs: Record<Side, number | null>;
  /** Per side, when its last datagram with a stream segment was passed on to the other side. */
  lastDeliveredSegmentMs: Record<Side, number | null>;
  /** Per side, its last resend: which copy of which segment, and when it reached the relay. */
  lastResend: Record<Side, { segment: Resent; copy: number; atMs: number } | null>;
  /**
   * Per side, the datagrams that show it took part in the protocol: ones that opened with
   * the connection's keys, and well-formed first messages (an InitSnd is cleartext).
   */
  tookPart: Record<Side, number>;
  /** Per side, datagrams the relay passed on to it (delivered, delayed, duplicated). */
  deliveredTo: Record<Side, number>;
  /** Per side, datagrams whose keys were known and that still did not open or decode. */
  inauthentic: Record<Side, number>;
  /** Datagrams the key log could not open (none when it holds every secret). */
  unreadable: number;
  /** When the record was read (the relay's clock): how long the sides had to answer. */
  endMs: number;
}

/** The most copies of one segment the spec lets a sender send before it gives up. */
export const MAX_COPIES = 6;

const delivered = (r: Relayed): boolean => !r.fate.startsWith('dropped') && r.fate !== 'corrupted';
const sideOf = (r: Relayed): Side => (r.fromClient ? 'client' : 'server');
const FIRST_MESSAGES = ['InitSnd', 'InitCryptoSnd'] as const;
/**
 * A segment by stream and offset: a sender may resend the bytes at an offset in another size
 * (qotp does, with an ACK in the same packet taking room), and an ACK of any length at that
 * offset answers them. An empty segment (PING, empty CLOSE) is apart from data at its offset.
 */
const segmentKey = (streamId: number, offset: number, length: number): string =>
  `stream ${streamId} at ${offset}${length === 0 ? ' (empty)' : ''}`;

/**
 * Reads the relay's record with the secrets of `keys`, at `endMs` on the relay's clock (by default its last datagram).
 */
export function readResends(captured: readonly Relayed[], keys: KeyLog, endMs = captured.at(-1)?.t ?? 0): ResendRecord {
  const sent: Record<Side, Map<string, Resent>> = { client: new Map(), server: new Map() };
  const answeredBy: Record<Side, Map<string, number>> = { client: new Map(), server: new Map() };
  const lostAnswers: Record<Side, Map<string, number>> = { client: new Map(), server: new Map() };
  /**
   * An answer from the other side to `side`'s `segment`: delivered, it answers; lost, it may explain an unanswered
   * copy.
   */
  const answer = (side: Side, segment: string, r: Relayed) => {
    if (!delivered(r)) lostAnswers[side].set(segment, (lostAnswers[side].get(segment) ?? 0) + 1);
    else if (!answeredBy[side].has(segment)) answeredBy[side].set(segment, r.t);
  };
  const lastResend: ResendRecord['lastResend'] = { client: null, server: null };
  const lastDatagramMs: Record<Side, number | null> = { client: null, server: null };
  const lastDeliveredSegmentMs: Record<Side, number | null> = { client: null, server: null };
  const tookPart: Record<Side, number> = { client: 0, server: 0 };
  const deliveredTo: Record<Side, number> = { client: 0, server: 0 };
  const inauthentic: Record<Side, number> = { client: 0, server: 0 };
  /** Connections (by id) whose first message each side sent: the other side's datagrams of them answer it. */
  const firstOf = new Map<bigint, { side: Side; type: (typeof FIRST_MESSAGES)[number] }>();
  let unreadable = 0;
  const copy = (side: Side, segment: string, r: Relayed) => {
    const s = sent[side].get(segment) ?? { segment, copies: 0, copiesLost: 0, answersLost: 0, answeredMs: null };
    s.copies++;
    if (s.copies > 1) lastResend[side] = { segment: s, copy: s.copies, atMs: r.t };
    if (!delivered(r)) s.copiesLost++;
    sent[side].set(segment, s);
  };
  for (const r of captured) {
    const side = sideOf(r);
    const other: Side = side === 'client' ? 'server' : 'client';
    lastDatagramMs[side] = r.t;
    if (delivered(r)) deliveredTo[other]++;
    let type: MessageName;
    try {
      type = messageTypeOf(r.data);
    } catch {
      unreadable++;
      inauthentic[side]++;
      continue;
    }
    // The initiator's first message counts by its type (a 0-RTT one opens only once the key
    // log has the secret, after the reply).
    const first = FIRST_MESSAGES.find((t) => t === type);
    if (first !== undefined && side === 'server') {
      // The relay's client is the initiator: a first message from the server's side (a
      // reflected one, say) is no part of the protocol.
      inauthentic[side]++;
      continue;
    }
    if (first !== undefined) {
      copy(side, first, r);
      firstOf.set(readUint64(r.data, 1), { side, type: first });
    }
    // Any datagram of the other side under that connection's id answers the first message
    // (a reply, or Data once the handshake is through): delivered only if it opens, lost
    // whether or not it could have been opened (its keys may never have reached anyone).
    const connId = r.data.length >= 9 ? readUint64(r.data, 1) : null;
    const answered = connId === null ? undefined : firstOf.get(connId);
    let payload: Uint8Array | null;
    try {
      payload = openCaptured(r.data, keys, r.fromClient).payload;
    } catch (e) {
      unreadable++;
      if (!(e instanceof NoSecret)) inauthentic[side]++;
      if (answered !== undefined && answered.side === other && !delivered(r) && e instanceof NoSecret)
        answer(other, answered.type, r);
      continue;
    }
    if (answered !== undefined && answered.side === other) answer(other, answered.type, r);
    let p: ReturnType<typeof decodePayload> | null = null;
    if (payload !== null) {
      try {
        p = decodePayload(payload);
      } catch {
        // Authentic, but a payload of another layout: the side did not speak this protocol.
        inauthentic[side]++;
        continue;
      }
    }
    tookPart[side]++;
    if (p === null) continue;
    if (p.stream !== null) copy(side, segmentKey(p.stream.streamId, p.stream.offset, p.stream.data.length), r);
    if (p.stream !== null && delivered(r)) lastDeliveredSegmentMs[side] = r.t;
    if (p.ack !== null) answer(other, segmentKey(p.ack.streamId, p.ack.offset, p.ack.length), r);
  }
  const worst = (side: Side): Resent | null => {
    let found: Resent | null = null;
    for (const s of sent[side].values()) {
      s.answeredMs = answeredBy[side].get(s.segment) ?? null;
      s.answersLost = lostAnswers[side].get(s.segment) ?? 0;
      if (s.answeredMs === null && (found === null || s.copies > found.copies)) found = s;
    }
    return found;
  };
  return {
    worstUnanswered: { client: worst('client'), server: worst('server') },
    lastDatagramMs,
    lastDeliveredSegmentMs,
    lastResend,
    tookPart,
    deliveredTo,
    inauthentic,
    unreadable,
    endMs,
  };
}

/** How soon a live receiver answers a segment that reached it (an ACK is due at once). */
const ANSWER_WITHIN_MS = 1000;

/**
 * The side that stopped first: a segment of the other side's reached it after its last
 * datagram and went unanswered for more than a second, so it had closed (or stalled). A
 * side whose segments were all lost is not taken to have stopped, however long the other
 * was silent. Null when both answered to the end.
 */
export function stoppedFirst(record: ResendRecord): Side | null {
  const stopped = (side: Side): number | null => {
    const last = record.lastDatagramMs[side] ?? -Infinity;
    const theirs = record.lastDeliveredSegmentMs[side === 'client' ? 'server' : 'client'];
    return theirs !== null && theirs > last && record.endMs - theirs > ANSWER_WITHIN_MS ? last : null;
  };
  const [client, server] = [stopped('client'), stopped('server')];
  if (client === null) return server === null ? null : 'server';
  return server === null || client < server ? 'client' : 'server';
}

/** "stream 0 at 12345: 6 copies, 4 lost on the way, no acknowledgement reached the sender". */
export function describeResent(s: Resent): string {
  const answers = s.answersLost === 0 ? '' : `, ${s.answersLost} answer${s.answersLost === 1 ? '' : 's'} to it lost`;
  return (
    `${s.segment}: ${s.copies} cop${s.copies === 1 ? 'y' : 'ies'}, ${s.copiesLost} lost on the way${answers}, no ` +
    `acknowledgement reached the sender`
  );
}

/**
 * Copies of a segment that reached the other side and whose answer, if any, the relay did
 * not lose: the other side left them unanswered, which no impairment explains.
 */
const unexplained = (s: Resent): number => Math.max(0, s.copies - s.copiesLost - s.answersLost);

/**
 * Why `side` was allowed to give up, or null: a segment of its sent six times without an
 * acknowledgement reaching it, where the impairment made it so (every copy that reached the
 * other side had an answer that the relay lost), and, when `endpoint` names the side under
 * test, that side took part (it sent datagrams that authenticate and decode). A side that
 * gave up because the other never answered, or answered with packets that do not open, was
 * not allowed to by the impairment: that is the silent side's failure.
 */
export function giveUpAllowed(record: ResendRecord, side: Side, endpoint?: Side): string | null {
  const s = record.worstUnanswered[side];
  if (s === null || s.copies < MAX_COPIES || unexplained(s) > 0) return null;
  if (endpoint !== undefined && record.tookPart[endpoint] === 0) return null;
  return `the ${side}'s ${describeResent(s)}: a give-up is conforming (retransmission.give-up)`;
}

/**
 * What the record says of a side that stopped without cause, for a failure message: the most
 * copies of a segment it sent unanswered, and its last resend with what became of it (a
 * sender that closes right after its sixth copy shows here: the copy's acknowledgement came);
 * or, where a segment did go out six times, why that was no impairment's doing.
 */
export function noCause(record: ResendRecord, side: Side, endpoint?: Side): string {
  const other: Side = side === 'client' ? 'server' : 'client';
  const s = record.worstUnanswered[side];
  if (endpoint !== undefined && record.tookPart[endpoint] === 0) {
    const bad = record.inauthentic[endpoint];
    const what =
      record.lastDatagramMs[endpoint] === null
        ? 'sent nothing at all'
        : bad > 0
          ? `sent ${bad} datagram(s), none of which authenticated and decoded`
          : 'sent nothing that authenticated';
    return (
      `the ${endpoint} (the endpoint under test) ${what}, although ${record.deliveredTo[endpoint]} datagram(s) ` +
      `reached it: no impairment explains that, so nothing allowed a give-up`
    );
  }
  if (s !== null && s.copies >= MAX_COPIES && unexplained(s) > 0) {
    return (
      `the ${side}'s ${describeResent(s)}: ${unexplained(s)} of its copies reached the ${other}, which answered ` +
      `none of them (no answer was lost on the way), so the impairment did not cause the give-up`
    );
  }
  const most =
    s === null
      ? `every segment the ${side} sent was acknowledged`
      : `no segment of the ${side}'s went out ${MAX_COPIES} times unacknowledged (the most: ${describeResent(s)})`;
  const last = record.lastResend[side];
  const answered = last?.segment.answeredMs ?? null;
  const resend =
    last === null
      ? ''
      : `; its last resend was copy ${last.copy} of ${last.segment.segment}, ` +
        (answered === null
          ? 'never acknowledged'
          : answered >= last.atMs
            ? `acknowledged ${(answered - last.atMs).toFixed(1)} ms later`
            : 'already acknowledged');
  return `${most}${resend}, so nothing allowed it to give up`;
}
