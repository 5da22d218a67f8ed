// The protocol monitor: rules that hold for every datagram an endpoint sends, whatever a case
// is about. After each case it reads the case's whole timeline (both directions, decoded where
// the tester holds the keys) and reports the first datagram that breaks one, under the rule's
// clause. Written from the spec's clauses, not from the reference's code.
import { constant } from '@qotp/spec';
import type { Datagram } from './peer/datagram.js';

const CAPACITY = constant('ReceiveBufferCapacity');

export interface Violation {
  rule: string;
  clause: string;
  datagram: Datagram;
  message: string;
}

interface MonitorState {
  mtu: number;
  /** Sequence numbers the endpoint used, per connection and epoch, with where each was first seen. */
  used: Map<string, Datagram>;
  /** Segments the tester sent, per connection: "stream/offset/length". */
  sent: Map<bigint, Set<string>>;
  /** Where the endpoint's own direction of a stream ends, once it sent a CLOSE: per "connection/stream". */
  closedAt: Map<string, { offset: number; datagram: Datagram }>;
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

export const MONITOR_RULES: MonitorRule[] = [
  {
    id: 'datagram-within-mtu',
    clause: 'payload.max-data',
    title: "No datagram exceeds the sender's MTU",
    check: (d, s) => (d.bytes.length > s.mtu ? `a datagram of ${d.bytes.length} bytes, more than the declared MTU of ${s.mtu}` : null),
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
      if (first !== undefined) return `sequence number ${m.sn} (epoch ${m.epoch ?? 0}) again, first used by datagram #${first.index} at ${first.t.toFixed(0)} ms: a nonce used twice under one key`;
      s.used.set(key, d);
      return null;
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
      return `an ACK of stream ${ack.streamId}, offset ${ack.offset}, length ${ack.length}, a segment the tester never sent on this connection`;
    },
  },
  {
    id: 'window-at-most-capacity',
    clause: 'flow.window-advertised',
    title: 'No ACK advertises more than the receive buffer capacity',
    check: (d) => {
      const ack = d.decoded?.payload?.ack;
      return ack !== null && ack !== undefined && ack.window > CAPACITY ? `an ACK advertising a window of ${ack.window} bytes, more than the receive buffer capacity of ${CAPACITY}` : null;
    },
  },
  {
    id: 'nothing-past-own-close',
    clause: 'close.answer',
    title: 'Once a sender closed its direction of a stream, it sends no data past the close offset and no CLOSE at another',
    check: (d, s) => {
      const m = d.decoded;
      const seg = m?.payload?.stream;
      if (m === null || seg === null || seg === undefined) return null;
      const key = `${m.connId}/${seg.streamId}`;
      const end = seg.offset + seg.data.length;
      const closed = s.closedAt.get(key);
      if (closed !== undefined) {
        const at = `its CLOSE of stream ${seg.streamId} at ${closed.offset} (datagram #${closed.datagram.index})`;
        if (m.payload?.isClose && end !== closed.offset) return `a CLOSE of stream ${seg.streamId} at ${end} after ${at}: the end moved`;
        if (end > closed.offset) return `data of stream ${seg.streamId} up to offset ${end} after ${at}`;
      } else if (m.payload?.isClose) s.closedAt.set(key, { offset: end, datagram: d });
      return null;
    },
  },
];

/** What the tester sent: every segment of its own packets, and an InitSnd as the empty segment (0, 0) it counts as. */
function noteSent(d: Datagram, sent: MonitorState['sent']): void {
  const m = d.decoded;
  if (m === null) return;
  const segments = sent.get(m.connId) ?? new Set<string>();
  sent.set(m.connId, segments);
  if (m.type === 'InitSnd') segments.add(segmentKey(0, 0, 0));
  const s = m.payload?.stream;
  if (s !== null && s !== undefined) segments.add(segmentKey(s.streamId, s.offset, s.data.length));
}

/** The first violation in a case's timeline, in the order the datagrams came; null when none. */
export function monitor(timeline: readonly Datagram[], mtu: number): Violation | null {
  const state: MonitorState = { mtu, used: new Map(), sent: new Map(), closedAt: new Map() };
  for (const d of timeline) {
    if (d.direction === 'out') {
      noteSent(d, state.sent);
      continue;
    }
    for (const rule of MONITOR_RULES) {
      const message = rule.check(d, state);
      if (message !== null) return { rule: rule.id, clause: rule.clause, datagram: d, message };
    }
  }
  return null;
}
