// How the reference server's cost per datagram grows with its live connections, measured
// on the sans-I/O engine alone (no sockets, a simulated clock), and whether a normal client
// still connects to a live reference server while one socket floods it with InitSnds.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { encodeInitSnd, Endpoint, publicKeyOf, readUint64, type Connection, type Outgoing } from '@qotp/reference';
import { parseHostPort, selectCryptoBackend } from '@qotp/reference/node';
import { randomBytes } from 'node:crypto';

export interface ScalingRow {
  liveConnections: number;
  /** receive() + poll() + nextDeadline() of one Data packet on another connection, microseconds. */
  usPerDatagram: number;
  datagrams: number;
}

export interface FloodRow {
  initSndPerSecond: number;
  floodSeconds: number;
  /** InitSnds the flooder actually sent (its own pace may fall short on a busy machine). */
  sent: number;
  clientCompleted: boolean;
  /** From the client's launch to its exit, ms. */
  clientMs: number;
  /** The normal client's last line. */
  clientSays: string;
}

const MS = 1_000_000;

function endpoint(): Endpoint {
  return new Endpoint({ identityPrivateKey: randomBytes(32), randomBytes: (n) => randomBytes(n) });
}

/** Delivers what each engine sends to the other, 1 ms of simulated time a step, until `until()` holds. */
function exchange(a: Endpoint, b: Endpoint, now: { t: number }, until: () => boolean): void {
  for (let step = 0; step < 10_000 && !until(); step++) {
    now.t += MS;
    for (const d of a.poll(now.t)) b.receive(d.data, 'a', now.t);
    for (const d of b.poll(now.t)) a.receive(d.data, 'b', now.t);
  }
}

/** The cost of one datagram at the server with `live` other connections in their handshake. */
function costAt(live: number, datagrams: number): ScalingRow {
  const client = endpoint();
  const server = endpoint();
  const now = { t: MS };
  for (let i = 0; i < live; i++) client.connect('b').stream(0).sender.write(Uint8Array.of(1));
  for (const d of client.poll(now.t)) server.receive(d.data, 'a', now.t);
  // The replies to the crowd (at most a poll budget at a time), never delivered: those
  // connections stay live and idle, with nothing left to send.
  while (server.poll(now.t).length > 0);
  const conn: Connection = client.connect('b');
  conn.stream(0).sender.write(Uint8Array.of(1));
  exchange(client, server, now, () => conn.handshakeDone && conn.stream(0).sender.inFlight.size === 0);
  // The measured packets: 100 bytes each, made by the client beforehand, 10 ms apart.
  const packets: Outgoing[] = [];
  for (let i = 0; i < datagrams; i++) {
    now.t += 10 * MS;
    conn.stream(0).sender.write(new Uint8Array(100));
    // Only this connection's packets: the crowd's connections resend their InitSnds meanwhile.
    packets.push(...client.poll(now.t).filter((d) => d.data.length > 100 && readUint64(d.data, 1) === conn.id));
  }
  let at = now.t;
  const started = performance.now();
  for (const p of packets) {
    at += MS;
    server.receive(p.data, 'a', at);
    server.poll(at);
    server.nextDeadline(at);
  }
  const us = ((performance.now() - started) * 1000) / packets.length;
  if (server.connections.size < live)
    throw new Error(`only ${server.connections.size} of ${live} connections were live during the measurement`);
  return { liveConnections: live, usPerDatagram: us, datagrams: packets.length };
}

export function scalingRows(o: { connections: number[]; datagrams: number }): ScalingRow[] {
  selectCryptoBackend(); // the handshakes of the crowd on the fastest backend
  costAt(100, 500); // warm up the JIT before the first measured row
  return o.connections.map((n) => costAt(n, o.datagrams));
}

const referenceCli = fileURLToPath(new URL('../../reference/dist/cli.js', import.meta.url));

function startReferenceServer(): Promise<{ address: string; stop: () => void }> {
  const child = spawn(process.execPath, [referenceCli, 'serve', '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`reference server exited with ${code}`)));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^qotp listening (\S+) /m.exec(out);
      if (m) resolve({ address: m[1] as string, stop: () => child.kill('SIGKILL') });
    });
  });
}

/**
 * Floods a live reference server with distinct InitSnds from one socket at `perSecond` for
 * `seconds`, and one second in launches a normal 1-RTT echo client against it.
 */
export async function floodRow(o: {
  perSecond: number;
  seconds: number;
  clientTimeoutSeconds: number;
}): Promise<FloodRow> {
  selectCryptoBackend();
  const total = o.perSecond * o.seconds;
  // Distinct connection ids: each InitSnd a new ephemeral key (prepared before the clock starts).
  const identityPublicKey = publicKeyOf(randomBytes(32));
  const packets = Array.from({ length: total }, () =>
    encodeInitSnd({ ephemeralPublicKey: publicKeyOf(randomBytes(32)), identityPublicKey }, 1400),
  );
  const server = await startReferenceServer();
  const target = parseHostPort(server.address);
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  udp.on('message', () => {}); // the replies are read and dropped
  let sent = 0;
  const started = performance.now();
  // The whole flood, whenever the client finishes; its pace is checked every 5 ms.
  const flooded = new Promise<void>((resolve) => {
    const flood = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * o.perSecond));
      for (; sent < due; sent++) udp.send(packets[sent] as Uint8Array, target.port, target.host);
      if (sent >= total || performance.now() - started > (o.seconds + 5) * 1000) {
        clearInterval(flood);
        resolve();
      }
    }, 5);
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const clientStarted = performance.now();
  const client = spawn(
    process.execPath,
    [
      referenceCli,
      'connect',
      '--to',
      server.address,
      '--file',
      referenceCli,
      '--timeout',
      String(o.clientTimeoutSeconds),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let said = '';
  client.stdout.on('data', (c: Buffer) => (said += c.toString()));
  client.stderr.on('data', (c: Buffer) => (said += c.toString()));
  const code = await new Promise<number | null>((resolve) => client.once('exit', resolve));
  const clientMs = performance.now() - clientStarted;
  await flooded;
  udp.close();
  server.stop();
  return {
    initSndPerSecond: o.perSecond,
    floodSeconds: o.seconds,
    sent,
    clientCompleted: code === 0,
    clientMs,
    clientSays: said.trim().split('\n').at(-1) ?? '',
  };
}
