// Endpoints that break the runner's launch contract or misbehave on the wire, to prove
// that the runner survives them, names what happened and leaves no process behind.
//
//   node --import tsx hostile-endpoint.ts --mode MODE --token TOKEN
//
// TOKEN is only carried in the command line (of this process and of any child it starts),
// so that a test can look for leftover processes with `pgrep -f TOKEN`.
//
// Modes (server role unless noted):
//   never-ready      prints a line that is not the ready line, then waits forever
//   ready-then-exit  prints a valid ready line and exits at once with status 0
//   malformed-key    prints "ready <address> <not a key>" (for a target with a custom ready pattern)
//   silent           binds a UDP port, prints the ready line, answers nothing
//   garbage          answers every datagram with one of random bytes
//   amplifier        answers every datagram with 50 random datagrams of 1400 bytes
//   huge-stdout      a real reference server whose ready line is followed by 50 MB on stdout
//   crash-mid        a real reference server that dies (status 3) 300 ms after it is ready
//   client-exits     (client) prints a complaint on stderr and exits with status 1 at once
//   client-hangs     (client) sends nothing and never exits
//   client-crash-after-first  (client, --peer HOST:PORT) sends one real InitSnd, then dies of an
//                    uncaught exception (a Node.js stack trace, status 1)
//   client-garbage   (client, --peer HOST:PORT) sends random datagrams every 100 ms, exits 0 after 3 s
//   declines         server or client: says it does not support this and exits with status 127
import { encodeInitSnd, publicKeyOf } from '@qotp/reference';
import { parseHostPort } from '@qotp/reference/node';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const MODES = [
  'never-ready',
  'ready-then-exit',
  'malformed-key',
  'silent',
  'garbage',
  'amplifier',
  'huge-stdout',
  'crash-mid',
  'client-exits',
  'client-hangs',
  'client-crash-after-first',
  'client-garbage',
  'declines',
] as const;
export type Mode = (typeof MODES)[number];

const referenceCli = fileURLToPath(new URL('../../../reference/dist/cli.js', import.meta.url));
const forever = () => setInterval(() => {}, 1 << 30);

async function udpServer(answer: (reply: (b: Uint8Array) => void) => void): Promise<string> {
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  udp.on('message', (_msg, from) => answer((b) => udp.send(b, from.port, from.address)));
  return `127.0.0.1:${udp.address().port}`;
}

/** Starts the reference server as a child (same process group) and resolves with its ready line. */
function referenceServer(token: string): Promise<{ line: string; kill: () => void }> {
  const child = spawn(process.execPath, [referenceCli, 'serve', '--seed', token], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = /^qotp listening .*$/m.exec(out)?.[0];
      if (line !== undefined) resolve({ line, kill: () => child.kill('SIGKILL') });
    });
  });
}

const key = () => randomBytes(32).toString('hex');

/** A UDP socket aimed at the tester's address ("host:port" from {peer}). */
async function towards(peer: string): Promise<(b: Uint8Array) => void> {
  const to = parseHostPort(peer);
  const udp = createSocket(to.host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => udp.bind(0, resolve));
  return (b) => udp.send(b, to.port, to.host);
}

async function main(mode: Mode, token: string, peer: string): Promise<void> {
  switch (mode) {
    case 'never-ready':
      process.stdout.write(`starting up (${token}), any minute now\n`);
      forever();
      return;
    case 'ready-then-exit':
      process.stdout.write(`qotp listening 127.0.0.1:9 ${key()}\n`);
      process.exit(0);
      return;
    case 'malformed-key':
      process.stdout.write(`ready ${await udpServer(() => {})} not-a-key\n`);
      forever();
      return;
    case 'silent':
      process.stdout.write(`qotp listening ${await udpServer(() => {})} ${key()}\n`);
      return;
    case 'garbage': {
      const port = await udpServer((reply) => reply(randomBytes(1 + Math.floor(Math.random() * 1400))));
      process.stdout.write(`qotp listening ${port} ${key()}\n`);
      return;
    }
    case 'amplifier':
      process.stdout.write(
        `qotp listening ${await udpServer((reply) => {
          for (let i = 0; i < 50; i++) reply(randomBytes(1400));
        })} ${key()}\n`,
      );
      return;
    case 'huge-stdout': {
      const server = await referenceServer(token);
      process.stdout.write(`${server.line}\n`);
      const junk = `${'x'.repeat(1023)}\n`.repeat(1024); // 1 MiB
      for (let i = 0; i < 50; i++)
        if (!process.stdout.write(junk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
      return;
    }
    case 'crash-mid': {
      const server = await referenceServer(token);
      process.stdout.write(`${server.line}\n`);
      setTimeout(() => {
        server.kill();
        process.stderr.write('hostile endpoint: crashing on purpose\n');
        process.exit(3);
      }, 300);
      return;
    }
    case 'client-exits':
      process.stderr.write('client: cannot parse my own arguments, giving up\n');
      process.exit(1);
      return;
    case 'client-hangs':
      forever();
      return;
    case 'client-crash-after-first': {
      const send = await towards(peer);
      send(
        encodeInitSnd(
          { ephemeralPublicKey: publicKeyOf(randomBytes(32)), identityPublicKey: publicKeyOf(randomBytes(32)) },
          1400,
        ),
      );
      setTimeout(() => {
        throw new TypeError(`hostile endpoint: cannot read properties of undefined (${token})`);
      }, 100);
      return;
    }
    case 'client-garbage': {
      const send = await towards(peer);
      const timer = setInterval(() => send(randomBytes(1 + Math.floor(Math.random() * 1400))), 100);
      setTimeout(() => {
        clearInterval(timer);
        process.exit(0);
      }, 3000);
      return;
    }
    case 'declines':
      process.stderr.write('hostile endpoint: not supported here\n');
      process.exit(127);
  }
}

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    token: { type: 'string', default: '' },
    peer: { type: 'string', default: '127.0.0.1:9' },
  },
  strict: false,
});
if (!MODES.includes(values.mode as Mode)) throw new Error(`--mode must be one of ${MODES.join(', ')}`);
void main(values.mode as Mode, String(values.token), String(values.peer));
