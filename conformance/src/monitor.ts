// The protocol monitor: rules that hold for every datagram an endpoint sends, whatever a case
// is about. After each case it reads the case's whole timeline (both directions, decoded where
// the tester holds the keys) and reports the first datagram that breaks one, under the rule's
// clause. Written from the spec's clauses and state machines, not from the reference's code.
import { bitField, constant, fieldOffset, spec, type MessageName } from '@qotp/spec';
import { describe, type Datagram } from './capture/datagram.js';

const CAPACITY = constant('ReceiveBufferCapacity');
const NARROW_MAX = spec.payload.offsetWidths.narrowMax;
const WIDE = bitField(spec.payload.header, 'wideOffsets');
const MAX_TRANSMISSIONS = constant('MaxTransmissions');
const DEFAULT_RTO_MS = constant('DefaultRto') / 1e6;
const MIN_RTO_MS = constant('MinRto') / 1e6;
/** Of a resend's earliest time, how much the monitor forgives beyond the tester's own stalls. */
const RESEND_SLACK = 0.1;
/**
 * How long after the tester sent an ACK the monitor takes the endpoint to have heard it: a
 * loopback round trip and then some, plus the tester's own stalls (which can delay its record of
 * a datagram that left before the ACK arrived).
 */
const ACK_HEARD_MS = 2;
/**
 * A tester stall that shows the machine loaded: then the endpoint's own process may have been
 * starved too, and resend-after-rto forgives it one copy too early (not two).
 */
const LOADED_STALL_MS = 25;

const KEY_SIZE = constant('PubKeySize');
/** Where each handshake message carries its sender's ephemeral public key. */
const EPHEMERAL_AT: Partial<Record<MessageName, number>> = {
  InitSnd: fieldOffset('InitSnd', 'pubKeyEpSnd'),
  InitCryptoSnd: fieldOffset('InitCryptoSnd', 'pubKeyEpSnd'),
  InitRcv: fieldOffset('InitRcv', 'pubKeyEpRcv'),
  InitCryptoRcv: fieldOffset('InitCryptoRcv', 'pubKeyEpRcv'),
};

/** Which role sends each message type, looked up once: the monitor asks for every datagram. */
const SENT_BY = new Map(spec.messageTypes.map((m) => [m.name, m.sentBy]));
const sentBy = (type: MessageName) => SENT_BY.get(type);
const isFirstPacket = (type: MessageName) => sentBy(type) === 'initiator';
/** The reply each first packet gets (rows init-snd and init-crypto-snd of responder-handshake). */
const REPLY_TO: Partial<Record<MessageName, MessageName>> = { InitSnd: 'InitRcv', InitCryptoSnd: 'InitCryptoRcv' };

export interface Violation {
  rule: string;
  clause: string;
  datagram: Datagram;
  message: string;
}

/**
 * A handshake state machine as the wire shows it from the tester's side, one per connection: the
 * endpoint's own state is known only from what it sends, so each machine has an extra state for
 * "the tester sent what moves the endpoint on, and the endpoint has not shown that it got it".
 * `first` is the first packet the connection began with and `reply` its reply type.
 */
type Sendable = 'first' | 'reply' | 'Data';
const HANDSHAKE: Record<
  'initiator' | 'responder',
  { machine: string; states: Record<string, { maySend: Sendable[]; says: string }> }
> = {
  initiator: {
    machine: 'initiator-handshake',
    states: {
      'awaiting-reply': {
        maySend: ['first'],
        says: 'no reply sent to it yet: it sends its first packet and copies of it (rows dial, first-packet-resent)',
      },
      'reply-sent': { maySend: ['first', 'Data'], says: 'a reply sent to it, not yet shown to have arrived' },
      established: { maySend: ['Data'], says: 'it sent Data, so a reply authenticated: Data from now on (row reply)' },
    },
  },
  responder: {
    machine: 'responder-handshake',
    states: {
      replying: {
        maySend: ['reply'],
        says: "the initiator's first Data packet not sent yet: it seals as the reply type (rows init-snd, more-data)",
      },
      'data-sent': {
        maySend: ['reply', 'Data'],
        says: "the initiator's first Data packet sent, not yet shown to have arrived",
      },
      established: {
        maySend: ['Data'],
        says:
          'it sent Data, so the first Data packet authenticated: Data from now on, a late first packet answered ' +
          'in Data too (rows first-data, late-first-packet)',
      },
    },
  },
};

