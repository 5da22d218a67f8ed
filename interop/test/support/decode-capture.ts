// Decodes captured datagrams with the reference implementation and the secrets of a key
// log: a live check that what an endpoint puts on the wire is what the spec says.
import { constant, headerSize, type MessageName } from '@qotp/spec';
import { decodeInitSnd, decodePayload, messageTypeOf, openPacket, readUint, readUint64 } from '@qotp/reference';

export interface KeyLog {
  secrets: Map<bigint, Uint8Array>;
  identitySecrets: Map<bigint, Uint8Array>;
}

/** Parses QOTP_SHARED_SECRET and QOTP_SHARED_SECRET_ID lines (connection id in hex, as qotp prints it). */
export function parseKeyLog(text: string): KeyLog {
  const log: KeyLog = { secrets: new Map(), identitySecrets: new Map() };
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

/**
 * Decodes every datagram: its crypto layer with the logged secrets and its payload.
 * `senderIsInitiator` says which role sent these datagrams (for the nonce direction bit).
 */
export function decodeCaptured(datagrams: Uint8Array[], keys: KeyLog, senderIsInitiator: boolean): DecodeReport {
  const report: DecodeReport = { decoded: 0, types: {}, payloads: [], failures: [] };
  for (const [i, d] of datagrams.entries()) {
    try {
      const type = messageTypeOf(d);
      report.types[type] = (report.types[type] ?? 0) + 1;
      if (type === 'InitSnd') {
        decodeInitSnd(d, constant('DefaultMtu'));
        report.decoded++;
        continue;
      }
      // InitCryptoSnd carries no connection id: it is the first 8 bytes of the ephemeral key.
      const connId = readUint64(d, 1);
      const secret = type === 'InitCryptoSnd' ? keys.identitySecrets.get(connId) : keys.secrets.get(connId);
      if (secret === undefined) throw new Error(`no logged secret for ${type} of connection ${connId.toString(16)}`);
      const sealedByInitiator = type === 'Data' ? senderIsInitiator : type === 'InitCryptoSnd';
      let { payload } = openPacket(d, headerSize(type), { secret, epoch: 0, sealedByInitiator });
      if (type === 'InitCryptoSnd') payload = payload.subarray(constant('MsgInitFillLenSize') + readUint(payload, 0, 16));
      decodePayload(payload);
      report.payloads.push(payload);
      report.decoded++;
    } catch (e) {
      report.failures.push(`datagram ${i} (${d.length} bytes): ${(e as Error).message}`);
    }
  }
  return report;
}
