// Client-role cases: the implementation's client connects to the tester, which checks
// its first packet, its Data packets and its close.
import { fieldOffset } from '@qotp/spec';
import { headerByte, readUint64 } from '@qotp/reference';
import { randomBytes } from 'node:crypto';
import type { CaseContext, CaseDefinition } from './case.js';
import { acceptClient, clientExit, serveEcho, type ClientSession } from './client-peer.js';
import { equal, fromEndpoint, REPLY_MS, SILENCE_MS } from './helpers.js';

const INPUT_BYTES = 2500;

/** Runs the whole echo and returns the session once the client process ended. */
async function runEcho(ctx: CaseContext, zeroRtt: boolean): Promise<{ session: ClientSession; input: Uint8Array; code: number | null; stdout: string }> {
  const input = new Uint8Array(randomBytes(INPUT_BYTES));
  const session = await acceptClient(ctx, { zeroRtt, input });
  serveEcho(session);
  const result = await clientExit(session, REPLY_MS * 4);
  ctx.expect('payload.close', result !== null, `the client did not finish its echo within ${REPLY_MS * 4} ms`);
  return { session, input, code: result.code, stdout: result.stdout };
}

export const clientCases: CaseDefinition[] = [
  {
    id: 'client.init-snd',
    title: "The client's InitSnd is the header, its two keys and zero padding to the MTU",
    clauses: ['crypto.init-snd.layout', 'crypto.init-snd.padding', 'crypto.conn-id.initial'],
    level: 'MUST',
    role: 'client',
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      const { session, code, stdout } = await runEcho(ctx, false);
      const p = session.first.bytes;
      ctx.expect('crypto.init-snd.layout', p[0] === headerByte('InitSnd'), `the first packet starts with 0x${p[0]?.toString(16)}, expected 0x${headerByte('InitSnd').toString(16)} (InitSnd)`);
      ctx.expect('crypto.init-snd.padding', p.length === ctx.endpoint.mtu, `the InitSnd has ${p.length} bytes, expected the MTU of ${ctx.endpoint.mtu}`);
      const padding = p.subarray(fieldOffset('InitSnd', 'padding'));
      ctx.expect('crypto.init-snd.layout', padding.every((b) => b === 0), 'the InitSnd padding is not all zero');
      const ephemeral = p.subarray(fieldOffset('InitSnd', 'pubKeyEpSnd'), fieldOffset('InitSnd', 'pubKeyEpSnd') + 32);
      ctx.expect('crypto.conn-id.initial', session.conn.connId === readUint64(ephemeral, 0), 'the connection id is not the first 8 bytes of the ephemeral key');
      ctx.expect('crypto.conn-id.initial', code === 0, `the client did not complete its echo (exit ${code}): ${stdout.trim()}`);
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
      ctx.expect('crypto.init-crypto-snd.layout', first.decoded?.type === 'InitCryptoSnd', `the first packet is a ${first.decoded?.type}, expected InitCryptoSnd`);
      ctx.expect('crypto.init-crypto-snd.filler', first.bytes.length === ctx.endpoint.mtu, `the InitCryptoSnd has ${first.bytes.length} bytes, expected the MTU of ${ctx.endpoint.mtu}`);
      const data = first.decoded.payload?.stream?.data ?? new Uint8Array(0);
      ctx.expect('crypto.init-crypto-snd.secret', equal(data, input.subarray(0, data.length)), `the InitCryptoSnd carries ${data.length} bytes that are not the start of the client's input`);
      ctx.note(`${data.length} bytes of data${data.length === 0 ? ' (a PING: the 0-RTT packet left before the application wrote)' : ''} and a filler of ${first.decoded.fillerLength} bytes in the first packet`);
      ctx.expect('crypto.init-crypto-snd.secret', code === 0, `the client did not complete its echo (exit ${code}): ${stdout.trim()}`);
    },
  },
  {
    id: 'client.data',
    title: "The client's Data packets carry the connection id, the initiator's direction bit and increasing sequence numbers from 1",
    clauses: ['crypto.nonce.direction-bit', 'crypto.sn.counter', 'crypto.conn-id.stable'],
    level: 'MUST',
    role: 'client',
    timeoutMs: 20_000,
    async run(ctx: CaseContext) {
      const { session } = await runEcho(ctx, false);
      const all = session.peer.incoming(0);
      const undecodable = all.filter((d) => d.decoded === null);
      ctx.expect('crypto.nonce.direction-bit', undecodable.length === 0, `${undecodable.length} of the client's packets do not open as sealed by the initiator: ${undecodable[0]?.error}`);
      const foreign = all.filter((d) => d.bytes.length >= 9 && readUint64(d.bytes, 1) !== session.conn.connId);
      ctx.expect('crypto.conn-id.stable', foreign.length === 0, `${foreign.length} packets carry another connection id`);
      const sns = fromEndpoint(session.peer, session.conn).filter((d) => d.decoded?.type === 'Data').map((d) => d.decoded?.sn as number);
      ctx.expect('crypto.sn.counter', sns[0] === 1, `the first Data packet has sequence number ${sns[0]}, expected 1 (InitSnd takes 0)`);
      const back = sns.findIndex((sn, i) => i > 0 && sn <= (sns[i - 1] as number));
      ctx.expect('crypto.sn.counter', back < 0, `sequence number ${sns[back]} follows ${sns[back - 1]}`);
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
      const closes = fromEndpoint(session.peer, session.conn).filter((d) => d.decoded?.payload?.isClose && d.decoded.payload.stream?.streamId === 0);
      const s = closes[0]?.decoded?.payload?.stream;
      ctx.expect('payload.close', s !== undefined && s !== null, 'the client never sent a CLOSE on stream 0');
      ctx.expect('payload.close', s.offset + s.data.length === input.length, `the client closed at offset ${s.offset + s.data.length}, expected ${input.length}`);
      ctx.note(`client output: ${stdout.trim()}`);
      ctx.expect('payload.close', code === 0, `the client did not end cleanly after the tester's CLOSE (exit ${code})`);
      await session.peer.collect(SILENCE_MS);
      const acked = fromEndpoint(session.peer, session.conn).some((d) => {
        const a = d.decoded?.payload?.ack;
        return a?.streamId === 0 && a.offset === input.length && a.length === 0;
      });
      ctx.expect('close.acknowledged', acked, `the client never acknowledged the tester's CLOSE (stream 0, offset ${input.length}, length 0)`);
    },
  },
];