interface HandshakeView {
  role: keyof typeof HANDSHAKE;
  state: string;
  first: MessageName;
}

interface MonitorState {
  mtu: number;
  /** The longest the tester's event loop was held up in the case: how late it may have seen a datagram. */
  stallMs: number;
  /** Sequence numbers the endpoint used, per connection and epoch, with where each was first seen. */
  used: Map<string, Datagram>;
  /** Segments the tester sent, per connection: "stream/offset/length". */
  sent: Map<bigint, Set<string>>;
  /** Where the endpoint's own direction of a stream ends, once it sent a CLOSE: per "connection/stream". */
  closedAt: Map<string, { offset: number; datagram: Datagram }>;
  /** The endpoint's transmissions of each segment (and first packet) so far, and the latest. */
  copies: Map<string, { n: number; last: Datagram }>;
  /** The endpoint's copies that came sooner than its RTO allows, described. */
  earlyCopies: string[];
  /** Each connection's handshake machine, from its first datagram on. */
  handshakes: Map<bigint, HandshakeView>;
  /** The ephemeral public keys the endpoint sent (hex), with the connection and datagram that first did. */
  ephemeral: Map<string, { connId: bigint; datagram: Datagram }>;
  /** Connections whose first sealed packet of the endpoint's has been seen. */
  sealedOnce: Set<bigint>;
  /**
   * The endpoint's latest PING in a Data packet per "connection/stream/offset", and when the tester acknowledged it.
   */
  pings: Map<string, { ping: Datagram; ackedAt: number | null }>;
}

export interface MonitorRule {
  id: string;
  clause: string;
  /** What always holds, in a line. */
  title: string;
  /** The violation `d` shows, or null; `d` is the endpoint's (direction 'in'). */
  check(d: Datagram, state: MonitorState): string | null;
}

const segmentKey = (streamId: number, offset: number, length: number): string => `${streamId}/${offset}/${length}`;

/**
 * What a datagram transmits that is resent on an RTO, if anything: the first packet itself, or
 * its stream segment when that carries data or a CLOSE. A PING is left out: it is never resent,
 * so an equal one later is a new PING (a window probe), not a copy.
 */
function transmitted(d: Datagram): { key: string; what: string; rtoMs: number } | null {
  const m = d.decoded;
  if (m === null) return null;
  // Before a reply authenticates there is no RTT sample: the first packet's RTO is the default.
  if (isFirstPacket(m.type)) return { key: `${m.connId}/first`, what: `its ${m.type}`, rtoMs: DEFAULT_RTO_MS };
  const s = m.payload?.stream;
  if (s === null || s === undefined || (s.data.length === 0 && m.payload?.isClose !== true)) return null;
  return {
    key: `${m.connId}/${segmentKey(s.streamId, s.offset, s.data.length)}`,
    what: `its segment of stream ${s.streamId} at ${s.offset} (${s.data.length} B)`,
    rtoMs: MIN_RTO_MS,
  };
}

