// Every invalid packet vector, replayed to the live endpoint inside a real connection.
// A vector's packet is sealed with the vector's fixed keys, which the endpoint does not
// know; so each is rebuilt as the vector describes it (message, epoch, direction bit,
// MTU) with the live connection's keys, a probe payload of the same length on a stream
// of its own, and the same mutation. The endpoint must not react to any of them, and
// the connection must work afterwards.
import { constant, headerSize, messageTraits, type MessageName } from '@qotp/spec';
import { readUint64, sealPacket, writeUint64 } from '@qotp/reference';
import { allTests, applyDamage, fromHex, loadVectors, type PacketTest, type Reseal } from '@qotp/vectors';
import { randomBytes } from 'node:crypto';
import { describe, type Datagram } from '../capture/datagram.js';
import { PeerConnection } from '../peer/peer-connection.js';
import type { TesterPeer } from '../peer/tester-peer.js';
import {
  acceptClient,
  autoAck,
  type CaseContext,
  type CaseDefinition,
  clientExit,
  expectAlive,
  expectServing,
  handshake,
  type Open,
  probePayload,
  REPLY_MS,
  type Role,
  serveEcho,
  SILENCE_MS,
} from '../kit/index.js';

/** Probe streams: vector i of a case sends its payload on stream PROBE_BASE + i. */
const PROBE_BASE = 1000;

/** The invalid packet vectors a receiver in `role` gets, from both packet files. */
export function invalidVectors(receiverRole: 'initiator' | 'responder', message: MessageName): PacketTest[] {
  const tests: PacketTest[] = [];
  for (const name of ['invalid-packets', 'crypto-messages'] as const) {
    for (const { test } of allTests(loadVectors(name))) {
      if (test.result === 'invalid' && test.receiver.role === receiverRole && test.message === message)
        tests.push(test);
    }
  }
  return tests;
}

/** Why a vector cannot be replayed to this endpoint, or null. */
function notApplicable(test: PacketTest, mtu: number): string | null {
  if (test.receiver.mtu !== mtu) return `needs a receiver MTU of ${test.receiver.mtu}`;
  if (test.receiver.epoch !== 0) return `needs a receiver in epoch ${test.receiver.epoch}`;
  return null;
}

/**
 * Seals a 're-seal' damage's plaintext under the live InitCryptoSnd's header with the live
 * 0-RTT secret (erratum E14's filler overrun), zero-padded or cut to the endpoint's MTU so
 * that the datagram is as long as that endpoint requires.
 */
function resealFor(conn: PeerConnection, mtu: number): Reseal {
  return (packet, plaintext) => {
    const header = packet.slice(0, headerSize('InitCryptoSnd'));
    const sized = new Uint8Array(mtu - header.length - constant('FooterDataSize'));
    sized.set(plaintext.subarray(0, sized.length));
    return sealPacket(header, sized, {
      secret: conn.identitySecret as Uint8Array,
      sn: 0,
      epoch: 0,
      sealedByInitiator: true,
    });
  };
}

/** Seals the vector's packet with the live keys and damages it as the vector says. */
function rebuild(test: PacketTest, index: number, conn: PeerConnection, mtu: number): Uint8Array {
  const payload = probePayload(fromHex(test.payload).length, PROBE_BASE + index);
  let packet: Uint8Array;
  switch (test.message) {
    case 'InitSnd':
      packet = conn.initSnd(test.mtu);
      break;
    case 'InitCryptoSnd':
      packet = conn.initCryptoSnd(payload, test.mtu);
      break;
    case 'InitRcv':
    case 'InitCryptoRcv':
      packet = conn.reply(payload, test.message);
      break;
    case 'Data':
      packet = conn.data(payload, { epoch: test.epoch, sealedByInitiator: test.sealedByInitiator });
      if (!test.receiver.knowsConnection) writeUint64(packet, 1, conn.connId ^ 0x0f0f0f0f0f0f0f0fn);
      break;
  }
  return test.damage === undefined ? packet : applyDamage(packet, test.damage, resealFor(conn, mtu));
}

/** The connection id a datagram names (the first 8 bytes of the key for the initiator's first messages). */
const connIdOf = (bytes: Uint8Array): bigint | null => (bytes.length >= 9 ? readUint64(bytes, 1) : null);

/**
 * What the endpoint sent about probe stream `index`, or on a connection opened by vector
 * `index`: under the tester's connection id or under the one the damaged packet named (a
 * low-order key replaces the key the id is taken from).
 */
function reactionTo(d: Datagram, s: Sent): boolean {
  if (s.own !== null) return s.own.owns(d.bytes) || connIdOf(d.bytes) === s.connId;
  const p = d.decoded?.payload;
  return p?.ack?.streamId === PROBE_BASE + s.index || p?.stream?.streamId === PROBE_BASE + s.index;
}

interface Sent {
  test: PacketTest;
  index: number;
  /** The connection a vector opened itself (InitSnd, InitCryptoSnd); null inside the live one. */
  own: PeerConnection | null;
  /** The connection id the sent packet names. */
  connId: bigint | null;
}

/**
 * Sends every applicable vector and returns them; notes the ones that do not apply.
 * Vectors that open a connection of their own share the live connection's identity key,
 * and the loop yields after each, so that the key agreement it costs does not hold up
 * the other cases running on the same event loop (their timings matter).
 */
