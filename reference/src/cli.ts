#!/usr/bin/env node
// qotp-ref: the reference endpoint on the command line. The same contract as the Go
// endpoint in interop/go/cmd/endpoint, so tests and the conformance runner launch both
// alike (see interop/README.md, "Endpoint command line").
//
//   qotp-ref serve   [--listen HOST:PORT] [--mode echo|sink] [identity] [--keylog FILE] [--mtu N]
//   qotp-ref connect --to HOST:PORT [--pubkey HEX] [--file FILE] [--streams N] [--mode echo|sink]
//                    [identity] [--keylog FILE] [--mtu N] [--timeout SECONDS]
//   identity: --seed-hex HEX64 | --seed STRING (random when absent)
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parsePublicKey, type IdentityOption } from './node/identity.js';
import { selectCryptoBackend } from './node/crypto-backend.js';
import { QotpSocket, type QotpStream } from './node/socket.js';

const USAGE = `usage:
  qotp-ref serve   [--listen HOST:PORT] [--mode echo|sink] [--seed-hex HEX | --seed STRING] [--keylog FILE] [--mtu N]
  qotp-ref connect --to HOST:PORT [--pubkey HEX] [--file FILE] [--streams N] [--mode echo|sink]
                   [--seed-hex HEX | --seed STRING] [--keylog FILE] [--mtu N] [--timeout SECONDS]
  both: [--crypto node|noble] (node:crypto when available, else @noble)

serve prints "qotp listening <address> <public key hex>" and serves until killed:
  echo: writes every stream's data back on the same stream and closes it when the peer does;
  sink: reads and discards, and prints "qotp stream <id> received <n> bytes sha256 <hex>" when the peer closes.
connect sends the file (stdin by default) on each of --streams streams (1):
  echo: reads the echo back, closes every stream once all echoes are back, and when the peer
        acknowledged or answered the CLOSE prints "qotp stream <id> echoed <n> bytes sha256 <hex> ok|MISMATCH"
        (and on stderr "qotp echo complete after <ms> ms" the moment the last echo is back);
  sink: closes after sending and prints "qotp stream <id> sent <n> bytes sha256 <hex>" once the CLOSE arrived.
  --pubkey starts 0-RTT with the server's identity key. Exit status 0 when every stream succeeded.`;

function fail(message: string): never {
  process.stderr.write(`qotp-ref: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

function identity(values: { 'seed-hex'?: string | undefined; seed?: string | undefined }): IdentityOption {
  if (values['seed-hex'] !== undefined && values.seed !== undefined) fail('give --seed-hex or --seed, not both');
  if (values['seed-hex'] !== undefined) return { seedHex: values['seed-hex'] };
  if (values.seed !== undefined) return { seedString: values.seed };
  return { random: true };
}

const keyLogWriter = (path: string | undefined) => (path === undefined ? undefined : (line: string) => appendFileSync(path, `${line}\n`));

function positiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer, got '${text}'`);
  return n;
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: 'string', default: '127.0.0.1:0' },
      mode: { type: 'string', default: 'echo' },
      'seed-hex': { type: 'string' },
      seed: { type: 'string' },
      keylog: { type: 'string' },
      mtu: { type: 'string' },
      crypto: { type: 'string' },
    },
  });
  if (values.mode !== 'echo' && values.mode !== 'sink') fail(`--mode must be echo or sink, got '${values.mode}'`);
  selectCryptoBackend(values.crypto);
  const keyLog = keyLogWriter(values.keylog);
  const socket = await QotpSocket.listen({
    listen: values.listen,
    identity: identity(values),
    ...(values.mtu !== undefined ? { mtu: positiveInt(values.mtu, 'mtu', 1400) } : {}),
    ...(keyLog ? { keyLog } : {}),
  });
  socket.on('connection', (conn) => {
    // A connection that ends other than by close() is worth a line: it explains a stalled peer.
    conn.on('close', (reason: string) => {
      if (reason !== 'closed') process.stderr.write(`qotp connection ${conn.id.toString(16)} closed: ${reason}\n`);
    });
    conn.on('stream', (stream: QotpStream) => {
      if (values.mode === 'echo') {
        stream.on('data', (chunk: Buffer) => stream.write(chunk));
        stream.on('end', () => stream.end());
      } else {
        const hash = createHash('sha256');
        let bytes = 0;
        stream.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
        });
        stream.on('end', () => {
          process.stdout.write(`qotp stream ${stream.id} received ${bytes} bytes sha256 ${hash.digest('hex')}\n`);
          stream.end();
        });
      }
      stream.on('error', () => {});
    });
  });
  process.stdout.write(`qotp listening ${socket.address} ${socket.publicKeyHex}\n`);
  const stop = () => void socket.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const CLOSE_LINGER_MS = 1000;