export const MONITOR_RULES: MonitorRule[] = [
  {
    id: 'datagram-within-mtu',
    clause: 'payload.max-data',
    title: "No datagram exceeds the sender's MTU",
    check: (d, s) =>
      d.bytes.length > s.mtu ? `a datagram of ${d.bytes.length} bytes, more than the declared MTU of ${s.mtu}` : null,
  },
  {
    id: 'offset-width-exact',
    clause: 'payload.offset.width',
    title: 'Offsets are 48 bits wide exactly when the stream offset or the ACK offset needs it',
    check: (d) => {
      const p = d.decoded?.payload;
      const header = d.decoded?.payloadHeader;
      if (p === null || p === undefined || header === null || header === undefined) return null;
      const wide = ((header >> WIDE.shift) & 1) === 1;
      const largest = Math.max(p.ack?.offset ?? 0, p.stream?.offset ?? 0);
      if (wide === largest > NARROW_MAX) return null;
      return wide
        ? `48-bit offsets although the largest offset, ${largest}, fits in 24 bits`
        : `24-bit offsets for an offset of ${largest}`;
    },
  },
  {
    id: 'sequence-number-once',
    clause: 'crypto.sn.counter',
    title: 'A sequence number is used once per connection, direction and epoch: no nonce twice under one key',
    check: (d, s) => {
      const m = d.decoded;
      if (m === null || m.sn === null) return null;
      const key = `${m.connId}/${m.epoch ?? 0}/${m.sn}`;
      const first = s.used.get(key);
      if (first !== undefined)
        return (
          `sequence number ${m.sn} (epoch ${m.epoch ?? 0}) again, first used by datagram #${first.index} ` +
          `at ${first.t.toFixed(0)} ms: a nonce used twice under one key`
        );
      s.used.set(key, d);
      return null;
    },
  },
  {
    id: 'sequence-numbers-from-zero',
    clause: 'crypto.sn.counter',
    title: "A connection's first sealed packet has sequence number 0: no counter carried over from another connection",
    check: (d, s) => {
      const m = d.decoded;
      if (m === null || m.sn === null || s.sealedOnce.has(m.connId)) return null;
      s.sealedOnce.add(m.connId);
      // An initiator's first packet after an InitSnd may count the InitSnd copies: only replies and InitCryptoSnd are
      // judged.
      if (m.type === 'Data' || m.sn === 0) return null;
      return (
        `the endpoint's first sealed packet on this connection has sequence number ${m.sn}, not 0: its counter ` +
        `did not start with the connection`
      );
    },
  },
  {
    id: 'ephemeral-key-per-connection',
    clause: 'crypto.keys.ephemeral-per-connection',
    title: 'No two connections carry the same ephemeral public key of the endpoint',
    check: (d, s) => {
      const m = d.decoded;
      const at = m === null ? undefined : EPHEMERAL_AT[m.type];
      if (m === null || at === undefined) return null;
      const key = Buffer.from(d.bytes.subarray(at, at + KEY_SIZE)).toString('hex');
      const first = s.ephemeral.get(key);
      if (first === undefined) s.ephemeral.set(key, { connId: m.connId, datagram: d });
      else if (first.connId !== m.connId)
        return (
          `the ephemeral key ${key.slice(0, 16)}... again, which connection ${first.connId.toString(16)} carried ` +
          `first (datagram #${first.datagram.index}): two connections share a key pair, and with it their ` +
          `secrets`
        );
      return null;
    },
  },
  {
    id: 'handshake-order',
    clause: 'handshake.message-order',
    title:
      'Each connection sends the message types its handshake state machine allows: first packet or reply, then ' +
      'Data only',
    check: (d, s) => {
      const m = d.decoded;
      if (m === null) return null;
      const view = s.handshakes.get(m.connId) ?? { role: 'initiator', state: 'awaiting-reply', first: m.type };
      s.handshakes.set(m.connId, view);
      const machine = HANDSHAKE[view.role];
      const state = machine.states[view.state];
      if (state === undefined) return null;
      const may = state.maySend.map((x) => (x === 'first' ? view.first : x === 'reply' ? REPLY_TO[view.first] : x));
      if (!may.includes(m.type))
        return (
          `${m.type} from the ${view.role} of a connection begun with ${view.first}, in state ${view.state} ` +
          `of ${machine.machine} (${state.says}); no row sends ${m.type} there, only ${may.join(' or ')}`
        );
      if (m.type === 'Data') view.state = 'established';
      return null;
    },
  },
  {
    id: 'at-most-six-transmissions',
    clause: 'retransmission.give-up',
    title: `A segment or first packet is sent at most ${MAX_TRANSMISSIONS} times`,
    check: (d, s) => {
      const t = transmitted(d);
      const seen = t === null ? undefined : s.copies.get(t.key);
      if (t === null || seen === undefined || seen.n < MAX_TRANSMISSIONS) return null;
      return (
        `transmission ${seen.n + 1} of ${t.what}; the ${MAX_TRANSMISSIONS}th was datagram #${seen.last.index} ` +
        `at ${seen.last.t.toFixed(0)} ms`
      );
    },
  },
  {
    id: 'resend-after-rto',
    clause: 'retransmission.backoff',
    title: 'A copy is resent no sooner than the smallest RTO the sender can have, doubled per earlier transmission',
    check: (d, s) => {
      const t = transmitted(d);
      const seen = t === null ? undefined : s.copies.get(t.key);
      if (t === null || seen === undefined) return null;
      const earliest = t.rtoMs * 2 ** (seen.n - 1);
      const gap = d.t - seen.last.t;
      if (gap >= earliest * (1 - RESEND_SLACK) - s.stallMs) return null;
      const early =
        `transmission ${seen.n + 1} of ${t.what} ${gap.toFixed(0)} ms after the previous one (datagram ` +
        `#${seen.last.index}); after ${seen.n} transmission(s) the RTO of at least ${t.rtoMs} ms allows it no ` +
        `sooner than ${earliest} ms (the tester's own stalls: up to ${s.stallMs.toFixed(0)} ms)`;
      // On a loaded machine one early copy can be the endpoint's own process starved: the earlier
      // transmission queued behind its timer leaves late, and the copy on time right after it. A
      // sender whose RTO or backoff is wrong sends them again and again: there the second counts.
      s.earlyCopies.push(`datagram #${d.index}, ${early}`);
      const allowed = s.stallMs >= LOADED_STALL_MS ? 1 : 0;
      if (s.earlyCopies.length <= allowed) return null;
      return s.earlyCopies.length === 1 ? early : `${early}; the first too early was ${s.earlyCopies[0]}`;
    },
  },
  {
    id: 'one-ping-per-offset',
    clause: 'stream.one-empty-segment',
    title: 'No second PING at an offset while the first is unacknowledged and its RTO has not expired',
    check: (d, s) => {
      const m = d.decoded;
      const seg = m?.payload?.stream;
      // Replies are left out: one answering a repeated first packet carries its PING again.
      if (
        m === null ||
        m.type !== 'Data' ||
        seg === null ||
        seg === undefined ||
        seg.data.length > 0 ||
        m.payload?.isClose
      )
        return null;
      const key = `${m.connId}/${segmentKey(seg.streamId, seg.offset, 0)}`;
      const earlier = s.pings.get(key);
      s.pings.set(key, { ping: d, ackedAt: null });
      if (earlier === undefined || (earlier.ackedAt !== null && d.t - earlier.ackedAt >= ACK_HEARD_MS + s.stallMs))
        return null;
      const first = earlier.ping;
      if (d.t - first.t >= MIN_RTO_MS * (1 - RESEND_SLACK) - s.stallMs) return null;
      const acked =
        earlier.ackedAt === null
          ? 'unacknowledged'
          : `acknowledged by the tester only ${(d.t - earlier.ackedAt).toFixed(1)} ms before (too soon for the ` +
            `endpoint to have heard it)`;
      return (
        `a second PING of stream ${seg.streamId} at ${seg.offset} ${(d.t - first.t).toFixed(0)} ms after the ` +
        `first (datagram #${first.index}), which is ${acked}, and whose RTO (at least ${MIN_RTO_MS} ms) has not ` +
        `expired: an ACK could not tell the two apart`
      );
    },
  },
  {
    id: 'ack-names-a-sent-segment',
    clause: 'ack.segment',
    title: 'An ACK names a segment the peer sent: its stream, offset and length',
    check: (d, s) => {
      const ack = d.decoded?.payload?.ack;
      if (ack === null || ack === undefined || d.decoded === null) return null;
      if (s.sent.get(d.decoded.connId)?.has(segmentKey(ack.streamId, ack.offset, ack.length))) return null;
      return (
        `an ACK of stream ${ack.streamId}, offset ${ack.offset}, length ${ack.length}, a segment the tester ` +
        `never sent on this connection`
      );
    },
  },
  {
    id: 'window-at-most-capacity',
    clause: 'flow.window-advertised',
    title: 'No ACK advertises more than the receive buffer capacity',
    check: (d) => {
      const ack = d.decoded?.payload?.ack;
      return ack !== null && ack !== undefined && ack.window > CAPACITY
        ? `an ACK advertising a window of ${ack.window} bytes, more than the receive buffer capacity of ${CAPACITY}`
        : null;
    },
  },
  {
    id: 'nothing-past-own-close',
    clause: 'close.answer',
    title:
      'Once a sender closed its direction of a stream, it sends no data past the close offset and no CLOSE at another',
    check: (d, s) => {
      const m = d.decoded;
      const seg = m?.payload?.stream;
      if (m === null || seg === null || seg === undefined) return null;
      const key = `${m.connId}/${seg.streamId}`;
      const end = seg.offset + seg.data.length;
      const closed = s.closedAt.get(key);
      if (closed !== undefined) {
        const at = `its CLOSE of stream ${seg.streamId} at ${closed.offset} (datagram #${closed.datagram.index})`;
        if (m.payload?.isClose && end !== closed.offset)
          return `a CLOSE of stream ${seg.streamId} at ${end} after ${at}: the end moved`;
        if (end > closed.offset) return `data of stream ${seg.streamId} up to offset ${end} after ${at}`;
      } else if (m.payload?.isClose) s.closedAt.set(key, { offset: end, datagram: d });
      return null;
    },
  },
];

