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
import { QotpError } from './errors.js';
import { QotpSocket, type ListenOptions, type QotpStream } from './node/socket.js';

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

/** Bad usage: one line on standard error, exit 2. */
function fail(message: string): never {
  process.stderr.write(`qotp-ref: ${message} (qotp-ref --help for usage)\n`);
  process.exit(2);
}

/** Something went wrong while running (a busy port, say): one line, exit 1, no usage. */
function runtimeError(message: string): never {
  process.stderr.write(`qotp-ref: ${message}\n`);
  process.exit(1);
}

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** Runs the option parser; a bad option is a usage error. */
function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    return fail((e as Error).message);
  }
}

function exitOnHelp(values: { help?: boolean | undefined }): void {
  if (!values.help) return;
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

/** When a connect hears nothing back, what it is waiting for, on standard error. */
const NO_REPLY_HINT_MS = 2000;

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

function identity(values: { 'seed-hex'?: string | undefined; seed?: string | undefined }): IdentityOption {
  if (values['seed-hex'] !== undefined && values.seed !== undefined) fail('give --seed-hex or --seed, not both');
  if (values['seed-hex'] !== undefined) return { seedHex: values['seed-hex'] };
  if (values.seed !== undefined) return { seedString: values.seed };
  return { random: true };
}

const keyLogWriter = (path: string | undefined) =>
  path === undefined ? undefined : (line: string) => appendFileSync(path, `${line}\n`);

function positiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer, got '${text}'`);
  return n;
}

async function serve(args: string[]): Promise<void> {
  const { values } = parsed(() =>
    parseArgs({
      args,
      options: {
        listen: { type: 'string', default: '127.0.0.1:0' },
        mode: { type: 'string', default: 'echo' },
        'seed-hex': { type: 'string' },
        seed: { type: 'string' },
        keylog: { type: 'string' },
        mtu: { type: 'string' },
        crypto: { type: 'string' },
        ...HELP,
      },
    }),
  );
  exitOnHelp(values);
  if (values.mode !== 'echo' && values.mode !== 'sink') fail(`--mode must be echo or sink, got '${values.mode}'`);
  usable(() => selectCryptoBackend(values.crypto));
  const keyLog = keyLogWriter(values.keylog);
  const socket = await listen({
    listen: values.listen,
    identity: usable(() => identity(values)),
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
function runStream(
  stream: QotpStream,
  input: Buffer,
  mode: 'echo' | 'sink',
  allEchoed: Promise<void>,
  echoed: () => void,
): Promise<boolean> {
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
      process.stdout.write(
        `qotp stream ${stream.id} echoed ${echo.length} bytes sha256 ${sha256(echo)} ${ok ? 'ok' : 'MISMATCH'}\n`,
      );
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
  const { values } = parsed(() =>
    parseArgs({
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
        ...HELP,
      },
    }),
  );
  exitOnHelp(values);
  usable(() => selectCryptoBackend(values.crypto));
  if (values.to === undefined) fail('connect needs --to HOST:PORT');
  if (values.mode !== 'echo' && values.mode !== 'sink') fail(`--mode must be echo or sink, got '${values.mode}'`);
  const to = values.to;
  const mode = values.mode;
  if (values.file === undefined && process.stdin.isTTY)
    fail(
      'connect sends --file FILE or what comes on standard input, and standard input is a terminal: give ' +
        '--file or pipe the data in',
    );
  const input = readInput(values.file);
  const streams = positiveInt(values.streams, 'streams', 1);
  const timeout = positiveInt(values.timeout, 'timeout', 60);
  const serverKey = values.pubkey === undefined ? undefined : usable(() => parsePublicKey(values.pubkey as string));
  const keyLog = keyLogWriter(values.keylog);
  const host = to.startsWith('[') ? '[::1]:0' : '127.0.0.1:0';
  const socket = await listen({
    listen: values.listen ?? host,
    identity: usable(() => identity(values)),
    ...(values.mtu !== undefined ? { mtu: positiveInt(values.mtu, 'mtu', 1400) } : {}),
    ...(keyLog ? { keyLog } : {}),
  });
  const dialed = performance.now();
  const conn = usable(() => socket.dial(to, serverKey));
  // What the client waits for, so that a silent server or a wrong key is said, not guessed.
  let waitingFor = `the handshake reply from ${to}`;
  conn.once(
    'handshake',
    () => (waitingFor = mode === 'echo' ? 'the echo' : "the server's acknowledgement of the data and the CLOSE"),
  );
  const hint = setTimeout(() => {
    if (waitingFor.startsWith('the handshake')) {
      process.stderr.write(
        `qotp: no reply from ${to} after ${NO_REPLY_HINT_MS / 1000} s: is a QOTP server listening ` +
          `there?${serverKey ? ' For 0-RTT, is --pubkey its identity key?' : ''} (still trying until ` +
          `--timeout ${timeout} s)\n`,
      );
    }
  }, NO_REPLY_HINT_MS);
  const timer = setTimeout(() => {
    process.stdout.write(`qotp timeout after ${timeout} s, waiting for ${waitingFor}\n`);
    process.exit(1);
  }, timeout * 1000);
  let pending = streams;
  let allEchoed!: () => void;
  const echoedAll = new Promise<void>((resolve) => (allEchoed = resolve));
  if (mode === 'echo')
    void echoedAll.then(() =>
      process.stderr.write(`qotp echo complete after ${Math.round(performance.now() - dialed)} ms\n`),
    );
  const echoed = () => {
    if (--pending === 0) allEchoed();
  };
  const results = await Promise.all(
    Array.from({ length: streams }, (_, id) => runStream(conn.stream(id), input, mode, echoedAll, echoed)),
  );
  clearTimeout(timer);
  clearTimeout(hint);
  await socket.close();
  process.exit(results.every(Boolean) ? 0 : 1);
}

/** Runs a step whose error is the user's input (a key, a seed, an address): a usage error. */
function usable<T>(step: () => T): T {
  try {
    return step();
  } catch (e) {
    return fail(e instanceof QotpError ? e.reason : (e as Error).message);
  }
}

/** Binds the socket; a port in use or an address not on this host is a runtime error, said in one line. */
async function listen(o: ListenOptions): Promise<QotpSocket> {
  try {
    return await QotpSocket.listen(o);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') return runtimeError(`cannot listen on ${o.listen}: the address is in use`);
    if (code === 'EADDRNOTAVAIL') return runtimeError(`cannot listen on ${o.listen}: no such address on this host`);
    if (e instanceof QotpError) return fail(e.reason);
    return runtimeError(`cannot listen on ${o.listen}: ${(e as Error).message}`);
  }
}

function readInput(file: string | undefined): Buffer {
  try {
    return file === undefined ? readFileSync(0) : readFileSync(file);
  } catch (e) {
    return runtimeError(`cannot read ${file ?? 'standard input'}: ${(e as Error).message}`);
  }
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'serve') await serve(rest);
else if (command === 'connect') await connect(rest);
else if (command === '--help' || command === '-h' || command === 'help') process.stdout.write(`${USAGE}\n`);
else
  fail(command === undefined ? 'missing command: serve or connect' : `unknown command '${command}': serve or connect`);
