// A reference client with one deliberate defect, for the client-role cases: the unmodified
// reference CLI client talks to the tester through a relay that puts the defect in, as
// defective-endpoint.ts does for servers.
//
//   node --import tsx defective-client.ts --defect NAME|none --peer HOST:PORT --input FILE [--pubkey HEX]
//   exits with the reference client's status
//
// What each defect does, and which case must fail under which clause: planted-defects.ts.
import { constant, fieldOffset, headerSize } from '@qotp/spec';
import { decodePayload, headerByte, messageTypeOf, openPacket, readUint64 } from '@qotp/reference';
import { parseHostPort } from '@qotp/reference/node';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isType } from './message-type.js';
import { CLIENT_DEFECTS, type ClientDefect } from './planted-defects.js';

const cli = fileURLToPath(new URL('../../../reference/dist/cli.js', import.meta.url));
const DATA_HEADER = headerSize('Data');
const RTO_MS = constant('DefaultRto') / 1e6;
/** Where the two public keys of a first packet end (InitSnd and InitCryptoSnd alike). */
const KEYS_END = fieldOffset('InitSnd', 'pubKeyIdSnd') + 32;

const { values } = parseArgs({
  options: {
    defect: { type: 'string' },
    peer: { type: 'string' },
    input: { type: 'string' },
    pubkey: { type: 'string' },
  },
});
const defect = values.defect as ClientDefect | 'none';
if (defect !== 'none' && !CLIENT_DEFECTS.includes(defect))
  throw new Error(`unknown client defect '${values.defect}'; one of ${CLIENT_DEFECTS.join(', ')}`);
if (values.peer === undefined || values.input === undefined) throw new Error('give --peer HOST:PORT and --input FILE');
const peer = parseHostPort(values.peer);

// The client's secrets, from the key log it writes once a reply authenticated.
const keyLog = join(mkdtempSync(join(tmpdir(), 'qotp-defective-client-')), 'keylog');
function secretOf(connId: bigint): Uint8Array | null {
  if (!existsSync(keyLog)) return null;
  const line = readFileSync(keyLog, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`QOTP_SHARED_SECRET ${connId.toString(16)} `));
  return line === undefined ? null : new Uint8Array(Buffer.from(line.split(' ')[2] as string, 'hex'));
}

/** The payload of a Data packet of the client's, or null. */
function clientPayload(bytes: Uint8Array): ReturnType<typeof decodePayload> | null {
  try {
    if (!isType(bytes, 'Data')) return null;
    const secret = secretOf(readUint64(bytes, 1));
    if (secret === null) return null;
    return decodePayload(openPacket(bytes, DATA_HEADER, { secret, epoch: 0, sealedByInitiator: true }).payload);
  } catch {
    return null;
  }
}

const isInitSnd = (bytes: Uint8Array): boolean => isType(bytes, 'InitSnd');

/** What goes to the tester instead of a datagram of the client's: none, one or more, each after a delay (ms). */
function toTester(bytes: Uint8Array): [Uint8Array, number][] {
  switch (defect) {
    case 'none':
      return [[bytes, 0]];
    case 'init-snd-short':
      return [[isInitSnd(bytes) ? bytes.subarray(0, bytes.length - 1) : bytes, 0]];
    case 'init-snd-padding-not-zero': {
      if (!isInitSnd(bytes)) return [[bytes, 0]];
      const out = bytes.slice();
      out[out.length - 1] = 0x01;
      return [[out, 0]];
    }
    case 'init-snd-resent-early':
      // Each InitSnd goes again a quarter of an RTO later: a client whose first RTO is a quarter of
      // the default (far enough below it that a loaded machine's delays do not hide it).
      return isInitSnd(bytes)
        ? [
            [bytes, 0],
            [bytes, RTO_MS / 4],
          ]
        : [[bytes, 0]];
    case 'client-close-dropped':
      return clientPayload(bytes)?.isClose === true ? [] : [[bytes, 0]];
    case 'client-waits-after-reply':
      // Until the tester sent it data, nothing of the client's with a stream section: no PING, no resend.
      return !testerSentData && (clientPayload(bytes)?.stream ?? null) !== null ? [] : [[bytes, 0]];
    case 'init-snd-beside-0rtt': {
      if (!isType(bytes, 'InitCryptoSnd')) return [[bytes, 0]];
      // An InitSnd with the InitCryptoSnd's two keys, zero padding to the same size.
      const initSnd = new Uint8Array(bytes.length);
      initSnd[0] = headerByte('InitSnd');
      initSnd.set(bytes.subarray(1, KEYS_END), 1);
      return [
        [bytes, 0],
        [initSnd, 0],
      ];
    }
    case 'later-reply-ignored':
      return [[bytes, 0]];
  }
}

/**
 * Whether a datagram of the tester's carries stream data: a reply or Data packet that opens with the client's secret.
 */
function carriesData(bytes: Uint8Array): boolean {
  try {
    if (!isType(bytes, 'InitRcv', 'InitCryptoRcv', 'Data')) return false;
    const secret = secretOf(readUint64(bytes, 1));
    if (secret === null) return false;
    const payload = openPacket(bytes, headerSize(messageTypeOf(bytes)), {
      secret,
      epoch: 0,
      sealedByInitiator: false,
    }).payload;
    return payload.length > 0 && (decodePayload(payload).stream?.data.length ?? 0) > 0;
  } catch {
    return false;
  }
}
let testerSentData = false;

/** Whether a datagram of the tester's reaches the client. */
function toClient(bytes: Uint8Array): boolean {
  testerSentData ||= carriesData(bytes);
  if (defect !== 'later-reply-ignored' || !isType(bytes, 'InitRcv', 'InitCryptoRcv')) return true;
  if (replied) return false; // a reply after the first: ignored
  replied = true;
  return true;
}
let replied = false;

const relay = createSocket('udp4');
let client: ReturnType<typeof spawn> | null = null;
let clientAddress: { port: number; address: string } | null = null;
relay.on('message', (m, from) => {
  const bytes = new Uint8Array(m);
  if (from.port === peer.port && from.address === peer.host) {
    if (clientAddress !== null && toClient(bytes)) relay.send(bytes, clientAddress.port, clientAddress.address);
    return;
  }
  clientAddress = { port: from.port, address: from.address };
  for (const [out, delay] of toTester(bytes)) {
    if (delay === 0) relay.send(out, peer.port, peer.host);
    else setTimeout(() => relay.send(out, peer.port, peer.host), delay).unref();
  }
});
relay.bind(0, '127.0.0.1', () => {
  const args = [
    cli,
    'connect',
    '--to',
    `127.0.0.1:${relay.address().port}`,
    '--file',
    values.input as string,
    '--keylog',
    keyLog,
    '--timeout',
    '15',
  ];
  if (values.pubkey !== undefined) args.push('--pubkey', values.pubkey);
  client = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  client.on('exit', (code) => process.exit(code ?? 1));
});
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => {
    client?.kill('SIGKILL');
    process.exit(1);
  });