/**
 * What the tester sent: every segment of its own packets, an InitSnd as the empty segment (0, 0)
 * it counts as; and the handshake step it makes for the endpoint: a first packet begins a
 * connection whose responder is the endpoint, a reply or Data moves the endpoint's machine on.
 */
function noteSent(d: Datagram, state: MonitorState): void {
  const m = d.decoded;
  if (m === null) return;
  const segments = state.sent.get(m.connId) ?? new Set<string>();
  state.sent.set(m.connId, segments);
  if (m.type === 'InitSnd') segments.add(segmentKey(0, 0, 0));
  const s = m.payload?.stream;
  if (s !== null && s !== undefined) segments.add(segmentKey(s.streamId, s.offset, s.data.length));
  const ack = m.payload?.ack;
  const ping =
    ack !== null && ack !== undefined && ack.length === 0
      ? state.pings.get(`${m.connId}/${segmentKey(ack.streamId, ack.offset, 0)}`)
      : undefined;
  if (ping !== undefined) ping.ackedAt ??= d.t;
  const view = state.handshakes.get(m.connId);
  if (view === undefined) {
    if (isFirstPacket(m.type)) state.handshakes.set(m.connId, { role: 'responder', state: 'replying', first: m.type });
  } else if (view.role === 'initiator' && view.state === 'awaiting-reply' && sentBy(m.type) === 'responder')
    view.state = 'reply-sent';
  else if (view.role === 'responder' && view.state === 'replying' && m.type === 'Data') view.state = 'data-sent';
}

