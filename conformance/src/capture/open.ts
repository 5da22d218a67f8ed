// Opens captured datagrams with the reference implementation and the secrets of a key log:
// a live check that what an endpoint puts on the wire is what the spec says, the timeline the
// monitor judges of a relay's record, and the decoded timeline of a failing run.
import { constant, headerSize, messageTraits, sealedByInitiator, type MessageName } from '@qotp/spec';
import { describeRecord, type Datagram, type Decoded } from './datagram.js';
import type { KeyLog } from './key-log.js';
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

/** Opening failed for want of a secret, not because the datagram failed to authenticate. */
export class NoSecret extends Error {
  override readonly name = 'NoSecret';
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
  const traits = messageTraits(type);
  const secret = traits.identitySecret ? keys.identitySecrets.get(connId) : keys.secrets.get(connId);
  const ephemeral = keys.ephemeralKeys.get(connId);
  if (secret === undefined && ephemeral !== undefined && messageTraits(type).reply) {
    const opened = (type === 'InitRcv' ? decodeInitRcv : decodeInitCryptoRcv)(d, ephemeral);
    return { type, sn: opened.sn, payload: opened.payload };
  }
  if (secret === undefined) throw new NoSecret(`no logged secret for ${type} of connection ${connId.toString(16)}`);
  const opened = openPacket(d, headerSize(type), {
    secret,
    epoch: 0,
    sealedByInitiator: sealedByInitiator(type, senderIsInitiator),
  });
  let payload = opened.payload;
  if (traits.filler) payload = payload.subarray(constant('MsgInitFillLenSize') + readUint(payload, 0, 16));
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
  const lines = recordTimeline(datagrams, keys, false, ['client', 'server']).map(describeRecord);
  if (lines.length <= 2 * edge) return lines.join('\n');
  return [
    ...lines.slice(0, edge),
    `   ... ${lines.length - 2 * edge} datagrams left out ...`,
    ...lines.slice(-edge),
  ].join('\n');
}
