// Decodes captured datagrams with the reference implementation and the secrets of a key
// log: a live check that what an endpoint puts on the wire is what the spec says, and the
// decoded timeline of a failing run.
import { constant, headerSize, type MessageName } from '@qotp/spec';
import type { Datagram, Decoded } from '../peer/datagram.js';
import {
  decodeInitCryptoRcv,
  decodeInitRcv,
  decodeInitSnd,
  decodePayload,
  messageTypeOf,
  openPacket,
  readUint,
  readUint64,
} from '@qotp/reference';

export interface KeyLog {
  secrets: Map<bigint, Uint8Array>;
  identitySecrets: Map<bigint, Uint8Array>;
  /**
   * Initiators' ephemeral private keys by connection id: with one, a reply opens even when
   * it never reached the initiator (so no secret was logged), which is how a lost reply is
   * told apart from one that would not have authenticated. Only the tester's own reference
   * peers offer them; a key log file has none.
   */
  ephemeralKeys: Map<bigint, Uint8Array>;
}

/** Opening failed for want of a secret, not because the datagram failed to authenticate. */
export class NoSecret extends Error {
  override readonly name = 'NoSecret';
}

/** Parses QOTP_SHARED_SECRET and QOTP_SHARED_SECRET_ID lines (connection id in hex, as qotp prints it). */
export function parseKeyLog(text: string): KeyLog {
  const log: KeyLog = { secrets: new Map(), identitySecrets: new Map(), ephemeralKeys: new Map() };
  for (const line of text.split('\n')) {
    const m = /^(QOTP_SHARED_SECRET(?:_ID)?) ([0-9a-f]+) ([0-9a-f]{64})$/.exec(line.trim());
    if (!m) continue;
    const map = m[1] === 'QOTP_SHARED_SECRET' ? log.secrets : log.identitySecrets;
    map.set(BigInt(`0x${m[2]}`), new Uint8Array(Buffer.from(m[3] as string, 'hex')));
  }
  return log;
}

export interface DecodeReport {
  decoded: number;
  types: Partial<Record<MessageName, number>>;
  /** The decrypted payloads (InitSnd has none), for checks of the payload layer. */
  payloads: Uint8Array[];
  failures: string[];
}

/** One datagram opened with the logged secrets: its type, sequence number and payload (null for InitSnd). */
export function openCaptured(
  d: Uint8Array,
  keys: KeyLog,
  senderIsInitiator: boolean,
): { type: MessageName; sn: number | null; payload: Uint8Array | null } {
  const type = messageTypeOf(d);
  if (type === 'InitSnd') {
    decodeInitSnd(d, constant('DefaultMtu'));
    return { type, sn: null, payload: null };
  }
  // InitCryptoSnd carries no connection id: it is the first 8 bytes of the ephemeral key.
  const connId = readUint64(d, 1);
  const secret = type === 'InitCryptoSnd' ? keys.identitySecrets.get(connId) : keys.secrets.get(connId);
  const ephemeral = keys.ephemeralKeys.get(connId);
  if (secret === undefined && ephemeral !== undefined && (type === 'InitRcv' || type === 'InitCryptoRcv')) {
    const opened = (type === 'InitRcv' ? decodeInitRcv : decodeInitCryptoRcv)(d, ephemeral);
    return { type, sn: opened.sn, payload: opened.payload };
  }
  if (secret === undefined) throw new NoSecret(`no logged secret for ${type} of connection ${connId.toString(16)}`);
  const sealedByInitiator = type === 'Data' ? senderIsInitiator : type === 'InitCryptoSnd';
  const opened = openPacket(d, headerSize(type), { secret, epoch: 0, sealedByInitiator });
  let payload = opened.payload;
  if (type === 'InitCryptoSnd') payload = payload.subarray(constant('MsgInitFillLenSize') + readUint(payload, 0, 16));
  return { type, sn: opened.sn, payload };
}

/**
 * Decodes every datagram: its crypto layer with the logged secrets and its payload.
 * `senderIsInitiator` says which role sent these datagrams (for the nonce direction bit).
 */