/** Counts a transmission of the endpoint's, after the rules judged it. */
function noteTransmission(d: Datagram, state: MonitorState): void {
  const t = transmitted(d);
  if (t === null) return;
  state.copies.set(t.key, { n: (state.copies.get(t.key)?.n ?? 0) + 1, last: d });
}

/** The first violation in a case's timeline, in the order the datagrams came; null when none. */
export function monitor(timeline: readonly Datagram[], mtu: number, stallMs = 0): Violation | null {
  const state: MonitorState = {
    mtu,
    stallMs,
    used: new Map(),
    sent: new Map(),
    closedAt: new Map(),
    copies: new Map(),
    earlyCopies: [],
    handshakes: new Map(),
    ephemeral: new Map(),
    sealedOnce: new Set(),
    pings: new Map(),
  };
  for (const d of timeline) {
    if (d.direction === 'out') {
      noteSent(d, state);
      continue;
    }
    for (const rule of MONITOR_RULES) {
      const message = rule.check(d, state);
      if (message !== null) return { rule: rule.id, clause: rule.clause, datagram: d, message };
    }
    noteTransmission(d, state);
  }
  return null;
}

/** A violation in a line: the rule, the datagram and what it broke. */
export const explainViolation = (v: Violation): string =>
  `monitor (${v.rule}): datagram #${v.datagram.index} at ${v.datagram.t.toFixed(0)} ` +
  `ms, ${describe(v.datagram)}: ${v.message}`;
