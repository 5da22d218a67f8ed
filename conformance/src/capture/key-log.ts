// Key logs in the Go original's format (clause keylog.format): QOTP_SHARED_SECRET and
// QOTP_SHARED_SECRET_ID lines, connection id in hex as qotp prints it. The tester writes them
// for its own connections and reads them back, with the endpoint's, to open captures.
import { connIdOf, publicKeyOf } from '@qotp/reference';
import { randomBytes } from 'node:crypto';

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

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The lines of one connection's secrets. */
export function keyLogLines(connId: bigint, secret: Uint8Array | null, identitySecret: Uint8Array | null): string[] {
  const lines: string[] = [];
  if (secret !== null) lines.push(`QOTP_SHARED_SECRET ${connId.toString(16)} ${hex(secret)}`);
  if (identitySecret !== null) lines.push(`QOTP_SHARED_SECRET_ID ${connId.toString(16)} ${hex(identitySecret)}`);
  return lines;
}

/** A key log file's text: each line once, in the order first seen. */
export const keyLogText = (lines: Iterable<string>): string => [...new Set(lines)].map((l) => `${l}\n`).join('');

/** Reads the secret lines of a key log; anything else in it is ignored. */
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

/**
 * What a reference socket knows of its connections' keys, for reading a relay's record: its
 * key log lines (pass `add` as the socket's keyLog) and the ephemeral keys it drew (pass
 * `randomBytes`), with which a reply that never reached it still opens.
 */
export class KeyCollector {
  readonly lines: string[] = [];
  private readonly ephemeral: Uint8Array[] = [];
  readonly add = (line: string): void => void this.lines.push(line);
  readonly randomBytes = (n: number): Uint8Array => {
    const bytes = new Uint8Array(randomBytes(n));
    if (n === 32) this.ephemeral.push(bytes);
    return bytes;
  };
  text = (): string => keyLogText(this.lines);
  keys = (): KeyLog => {
    const log = parseKeyLog(this.text());
    for (const k of this.ephemeral) log.ephemeralKeys.set(connIdOf(publicKeyOf(k)), k);
    return log;
  };
}