export function decodeCaptured(datagrams: Uint8Array[], keys: KeyLog, senderIsInitiator: boolean): DecodeReport {
  const report: DecodeReport = { decoded: 0, types: {}, payloads: [], failures: [] };
  for (const [i, d] of datagrams.entries()) {
    try {
      const { type, payload } = openCaptured(d, keys, senderIsInitiator);
      report.types[type] = (report.types[type] ?? 0) + 1;
      if (payload !== null) {
        decodePayload(payload);
        report.payloads.push(payload);
      }
      report.decoded++;
    } catch (e) {
      report.failures.push(`datagram ${i} (${d.length} bytes): ${(e as Error).message}`);
    }
  }
  return report;
}

export interface TimedDatagram {
  fromClient: boolean;
  data: Uint8Array;
  /** ms */
  t: number;
  /** What a relay did with it ('sent' is not shown). */
  fate?: string;
}

/** One line: what a datagram carried, decoded as far as the key log allows. */
function describe(d: TimedDatagram, keys: KeyLog): string {
  const fate = d.fate === undefined || d.fate === 'sent' ? '' : `[${d.fate}]  `;
  const head = `${d.t.toFixed(1).padStart(9)} ms  ${d.fromClient ? 'client -> server' : 'server -> client'}  ${String(d.data.length).padStart(4)} B  ${fate}`;
  try {
    const { type, sn, payload } = openCaptured(d.data, keys, d.fromClient);
    const parts = [type, sn === null ? '' : `sn ${sn}`];
    if (payload !== null) {
      const p = decodePayload(payload);
      if (p.ack) parts.push(`ACK s${p.ack.streamId} ${p.ack.offset}+${p.ack.length} window ${p.ack.window}`);
      if (p.stream)
        parts.push(
          `${p.stream.data.length === 0 && !p.isClose ? 'PING' : 'DATA'} s${p.stream.streamId} ${p.stream.offset}+${p.stream.data.length}`,
        );
      if (p.isClose) parts.push('CLOSE');
    }
    return head + parts.filter(Boolean).join('  ');
  } catch (e) {
    return `${head}undecodable: ${(e as Error).message}`;
  }
}

/**
 * A relay's record as a timeline the protocol monitor reads: the endpoint's datagrams 'in', the
 * other side's 'out', each decoded as far as the keys allow (undecodable ones keep their error).
 * The record holds every datagram as the relay received it, before its impairment: what the
 * endpoint sent, not what reached the other side.
 */
export function recordTimeline(
  datagrams: TimedDatagram[],
  keys: KeyLog,
  endpointIsClient: boolean,
  ends: [client: string, server: string],
): Datagram[] {
  return datagrams.map((d, index): Datagram => {
    const fromEndpoint = d.fromClient === endpointIsClient;
    const [from, to] = d.fromClient ? ends : [ends[1], ends[0]];
    const at = {
      index,
      t: d.t,
      direction: fromEndpoint ? 'in' : 'out',
      from,
      to,
      bytes: d.data,
      note: d.fate === undefined || d.fate === 'sent' ? null : d.fate,
    } as const;
    try {
      const { type, sn, payload } = openCaptured(d.data, keys, d.fromClient);
      const decoded: Decoded = {
        type,
        connId: readUint64(d.data, 1),
        sn,
        epoch: 0,
        payload: payload === null ? null : decodePayload(payload),
        payloadHeader: payload?.[0] ?? null,
      };
      return { ...at, decoded, error: null };
    } catch (e) {
      return { ...at, decoded: null, error: (e as Error).message };
    }
  });
}

/**
 * The decoded packet timeline of both directions, for a failing case: all of it when
 * short, else the first and the last `edge` datagrams (where a stall shows).
 */
export function timeline(datagrams: TimedDatagram[], keys: KeyLog, edge = 40): string {
  const lines = datagrams.map((d) => describe(d, keys));
  if (lines.length <= 2 * edge) return lines.join('\n');
  return [
    ...lines.slice(0, edge),
    `   ... ${lines.length - 2 * edge} datagrams left out ...`,
    ...lines.slice(-edge),
  ].join('\n');
}
