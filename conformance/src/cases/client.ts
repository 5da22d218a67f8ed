// Client-role cases: the implementation's client connects to the tester, which checks
// its first packet, its Data packets and its close.
import { fieldOffset } from '@qotp/spec';
import { headerByte, readUint64 } from '@qotp/reference';
import { randomBytes } from 'node:crypto';
import {
  acceptClient,
  ackOnly,
  type CaseContext,
  type CaseDefinition,
  checkGaps,
  clientExit,
  type ClientSession,
  dataPayload,
  equal,
  fromEndpoint,
  GIVE_UP_LISTEN_MS,
  MAX_TRANSMISSIONS,
  REPLY_MS,
  RTO_MS,
  serveEcho,
  SILENCE_MS,
  streamState,
  waitUntil,
} from '../kit/index.js';

const INPUT_BYTES = 2500;

/** Runs the whole echo and returns the session once the client process ended. */
async function runEcho(
  ctx: CaseContext,
  zeroRtt: boolean,
): Promise<{ session: ClientSession; input: Uint8Array; code: number | null; stdout: string }> {
  const input = new Uint8Array(randomBytes(INPUT_BYTES));
  const session = await acceptClient(ctx, { zeroRtt, input });
  serveEcho(session);
  const result = await clientExit(session, REPLY_MS * 4);
  ctx.expect('payload.close', result !== null, `the client did not finish its echo within ${REPLY_MS * 4} ms`);
  return { session, input, code: result.code, stdout: result.stdout };
}

/**
 * The tester never answers the client's first packet: the client resends it on the RTO
 * schedule, at most six times. A 0-RTT client sends nothing else before a reply: every
 * copy is the same InitCryptoSnd, though its input needs more than one packet.
 */
function unanswered(zeroRtt: boolean): CaseDefinition {
  const first = zeroRtt ? 'InitCryptoSnd' : 'InitSnd';
  return {
    id: zeroRtt ? 'client.0rtt-unanswered' : 'client.handshake-give-up',
    title: zeroRtt
      ? `An unanswered 0-RTT client sends only its InitCryptoSnd, the same each time, at ` +
        `most ${MAX_TRANSMISSIONS} times`
      : `An unanswered client resends its InitSnd on the RTO schedule, at most ${MAX_TRANSMISSIONS} times`,
    clauses: zeroRtt
      ? ['handshake.zero-rtt-first-flight', 'retransmission.give-up']
      : ['retransmission.give-up', 'retransmission.backoff', 'retransmission.rto-default'],
    level: 'MUST',
    role: 'client',
    ...(zeroRtt ? { requires: ['zeroRtt' as const] } : {}),
    timeoutMs: 35_000,
    slow: 'six transmissions of the first packet and the give-up after them',
    waitsOnTimer: true,
    async run(ctx: CaseContext) {
      const input = new Uint8Array(randomBytes(zeroRtt ? 3 * ctx.endpoint.mtu : 100));
      const session = await acceptClient(ctx, { zeroRtt, input });
      const exit = await clientExit(session, GIVE_UP_LISTEN_MS);
      const sent = session.peer.incoming(0);
      const copies = sent.filter((d) => d.decoded?.type === first);
      const ended =
        exit === null
          ? `was still running ${GIVE_UP_LISTEN_MS} ms after its first packet`
          : `exited with status ${exit.code}`;
      const times = copies.map((c) => (c.t - session.first.t).toFixed(0)).join(', ');
      ctx.note(`${copies.length} copies of the ${first} at ${times} ms; the client ${ended}`);
      if (zeroRtt) {
        const others = sent.filter((d) => d.decoded?.type !== first);
        ctx.expect(
          'handshake.zero-rtt-first-flight',
          others.length === 0,
          `before any reply the client sent ${others.length} packet(s) other than its InitCryptoSnd ` +
            `(first: ${others[0]?.decoded?.type ?? others[0]?.error})`,
        );
        const segment = (d: (typeof copies)[number]) => d.decoded?.payload?.stream;
        const firstSegment = segment(session.first);
        const differing = copies.filter(
          (d) =>
            segment(d)?.streamId !== firstSegment?.streamId ||
            segment(d)?.offset !== firstSegment?.offset ||
            !equal(segment(d)?.data ?? new Uint8Array(0), firstSegment?.data ?? new Uint8Array(0)),
        );
        const seen =
          differing[0] === undefined
            ? ''
            : `stream ${segment(differing[0])?.streamId} ` +
              `offset ${segment(differing[0])?.offset}, ${segment(differing[0])?.data.length} bytes`;
        ctx.expect(
          'handshake.zero-rtt-first-flight',
          differing.length === 0,
          `${differing.length} InitCryptoSnd(s) carry another segment than the first ` +
            `(offset ${firstSegment?.offset}, ${firstSegment?.data.length} bytes): ${seen}`,
        );
      } else {
        checkGaps(ctx, copies, MAX_TRANSMISSIONS - 1);
      }
      ctx.expect(
        'retransmission.give-up',
        copies.length <= MAX_TRANSMISSIONS,
        `the ${first} was sent ${copies.length} times, at most ${MAX_TRANSMISSIONS} allowed`,
      );
      ctx.expect('retransmission.give-up', copies.length > 1, `the unanswered ${first} was never resent`);
    },
  };
}

