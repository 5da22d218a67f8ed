// The relay's record, opened with a key log, says how often each side sent a segment and
// whether an acknowledgement reached it: a give-up is allowed after six unanswered copies
// and not before. Two reference sockets talk through a relay that stops passing anything to
// the client 300 ms in, so the client's last segment goes out again and again unanswered.
import { QotpSocket, type QotpConnection, type QotpStream } from '@qotp/reference/node';
import { describe, expect, it } from 'vitest';
import { parseKeyLog } from '../src/capture/key-log.js';
import { startRelay, type Relayed } from '../src/impair/relay.js';
import { giveUpAllowed, MAX_COPIES, noCause, readResends, stoppedFirst } from '../src/impair/resends.js';

const waitFor = async (ok: () => boolean, limitMs: number) => {
  const until = Date.now() + limitMs;
  while (!ok() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
};

describe('resends read from the relay record', () => {
  it(
    'counts the copies of a segment whose acknowledgements are all lost, and allows a give-up at the sixth only',
    { timeout: 20_000 },
    async () => {
      const lines: string[] = [];
      const server = await QotpSocket.listen({});
      server.on('connection', (conn: QotpConnection) => conn.on('stream', (s: QotpStream) => s.on('data', () => {})));
      const relay = await startRelay({
        server: server.address,
        seed: 1,
        toClient: { blackholes: [{ fromMs: 300, toMs: 60_000 }] },
      });
      const client = await QotpSocket.listen({ keyLog: (l) => lines.push(l) });
      try {
        const conn = client.dial(relay.address);
        const stream = conn.stream(0);
        stream.write(new Uint8Array(500));
        // After the handshake and the first ACKs, one more segment into the blackhole's shadow.
        await new Promise((r) => setTimeout(r, 400));
        stream.write(new Uint8Array(700));
        const keys = () => parseKeyLog(lines.join('\n'));
        await waitFor(
          () => (readResends(relay.captured, keys()).worstUnanswered.client?.copies ?? 0) >= MAX_COPIES,
          15_000,
        );
        // The server's answer to the sixth copy may still be on its way to the relay (on a loaded
        // machine it came after the record was read once, and the copy then looked unanswered).
        await new Promise((r) => setTimeout(r, 300));

        const record = readResends(relay.captured, keys());
        expect(record.unreadable).toBe(0);
        const worst = record.worstUnanswered.client;
        expect(worst?.segment).toBe('stream 0 at 500');
        expect(worst?.copies).toBeGreaterThanOrEqual(MAX_COPIES);
        expect(worst?.copiesLost).toBe(0); // the copies arrived; their ACKs did not
        // Every copy reached the server, and every one of its answers was lost: the impairment's doing.
        expect(giveUpAllowed(record, 'client', 'server')).toMatch(
          new RegExp(
            /^the client's stream 0 at 500: \d copies, 0 lost on the way, \d answers to it lost, /.source +
              /no acknowledgement reached the sender: a give-up is conforming/.source,
          ),
        );
        // The server's data: none; its ACKs are not segments, so it has nothing unanswered.
        expect(record.worstUnanswered.server).toBeNull();
        expect(giveUpAllowed(record, 'server')).toBeNull();
        expect(noCause(record, 'server')).toMatch(/every segment the server sent was acknowledged/);
        // The server answered every copy (its ACKs were lost after it sent them): it did not stop.
        expect(stoppedFirst(record)).toBeNull();

        // The same record cut before the sixth copy: a sender that quit there gave up too early.
        // not the padded InitSnd
        const copiesOf = (r: Relayed) => r.fromClient && r.data.length > 700 && r.data.length < 800;
        const sixth = relay.captured.filter(copiesOf)[MAX_COPIES - 1] as Relayed;
        const early = readResends(relay.captured.slice(0, relay.captured.indexOf(sixth)), keys());
        expect(early.worstUnanswered.client?.copies).toBe(MAX_COPIES - 1);
        expect(giveUpAllowed(early, 'client')).toBeNull();
        expect(noCause(early, 'client')).toMatch(
          new RegExp(
            /no segment of the client's went out 6 times unacknowledged \(the most: stream 0 at 500: 5 copies, /
              .source +
              /0 lost on the way, \d answers to it lost, no acknowledgement reached the sender\); /.source +
              /its last resend was copy 5 of stream 0 at 500, never acknowledged, so nothing allowed it to give up$/
                .source,
          ),
        );
      } finally {
        await client.close();
        await relay.close();
        await server.close();
      }
    },
  );

  it(
    'names the side that stopped answering first: a server that closed while the client kept sending',
    { timeout: 15_000 },
    async () => {
      const lines: string[] = [];
      const server = await QotpSocket.listen({});
      server.on('connection', (conn: QotpConnection) => conn.on('stream', (s: QotpStream) => s.on('data', () => {})));
      const relay = await startRelay({ server: server.address, seed: 1 });
      const client = await QotpSocket.listen({ keyLog: (l) => lines.push(l) });
      try {
        const stream = client.dial(relay.address).stream(0);
        stream.on('error', () => {});
        stream.write(new Uint8Array(500));
        await waitFor(() => lines.length > 0, 5000);
        await new Promise((r) => setTimeout(r, 200));
        await server.close(); // gone without a word, as a give-up or a crash looks on the wire
        stream.write(new Uint8Array(700));
        await new Promise((r) => setTimeout(r, 1500));
        await client.close(); // no more copies: the last one had more than a second to be answered
        await new Promise((r) => setTimeout(r, 1200));
        const keys = parseKeyLog(lines.join('\n'));
        const record = readResends(relay.captured, keys, relay.now());
        expect(stoppedFirst(record)).toBe('server');
        // Read half a second after the client's last copy arrived, the server had not yet had the time to answer it.
        const soon = readResends(relay.captured, keys, (record.lastDeliveredSegmentMs.client as number) + 500);
        expect(stoppedFirst(soon)).toBeNull();
        expect(giveUpAllowed(record, 'server')).toBeNull();
        expect(noCause(record, 'server')).toMatch(
          /every segment the server sent was acknowledged, so nothing allowed it to give up/,
        );
        expect(record.worstUnanswered.client?.segment).toBe('stream 0 at 500');
      } finally {
        await client.close();
        await relay.close();
      }
    },
  );

  it(
    'marks what it cannot open without the secrets as unreadable instead of guessing',
    { timeout: 10_000 },
    async () => {
      const server = await QotpSocket.listen({});
      server.on('connection', (conn: QotpConnection) => conn.on('stream', (s: QotpStream) => s.on('data', () => {})));
      const relay = await startRelay({ server: server.address, seed: 1 });
      const client = await QotpSocket.listen({});
      try {
        client.dial(relay.address).stream(0).write(new Uint8Array(100));
        await waitFor(() => relay.captured.length >= 4, 5000);
        const record = readResends(relay.captured, parseKeyLog(''));
        expect(record.unreadable).toBeGreaterThan(0);
        // InitSnd is plaintext; a reply that reached the client answers it only if it opens,
        // and without the secrets nothing does: the InitSnd reads as unanswered, and no
        // give-up could be allowed on the strength of packets nobody could authenticate.
        expect(record.worstUnanswered.client?.segment).toBe('InitSnd');
        expect(record.tookPart.server).toBe(0);
        expect(record.lastDatagramMs.server).not.toBeNull();
      } finally {
        await client.close();
        await relay.close();
        await server.close();
      }
    },
  );
});
