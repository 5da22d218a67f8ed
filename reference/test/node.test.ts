// The Node adapter over real UDP on loopback, TS against TS: echo in both handshakes,
// IPv6, the key log format, receive backpressure.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { QotpSocket, type QotpStream } from '../src/node/index.js';

const sockets: QotpSocket[] = [];
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.close()));
});

async function echoServer(listen = '127.0.0.1:0', keyLog?: (line: string) => void): Promise<QotpSocket> {
  const server = await QotpSocket.listen({
    listen,
    identity: { seedString: 'node-test-server' },
    ...(keyLog ? { keyLog } : {}),
  });
  sockets.push(server);
  server.on('connection', (conn) =>
    conn.on('stream', (s: QotpStream) => {
      s.on('data', (d: Buffer) => s.write(d));
      s.on('end', () => s.end());
    }),
  );
  return server;
}

/** Sends `data`, reads the echo back, closes; resolves with the echo once the peer answered the close. */
function echo(stream: QotpStream, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    stream.on('error', reject);
    stream.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got === data.length) stream.end();
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.write(data);
  });
}

const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 255));

describe('Node adapter', () => {
  it.each([
    ['1-RTT', false],
    ['0-RTT', true],
  ])('echoes 200 kB on two streams with a %s handshake', async (_, zeroRtt) => {
    const server = await echoServer();
    const client = await QotpSocket.listen();
    sockets.push(client);
    const conn = client.dial(server.address, zeroRtt ? server.engine.publicKey : undefined);
    const data = pattern(200_000);
    const [a, b] = await Promise.all([echo(conn.stream(0), data), echo(conn.stream(5), data)]);
    expect(a.equals(data)).toBe(true);
    expect(b.equals(data)).toBe(true);
  });

  it('works over IPv6 loopback', async () => {
    const server = await echoServer('[::1]:0');
    expect(server.address).toMatch(/^\[::1\]:\d+$/);
    const client = await QotpSocket.listen({ listen: '[::1]:0' });
    sockets.push(client);
    const back = await echo(client.dial(server.address).stream(0), Buffer.from('over IPv6'));
    expect(back.toString()).toBe('over IPv6');
  });

  it('writes key log lines in the Go original format that match on both sides', async () => {
    const serverLines: string[] = [];
    const clientLines: string[] = [];
    const server = await echoServer('127.0.0.1:0', (l) => serverLines.push(l));
    const client = await QotpSocket.listen({ keyLog: (l) => clientLines.push(l) });
    sockets.push(client);
    const conn = client.dial(server.address, server.engine.publicKey);
    await echo(conn.stream(0), Buffer.from('key log'));
    const secretLine = new RegExp(`^QOTP_SHARED_SECRET ${conn.id.toString(16)} [0-9a-f]{64}$`);
    expect(clientLines.filter((l) => secretLine.test(l))).toHaveLength(1);
    expect(clientLines.some((l) => l.startsWith(`QOTP_SHARED_SECRET_ID ${conn.id.toString(16)} `))).toBe(true);
    expect(serverLines).toContain(clientLines.find((l) => secretLine.test(l)));
  });

  it('derives the identity key as WithSeedStr does (SHA-256 of the string)', async () => {
    const server = await echoServer();
    const expected = createHash('sha256').update('node-test-server').digest();
    expect(Buffer.from(server.engine.publicKey).toString('hex')).toHaveLength(64);
    const again = await QotpSocket.listen({ identity: { seed: new Uint8Array(expected) } });
    sockets.push(again);
    expect(again.publicKeyHex).toBe(server.publicKeyHex);
  });
  it('holds data in the engine while the reader is paused, and delivers all of it when it resumes', async () => {
    const server = await QotpSocket.listen({ identity: { seedString: 'node-test-sink' } });
    sockets.push(server);
    const received = new Promise<{ stream: QotpStream; held: number; bytes: Buffer }>((resolve) =>
      server.on('connection', (conn) =>
        conn.on('stream', (s: QotpStream) => {
          // Paused: nothing is read until the sender has written everything and waited.
          s.pause();
          setTimeout(() => {
            const held = s.readableLength;
            const chunks: Buffer[] = [];
            s.on('data', (d: Buffer) => chunks.push(d));
            s.on('end', () => resolve({ stream: s, held, bytes: Buffer.concat(chunks) }));
            s.resume();
          }, 1500);
        }),
      ),
    );
    const client = await QotpSocket.listen();
    sockets.push(client);
    const conn = client.dial(server.address);
    const data = pattern(2_000_000);
    const stream = conn.stream(3);
    stream.write(data);
    stream.end();
    const { held, bytes } = await received;
    // The paused stream took no more than its high-water mark and one chunk; the rest waited in the engine.
    expect(held).toBeLessThanOrEqual(16 * 1024 + 1400);
    expect(bytes.equals(data)).toBe(true);
  });
});