async function sendAll(ctx: CaseContext, peer: TesterPeer, live: PeerConnection, tests: PacketTest[]): Promise<Sent[]> {
  const sent: Sent[] = [];
  const skipped: string[] = [];
  const identity = { privateKey: live.identityPrivateKey, publicKey: live.identityPublicKey };
  for (const [index, test] of tests.entries()) {
    const why = notApplicable(test, ctx.endpoint.mtu);
    if (why !== null) {
      skipped.push(`${test.id} (${why})`);
      continue;
    }
    const opensItsOwn = messageTraits(test.message).firstPacket;
    const own = opensItsOwn
      ? peer.add(
          new PeerConnection('initiator', {
            identity,
            ...(ctx.endpoint.publicKey ? { peerIdentityPublicKey: ctx.endpoint.publicKey } : {}),
          }),
        )
      : null;
    const packet = rebuild(test, index, own ?? live, ctx.endpoint.mtu);
    peer.send(packet, `vector ${test.id}: ${test.mutation ?? test.comment}`);
    sent.push({ test, index, own, connId: connIdOf(packet) });
    await new Promise((resolve) => setImmediate(resolve));
  }
  ctx.note(
    `${sent.length} of ${tests.length} vectors ` +
      `replayed${skipped.length ? `; not applicable here: ${skipped.join(', ')}` : ''}`,
  );
  return sent;
}

function expectNoReactions(
  ctx: CaseContext,
  peer: TesterPeer,
  live: PeerConnection,
  sent: Sent[],
  since: number,
): void {
  const accepted = sent.flatMap((s) => {
    const r = peer.incoming(since).find((d) => reactionTo(d, s));
    return r === undefined ? [] : [{ ...s, reaction: r }];
  });
  const list = accepted.map((a) => `${a.test.id} (answered: ${describe(a.reaction)})`).join('; ');
  ctx.expect(
    accepted[0]?.test.clauses[0] ?? 'crypto.receive.no-crash',
    accepted.length === 0,
    `${accepted.length} of ${sent.length} invalid packets were not dropped: ${list}`,
  );
  // Anything else the endpoint sent must belong to the live connection: an answer under a
  // connection id that no packet named is an answer all the same.
  const stray = peer.incoming(since).filter((d) => !live.owns(d.bytes) && !sent.some((s) => reactionTo(d, s)));
  ctx.expect(
    'crypto.receive.no-crash',
    stray.length === 0,
    `while the invalid packets came, the endpoint sent ${stray.length} datagram(s) under a connection id none ` +
      `of them or the live connection has, first: ${stray[0] ? describe(stray[0]) : ''}`,
  );
}

function serverCase(message: MessageName, id: string, requires: CaseDefinition['requires'] = []): CaseDefinition {
  const tests = invalidVectors('responder', message);
  return {
    id: `vectors.invalid.${id}`,
    title: `The ${tests.length} invalid ${message} vectors are dropped by a live endpoint, which keeps working`,
    clauses: [...new Set(['crypto.receive.no-crash', ...tests.flatMap((t) => t.clauses)])],
    level: 'MUST',
    role: 'server',
    requires,
    timeoutMs: 15_000,
    async run(ctx: CaseContext) {
      const open: Open = await handshake(ctx);
      autoAck(open);
      const since = open.reply.index + 1;
      const sent = await sendAll(ctx, open.peer, open.conn, tests);
      await open.peer.collect(SILENCE_MS * 2);
      expectNoReactions(ctx, open.peer, open.conn, sent, since);
      await expectAlive(ctx, open, 'crypto.receive.no-crash', `the invalid ${message} vectors`);
      await expectServing(ctx, 'crypto.receive.no-crash', `the invalid ${message} vectors`);
    },
  };
}

function clientCase(message: MessageName, id: string, zeroRtt: boolean): CaseDefinition {
  const tests = invalidVectors('initiator', message);
  const role: Role = 'client';
  return {
    id: `vectors.invalid.${id}`,
    title: `The ${tests.length} invalid ${message} vectors are dropped by a live client, which then completes its echo`,
    clauses: [...new Set(['crypto.receive.no-crash', ...tests.flatMap((t) => t.clauses)])],
    level: 'MUST',
    role,
    requires: zeroRtt ? ['zeroRtt'] : [],
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      const input = new Uint8Array(randomBytes(700));
      const session = await acceptClient(ctx, { zeroRtt, input });
      const since = session.first.index + 1;
      const isReply = messageTraits(message).reply;
      if (!isReply) serveEcho(session);
      const sent = await sendAll(ctx, session.peer, session.conn, tests);
      await session.peer.collect(SILENCE_MS * 2);
      if (isReply) serveEcho(session);
      expectNoReactions(ctx, session.peer, session.conn, sent, since);
      const result = await clientExit(session, REPLY_MS * 4);
      ctx.expect(
        'crypto.receive.no-crash',
        result !== null && result.code === 0,
        `after the invalid ${message} vectors the client did not complete its ` +
          `echo: ${result === null ? 'still running' : `exit ${result.code}: ${result.stdout.trim()}`}`,
      );
    },
  };
}

export const vectorCases: CaseDefinition[] = [
  serverCase('InitSnd', 'init-snd'),
  serverCase('InitCryptoSnd', 'init-crypto-snd', ['zeroRtt']),
  serverCase('Data', 'data-from-initiator'),
  clientCase('InitRcv', 'init-rcv', false),
  clientCase('InitCryptoRcv', 'init-crypto-rcv', true),
  clientCase('Data', 'data-from-responder', false),
];
