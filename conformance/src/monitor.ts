// The protocol monitor: rules that hold for every datagram an endpoint sends, whatever a case
// is about. After each case it reads the case's whole timeline (both directions, decoded where
// the tester holds the keys) and reports the first datagram that breaks one, under the rule's
// clause. Written from the spec's clauses, not from the reference's code.
import type { Datagram } from './peer/datagram.js';

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
      if (first === undefined) {
        s.used.set(key, d);
        return null;
      }
      return `sequence number ${m.sn} (epoch ${m.epoch ?? 0}) again, first used by datagram #${first.index} at ${first.t.toFixed(0)} ms: a nonce used twice under one key`;
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
  const state: MonitorState = { mtu, used: new Map(), sent: new Map() };
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