/**
 * Sends `input` on the stream and resolves true on success.
 * echo: the stream is closed once every stream's echo is complete (`allEchoed`), and it
 * succeeds when the echo is intact and the peer either acknowledged our CLOSE or closed
 * its side in answer; sink: when the peer acknowledged our CLOSE or answered it.
 * It waits for both (the stream is then closed in both directions and the peer's CLOSE
 * was acknowledged before the process ends), but after the first it waits at most
 * CLOSE_LINGER_MS for the second: the Go original v0.2.18 loses one or the other
 * (it drops pending ACKs when it cleans up a closed stream, and closing one stream while
 * others are busy can corrupt its stream bookkeeping; see the interop README).
 */
function runStream(stream: QotpStream, input: Buffer, mode: 'echo' | 'sink', allEchoed: Promise<void>, echoed: () => void): Promise<boolean> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = () => {
      if (settled || !stream.writableEnded) return;
      settled = true;
      if (mode === 'sink') {
        process.stdout.write(`qotp stream ${stream.id} sent ${input.length} bytes sha256 ${sha256(input)}\n`);
        resolve(true);
        return;
      }
      const echo = Buffer.concat(chunks);
      const ok = echo.equals(input);
      process.stdout.write(`qotp stream ${stream.id} echoed ${echo.length} bytes sha256 ${sha256(echo)} ${ok ? 'ok' : 'MISMATCH'}\n`);
      resolve(ok);
    };
    stream.on('error', (e) => {
      if (settled) return;
      settled = true;
      process.stdout.write(`qotp stream ${stream.id} failed: ${e.message}\n`);
      resolve(false);
    });
    let confirmations = 0;
    const confirmed = () => {
      if (++confirmations === 2) settle();
      else setTimeout(settle, CLOSE_LINGER_MS);
    };
    stream.on('end', confirmed);
    stream.on('closeAcknowledged', confirmed);
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received === input.length) echoed();
    });
    if (mode === 'sink') {
      stream.end(input);
      return;
    }
    stream.write(input);
    if (input.length === 0) echoed();
    // QOTP answers a CLOSE with its own: close only once the echo is back.
    void allEchoed.then(() => stream.end());
  });
}

async function connect(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: 'string' },
      pubkey: { type: 'string' },
      file: { type: 'string' },
      streams: { type: 'string' },
      mode: { type: 'string', default: 'echo' },
      'seed-hex': { type: 'string' },
      seed: { type: 'string' },
      keylog: { type: 'string' },
      mtu: { type: 'string' },
      timeout: { type: 'string', default: '60' },
      listen: { type: 'string' },
      crypto: { type: 'string' },
    },
  });
  selectCryptoBackend(values.crypto);
  if (values.to === undefined) fail('connect needs --to HOST:PORT');
  if (values.mode !== 'echo' && values.mode !== 'sink') fail(`--mode must be echo or sink, got '${values.mode}'`);
  const mode = values.mode;
  const input = values.file === undefined ? readFileSync(0) : readFileSync(values.file);
  const streams = positiveInt(values.streams, 'streams', 1);
  const timeout = positiveInt(values.timeout, 'timeout', 60);
  const keyLog = keyLogWriter(values.keylog);
  const host = values.to.startsWith('[') ? '[::1]:0' : '127.0.0.1:0';
  const socket = await QotpSocket.listen({
    listen: values.listen ?? host,
    identity: identity(values),
    ...(values.mtu !== undefined ? { mtu: positiveInt(values.mtu, 'mtu', 1400) } : {}),
    ...(keyLog ? { keyLog } : {}),
  });
  const dialed = performance.now();
  const conn = socket.dial(values.to, values.pubkey === undefined ? undefined : parsePublicKey(values.pubkey));
  const timer = setTimeout(() => {
    process.stdout.write(`qotp timeout after ${timeout} s\n`);
    process.exit(1);
  }, timeout * 1000);
  let pending = streams;
  let allEchoed!: () => void;
  const echoedAll = new Promise<void>((resolve) => (allEchoed = resolve));
  if (mode === 'echo') void echoedAll.then(() => process.stderr.write(`qotp echo complete after ${Math.round(performance.now() - dialed)} ms\n`));
  const echoed = () => {
    if (--pending === 0) allEchoed();
  };
  const results = await Promise.all(Array.from({ length: streams }, (_, id) => runStream(conn.stream(id), input, mode, echoedAll, echoed)));
  clearTimeout(timer);
  await socket.close();
  process.exit(results.every(Boolean) ? 0 : 1);
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'serve') await serve(rest);
  else if (command === 'connect') await connect(rest);
  else fail(command === undefined ? 'missing command' : `unknown command '${command}'`);
} catch (e) {
  fail((e as Error).message);
}
