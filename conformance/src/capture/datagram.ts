// One datagram as the tester or a relay saw it: when, which way, the bytes, and what they
// decoded to. The same records feed the checks, the monitor, the HTML timeline, the JSON
// report, the pcap and the text timelines of failures, each described one way.
import type { Diagnosis } from './diagnose.js';
import type { MessageName } from '@qotp/spec';
import type { Payload } from '@qotp/reference';

export interface Decoded {
  type: MessageName;
  connId: bigint;
  /** null for InitSnd, which carries no sequence number. */
  sn: number | null;
  epoch: number | null;
  /** null for InitSnd. */
  payload: Payload | null;
  /** The payload's header byte as sent (version, type, offset width), null without payload. */
  payloadHeader: number | null;
  fillerLength?: number;
}

export interface Datagram {
  /** Position in the case's timeline. */
  index: number;
  /** Milliseconds since the case started. */
  t: number;
  /** 'out': tester to endpoint; 'in': endpoint to tester. */
  direction: 'out' | 'in';
  from: string;
  to: string;
  bytes: Uint8Array;
  /** What the tester meant by sending it (for 'out'), e.g. "InitSnd one byte short". */
  note: string | null;
  decoded: Decoded | null;
  /** Why an incoming datagram did not decode. */
  error: string | null;
  /** For one that did not decode: the known mistake under which it does, if any. */
  diagnosis?: Diagnosis;
}

const short = (connId: bigint) => connId.toString(16).padStart(16, '0').slice(0, 8);

/** One line of what a payload says, e.g. "ACK s0 o0 l5 w128k | DATA s0 o5 12 B". */
export function describePayload(p: Payload): string {
  const parts: string[] = [];
  if (p.ack !== null) parts.push(`ACK s${p.ack.streamId} o${p.ack.offset} l${p.ack.length} w${p.ack.window}`);
  if (p.stream !== null) {
    const kind = p.isClose ? 'CLOSE' : p.stream.data.length === 0 ? 'PING' : 'DATA';
    parts.push(`${kind} s${p.stream.streamId} o${p.stream.offset} ${p.stream.data.length} B`);
  } else if (p.isClose) parts.push('CLOSE (no stream section)');
  return parts.join(' | ') || 'empty';
}

export function describe(d: Datagram): string {
  if (d.decoded === null) return `${d.bytes.length} B${d.error ? ` undecodable: ${d.error}` : ''}`;
  const m = d.decoded;
  const sn = m.sn === null ? '' : ` sn ${m.sn}`;
  const payload = m.payload === null ? '' : `: ${describePayload(m.payload)}`;
  return `${m.type} conn ${short(m.connId)}${sn} ${d.bytes.length} B${payload}`;
}

/** One line of a text timeline: "   12.5 ms  client -> server  [lost]  Data conn 1a2b3c4d sn 3 60 B: ...". */
export function describeRecord(d: Datagram): string {
  const note = d.note === null ? '' : `[${d.note}]  `;
  return `${d.t.toFixed(1).padStart(9)} ms  ${d.from} -> ${d.to}  ${note}${describe(d)}`;
}