export const clientCases: CaseDefinition[] = [
  unanswered(false),
  unanswered(true),
  {
    id: 'client.init-snd',
    title: "The client's InitSnd is the header, its two keys and zero padding to the MTU",
    clauses: ['crypto.init-snd.layout', 'crypto.init-snd.padding', 'crypto.conn-id.initial', 'harness.client-start'],
    level: 'MUST',
    role: 'client',
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      const { session, code, stdout } = await runEcho(ctx, false);
      const p = session.first.bytes;
      ctx.expect(
        'crypto.init-snd.layout',
        p[0] === headerByte('InitSnd'),
        `the first packet starts with 0x${p[0]?.toString(16)}, expected ` +
          `0x${headerByte('InitSnd').toString(16)} (InitSnd)`,
      );
      ctx.expect(
        'crypto.init-snd.padding',
        p.length === ctx.endpoint.mtu,
        `the InitSnd has ${p.length} bytes, expected the MTU of ${ctx.endpoint.mtu}`,
      );
      const padding = p.subarray(fieldOffset('InitSnd', 'padding'));
      ctx.expect(
        'crypto.init-snd.layout',
        padding.every((b) => b === 0),
        'the InitSnd padding is not all zero',
      );
      const ephemeral = p.subarray(fieldOffset('InitSnd', 'pubKeyEpSnd'), fieldOffset('InitSnd', 'pubKeyEpSnd') + 32);
      ctx.expect(
        'crypto.conn-id.initial',
        session.conn.connId === readUint64(ephemeral, 0),
        'the connection id is not the first 8 bytes of the ephemeral key',
      );
      ctx.expect(
        'crypto.conn-id.initial',
        code === 0,
        `the client did not complete its echo (exit ${code}): ${stdout.trim()}`,
      );
    },
  },
  {
    id: 'client.0rtt',
    title: "The client's InitCryptoSnd is sealed for the server's identity key, padded to the MTU and carries data",
    clauses: ['crypto.init-crypto-snd.layout', 'crypto.init-crypto-snd.secret', 'crypto.init-crypto-snd.filler'],
    level: 'MUST',
    role: 'client',
    requires: ['zeroRtt'],
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      const { session, input, code, stdout } = await runEcho(ctx, true);
      const first = session.first;
      ctx.expect(
        'crypto.init-crypto-snd.layout',
        first.decoded?.type === 'InitCryptoSnd',
        `the first packet is a ${first.decoded?.type}, expected InitCryptoSnd`,
      );
      ctx.expect(
        'crypto.init-crypto-snd.filler',
        first.bytes.length === ctx.endpoint.mtu,
        `the InitCryptoSnd has ${first.bytes.length} bytes, expected the MTU of ${ctx.endpoint.mtu}`,
      );
      const data = first.decoded.payload?.stream?.data ?? new Uint8Array(0);
      ctx.expect(
        'crypto.init-crypto-snd.secret',
        equal(data, input.subarray(0, data.length)),
        `the InitCryptoSnd carries ${data.length} bytes that are not the start of the client's input`,
      );
      ctx.note(
        `${data.length} bytes of ` +
          `data${data.length === 0 ? ' (a PING: the 0-RTT packet left before the application wrote)' : ''} and a ` +
          `filler of ${first.decoded.fillerLength} bytes in the first packet`,
      );
      ctx.expect(
        'crypto.init-crypto-snd.secret',
        code === 0,
        `the client did not complete its echo (exit ${code}): ${stdout.trim()}`,
      );
    },
  },
  {
    id: 'client.data',
    title:
      "The client's Data packets carry the connection id, the initiator's direction bit and increasing " +
      'sequence numbers from 1',
    clauses: ['crypto.nonce.direction-bit', 'crypto.sn.counter', 'crypto.conn-id.stable'],
    level: 'MUST',
    role: 'client',
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      const { session } = await runEcho(ctx, false);
      const all = session.peer.incoming(0);
      const undecodable = all.filter((d) => d.decoded === null);
      ctx.expect(
        'crypto.nonce.direction-bit',
        undecodable.length === 0,
        `${undecodable.length} of the client's packets do not open as sealed by the ` +
          `initiator: ${undecodable[0]?.error}`,
      );
      const foreign = all.filter((d) => d.bytes.length >= 9 && readUint64(d.bytes, 1) !== session.conn.connId);
      ctx.expect(
        'crypto.conn-id.stable',
        foreign.length === 0,
        `${foreign.length} packets carry another connection id`,
      );
      const sent = fromEndpoint(session.peer, session.conn);
      const sns = sent.filter((d) => d.decoded?.type === 'Data').map((d) => d.decoded?.sn as number);
      // Every InitSnd the client encoded took a number (erratum E11): one that was sent again
      // because the reply came late (a loaded machine) moves the first Data packet's up by one.
      const firstData = sent.findIndex((d) => d.decoded?.type === 'Data');
      const initSnds = sent
        .slice(0, firstData < 0 ? sent.length : firstData)
        .filter((d) => d.decoded?.type === 'InitSnd');
      ctx.expect(
        'crypto.sn.counter',
        sns[0] === initSnds.length,
        `the first Data packet has sequence number ${sns[0]}, expected ${initSnds.length} (the client ` +
          `sent ${initSnds.length} InitSnd before it, each taking one, from 0)`,
      );
      const back = sns.findIndex((sn, i) => i > 0 && sn <= (sns[i - 1] as number));
      ctx.expect('crypto.sn.counter', back < 0, `sequence number ${sns[back]} follows ${sns[back - 1]}`);
    },
  },
  {
    id: 'client.wrong-role',
    title: 'The client drops its own InitSnd sent back to it after the handshake, and completes its echo',
    clauses: ['handshake.role-messages'],
    level: 'MUST',
    role: 'client',
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      // Anyone on the path has a copy of the client's InitSnd, and it names the client's own
      // connection: an initiator that takes it as a first packet derives a new secret from it.
      const input = new Uint8Array(randomBytes(INPUT_BYTES));
      const session = await acceptClient(ctx, { zeroRtt: false, input });
      const { peer, conn } = session;
      serveEcho(session); // sends the reply
      // Right behind the reply, so that the client meets it before its echo can be done.
      const since = peer.send(
        session.first.bytes,
        "the client's own InitSnd, sent back to it right after the reply",
      ).index;
      const result = await clientExit(session, REPLY_MS * 4);
      const unreadable = peer
        .incoming(since)
        .filter((d) => d.decoded === null && d.bytes.length >= 9 && readUint64(d.bytes, 1) === conn.connId);
      ctx.expect(
        'handshake.role-messages',
        unreadable.length === 0,
        `after its own InitSnd came back, ${unreadable.length} of the client's packets no longer open with the ` +
          `connection's secret (first: ${unreadable[0]?.error}): it took the InitSnd as a first packet and its ` +
          `key`,
      );
      ctx.expect(
        'handshake.role-messages',
        result !== null && result.code === 0,
        `the client did not complete its echo after its own InitSnd came back ` +
          `(${result === null ? `still running after ${REPLY_MS * 4} ms` : `exit ${result.code}`})`,
      );
    },
  },
  {
    id: 'client.handshake-confirm',
    title:
      'After an ACK-only reply the 0-RTT client sends a Data packet, resends it unacknowledged, and accepts a ' +
      'later reply',
    clauses: ['handshake.initiator-confirms', 'handshake.reply-after-handshake'],
    level: 'SHOULD',
    role: 'client',
    requires: ['zeroRtt'],
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      const input = new Uint8Array(randomBytes(100)); // fits the first packet: nothing may be left to send
      const session = await acceptClient(ctx, { zeroRtt: true, input });
      const { peer, conn, first } = session;
      const s = first.decoded?.payload?.stream;
      // The reply a Go responder sends when its application has not answered yet: an ACK and
      // no stream section. It then waits for a Data packet before it sends anything new.
      const replied = peer.send(
        conn.reply(ackOnly(s?.streamId ?? 0, s?.offset ?? 0, s?.data.length ?? 0), 'InitCryptoRcv'),
        'InitCryptoRcv, ACK-only, no PING',
      ).index;
      await peer.collect(2 * RTO_MS + SILENCE_MS);
      const segments = fromEndpoint(peer, conn)
        .filter((d) => d.index > replied && d.decoded?.type === 'Data' && d.decoded.payload?.stream !== null)
        .map((d) => d.decoded?.payload?.stream as NonNullable<NonNullable<typeof s>>);
      const resent = segments.some(
        (x, i) =>
          segments.findIndex(
            (y) => y.streamId === x.streamId && y.offset === x.offset && y.data.length === x.data.length,
          ) < i,
      );
      const listed = segments.map((x) => `stream ${x.streamId} offset ${x.offset} length ${x.data.length}`);
      ctx.note(
        `after the ACK-only reply the client sent ${segments.length} Data packet(s) with a stream ` +
          `section: ${listed.join('; ') || 'none'}`,
      );
      ctx.expect(
        'handshake.initiator-confirms',
        segments.length > 0,
        `in ${2 * RTO_MS + SILENCE_MS} ms after an ACK-only reply the client sent no Data packet with a stream ` +
          `section: a responder that waits for one (as the Go original does) never sends its echo`,
      );
      ctx.expect(
        'handshake.initiator-confirms',
        resent,
        'the client did not resend its unacknowledged Data packet segment within two RTOs',
      );
      // A second reply carries the echo; the client must take it and acknowledge it in Data.
      const sent = streamState(peer, conn, 0).bytes;
      const since = peer.send(
        conn.reply(dataPayload(0, 0, sent), 'InitCryptoRcv'),
        `a second InitCryptoRcv with the echo of ${sent.length} bytes`,
      ).index;
      const acked = await waitUntil(
        peer,
        () =>
          fromEndpoint(peer, conn).some(
            (d) =>
              d.index > since &&
              d.decoded?.type === 'Data' &&
              d.decoded.payload?.ack?.streamId === 0 &&
              d.decoded.payload.ack.offset === 0 &&
              d.decoded.payload.ack.length === sent.length,
          ),
        REPLY_MS,
      );
      ctx.expect(
        'handshake.reply-after-handshake',
        acked,
        `the client did not acknowledge, in a Data packet within ${REPLY_MS} ms, the ${sent.length} bytes a ` +
          `second InitCryptoRcv carried`,
      );
    },
  },
  {
    id: 'client.close',
    title: 'The client closes its stream at the end of its data once the echo is back, and accepts the CLOSE',
    clauses: ['payload.close', 'close.acknowledged'],
    level: 'MUST',
    role: 'client',
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      const { session, input, code, stdout } = await runEcho(ctx, false);
      const closes = fromEndpoint(session.peer, session.conn).filter(
        (d) => d.decoded?.payload?.isClose && d.decoded.payload.stream?.streamId === 0,
      );
      const s = closes[0]?.decoded?.payload?.stream;
      ctx.expect('payload.close', s !== undefined && s !== null, 'the client never sent a CLOSE on stream 0');
      ctx.expect(
        'payload.close',
        s.offset + s.data.length === input.length,
        `the client closed at offset ${s.offset + s.data.length}, expected ${input.length}`,
      );
      ctx.note(`client output: ${stdout.trim()}`);
      ctx.expect('payload.close', code === 0, `the client did not end cleanly after the tester's CLOSE (exit ${code})`);
      await session.peer.collect(SILENCE_MS);
      const acked = fromEndpoint(session.peer, session.conn).some((d) => {
        const a = d.decoded?.payload?.ack;
        return a?.streamId === 0 && a.offset === input.length && a.length === 0;
      });
      ctx.expect(
        'close.acknowledged',
        acked,
        `the client never acknowledged the tester's CLOSE (stream 0, offset ${input.length}, length 0)`,
      );
    },
  },
];
