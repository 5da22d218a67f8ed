// Seal and open rates of one Data packet: the reference on each crypto backend, and the
// raw ChaCha20-Poly1305 of node:crypto on the same plaintext as the ceiling (no header,
// no SN mask, no nonce building: what the AEAD alone costs).
import { decodeData, encodeData, nobleBackend, setCryptoBackend, type CryptoBackend } from '@qotp/reference';
import { nodeCryptoBackend } from '@qotp/reference/node';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constant, headerSize } from '@qotp/spec';
import { rate, summarize, type Summary } from './measure.js';

/** Header (type and connection id), masked SN and tag around the payload of a Data packet. */
const DATA_OVERHEAD = headerSize('Data') + constant('FooterDataSize');

export interface SealOpenRow {
  implementation: string;
  seal: Summary;
  open: Summary;
}

export interface SealOpenOptions {
  packetSize: number;
  ms: number;
  repeats: number;
}

/** Seal and open rates, `o.repeats` runs of `o.ms` each, taking turns. */
function measuredRow(
  implementation: string,
  o: SealOpenOptions,
  seal: (i: number) => unknown,
  open: (i: number) => unknown,
): SealOpenRow {
  const sealRuns: number[] = [];
  const openRuns: number[] = [];
  for (let i = 0; i < o.repeats; i++) {
    sealRuns.push(rate(o.ms, seal));
    openRuns.push(rate(o.ms, open));
  }
  return { implementation, seal: summarize(sealRuns), open: summarize(openRuns) };
}

function backendRow(backend: CryptoBackend, o: SealOpenOptions): SealOpenRow {
  setCryptoBackend(backend);
  const secret = new Uint8Array(randomBytes(32));
  const payload = new Uint8Array(randomBytes(o.packetSize - DATA_OVERHEAD));
  const seal = (sn: number) =>
    encodeData({ connId: 0x1122334455667788n, secret, sn, epoch: 0, sealedByInitiator: true, payload });
  const packet = seal(1);
  if (packet.length !== o.packetSize)
    throw new Error(`a Data packet came out ${packet.length} bytes, expected ${o.packetSize}`);
  const row = measuredRow(`reference (${backend.name})`, o, seal, () => decodeData(packet, secret, 0, true));
  setCryptoBackend(nobleBackend);
  return row;
}

function rawAeadRow(o: SealOpenOptions): SealOpenRow {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = randomBytes(9);
  const plaintext = randomBytes(o.packetSize - DATA_OVERHEAD);
  const seal = () => {
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: plaintext.length });
    return [c.update(plaintext), c.final(), c.getAuthTag()] as const;
  };
  const [ciphertext, , tag] = seal();
  const open = () => {
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    d.setAuthTag(tag);
    d.setAAD(aad, { plaintextLength: ciphertext.length });
    d.update(ciphertext);
    d.final();
  };
  return measuredRow('node:crypto AEAD only (ceiling)', o, seal, open);
}

export function sealOpenRows(o: SealOpenOptions): SealOpenRow[] {
  return [backendRow(nobleBackend, o), backendRow(nodeCryptoBackend, o), rawAeadRow(o)];
}
