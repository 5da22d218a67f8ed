// Close cases (server role). A CLOSE ends its sender's direction; the receiver answers
// with its own CLOSE at its current write position (clause close.answer), so an echo
// server closes after what it echoed so far. Delivery up to the close offset is checked
// with a sink server, which reports what its application read; a fully closed stream
// acknowledges a late retransmission without delivering it again (close.grace-period).
import { constant } from '@qotp/spec';
import { createHash } from 'node:crypto';
import type { Datagram } from '../capture/datagram.js';
import {
  acksOf,
  acksSeen,
  autoAck,
  type CaseContext,
  type CaseDefinition,
  dataPayload,
  echo,
  equal,
  expectAcknowledged,
  fromEndpoint,
  handshake,
  onConnection,
  type Open,
  pattern,
  REPLY_MS,
  sendStream,
  SILENCE_MS,
  streamState,
  waitUntil,
  WINDOW,
} from '../kit/index.js';

/** How long the tester withholds its ACK of the endpoint's CLOSE, and how many copies fit in it. */
const WITHHOLD_MS = 1000;
const MIN_RTO_MS = constant('MinRto') / 1e6;
/** Where the beyond-offset and second-close cases end stream 4: the tester sends 3000 bytes. */
const BEYOND_END = 2000;
const SECOND_CLOSE_AT = 1000;
/** Transmissions at 0, RTO, 3 RTO, 7 RTO ... that fit in WITHHOLD_MS at the smallest RTO, plus one for timer slack. */
const MAX_CLOSE_COPIES = Math.floor(Math.log2(WITHHOLD_MS / MIN_RTO_MS + 1)) + 1 + 1;

/** Waits until the endpoint closed its side of the stream. */
async function awaitEndpointClose(open: Open, streamId: number): Promise<ReturnType<typeof streamState>> {
  await waitUntil(open.peer, () => streamState(open.peer, open.conn, streamId).closeOffset !== null, REPLY_MS * 2);
  return streamState(open.peer, open.conn, streamId);
}

/** Waits for the sink's report of a stream: "qotp stream <id> received <n> bytes sha256 <hex>". */
async function sinkReport(
  ctx: CaseContext,
  open: Open,
  streamId: number,
): Promise<{ bytes: number; sha256: string } | null> {
  const line = new RegExp(`^qotp stream ${streamId} received (\\d+) bytes sha256 ([0-9a-f]{64})$`, 'm');
  const found = () => line.exec(ctx.endpointOutput());
  for (let waited = 0; found() === null && waited < REPLY_MS * 2; waited += 50) await open.peer.collect(50);
  const m = found();
  return m === null ? null : { bytes: Number(m[1]), sha256: m[2] as string };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * A case on a sink server's stream 4: `send` sends the tester's segments of `data` and
 * returns how many of its first bytes the sink must read before the stream ends; `after`
 * checks more once the sink reported.
 */
function sinkCase(
  id: string,
  title: string,
  clause: string,
  send: (open: Open, data: Uint8Array) => number,
  after?: (ctx: CaseContext, open: Open, data: Uint8Array) => Promise<void>,
): CaseDefinition {
  return {
    id: `close.${id}`,
    title,
    clauses: [clause],
    level: 'MUST',
    role: 'server',
    needsLaunch: { sink: true },
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const open = await handshake(ctx);
      autoAck(open);
      const data = pattern(3000, 7);
      const expected = data.subarray(0, send(open, data));
      const report = await sinkReport(ctx, open, 4);
      ctx.expect(clause, report !== null, 'the sink never reported stream 4 as ended');
      ctx.expect(
        clause,
        report.bytes === expected.length && report.sha256 === sha256(expected),
        `the sink read ${report.bytes} bytes (sha256 ${report.sha256.slice(0, 16)}...), expected the ` +
          `first ${expected.length} bytes sent (sha256 ${sha256(expected).slice(0, 16)}...)`,
      );
      ctx.note(`the sink read ${report.bytes} bytes of stream 4`);
      await after?.(ctx, open, data);
    },
  };
}

/**
 * An empty CLOSE of stream 4 at BEYOND_END (and a second one at `secondCloseAt`), then the
 * data: the segment at BEYOND_END first and those below it after, so that a receiver that
 * keeps bytes past the end holds it when the rest arrives and delivers it with them.
 * Returns how much the sink must read: up to the first CLOSE.
 */
function closeThenData(open: Open, data: Uint8Array, secondCloseAt: number | null): number {
  open.peer.send(
    open.conn.data(dataPayload(4, BEYOND_END, new Uint8Array(0), true)),
    `empty CLOSE of stream 4 at ${BEYOND_END}`,
  );
  if (secondCloseAt !== null)
    open.peer.send(
      open.conn.data(dataPayload(4, secondCloseAt, new Uint8Array(0), true)),
      `a second empty CLOSE of stream 4, at ${secondCloseAt}`,
    );
  sendStream(open, 4, data.subarray(BEYOND_END), { from: BEYOND_END });
  sendStream(open, 4, data.subarray(0, BEYOND_END));
  return BEYOND_END;
}

/** Echoes `data` on `streamId` in full, so that the endpoint's write position is known when a CLOSE comes. */
async function echoBeforeClose(ctx: CaseContext, open: Open, streamId: number, data: Uint8Array): Promise<void> {
  const got = await echo(open, streamId, data);
  ctx.expect(
    'close.answer',
    equal(got, data),
    `the echo before the CLOSE is incomplete: ${got.length} of ${data.length} bytes`,
  );
}

export const closeCases: CaseDefinition[] = [
  onConnection(
    {
      id: 'close.responder',
      title: "The endpoint acknowledges the tester's CLOSE and answers with its own at the end of what it wrote",
      clauses: ['payload.close', 'close.acknowledged', 'close.answer'],
    },
    async (ctx: CaseContext, open: Open) => {
      const data = pattern(4000, 5);
      await echoBeforeClose(ctx, open, 0, data);
      open.peer.send(
        open.conn.data(dataPayload(0, data.length, new Uint8Array(0), true)),
        `empty CLOSE of stream 0 at ${data.length}`,
      );
      const state = await awaitEndpointClose(open, 0);
      ctx.expect('close.answer', state.closeOffset !== null, 'the endpoint never answered the CLOSE with its own');
      ctx.expect(
        'close.answer',
        state.closeOffset === data.length,
        `the endpoint closed at offset ${state.closeOffset}, after writing ${data.length} bytes`,
      );
      const acked = acksOf(open, 0).some((a) => a.offset === data.length && a.length === 0);
      ctx.expect(
        'close.acknowledged',
        acked,
        `the empty CLOSE at ${data.length} was not acknowledged (no ACK with offset ${data.length}, length ` +
          `0; ${acksSeen(open, 0)})`,
      );
    },
  ),
  onConnection(
    {
      id: 'close.with-data',
      title:
        'A CLOSE that carries data is acknowledged with its length, and the answer closes after a prefix of the echo',
      clauses: ['close.acknowledged', 'close.answer', 'ack.segment'],
    },
    async (ctx: CaseContext, open: Open) => {
      const data = pattern(3000, 8);
      sendStream(open, 2, data, { close: true });
      await waitUntil(open.peer, () => acksOf(open, 2).some((a) => a.offset === 2000 && a.length === 1000), REPLY_MS);
      const seen = acksOf(open, 2)
        .map((a) => `(${a.offset}, ${a.length})`)
        .join(' ');
      ctx.expect(
        'close.acknowledged',
        acksOf(open, 2).some((a) => a.offset === 2000 && a.length === 1000),
        `the CLOSE segment (offset 2000, 1000 bytes) was not acknowledged; ACKs of stream 2: ${seen || 'none'}`,
      );
      const state = await awaitEndpointClose(open, 2);
      ctx.expect('close.answer', state.closeOffset !== null, 'the endpoint never answered the CLOSE with its own');
      ctx.expect(
        'close.answer',
        state.closeOffset <= data.length &&
          equal(state.bytes.subarray(0, state.closeOffset), data.subarray(0, state.closeOffset)),
        `the endpoint closed at ${state.closeOffset} but did not send the first ${state.closeOffset} bytes of ` +
          `the echo before`,
      );
      ctx.note(`the endpoint had echoed ${state.closeOffset} of ${data.length} bytes when it answered the CLOSE`);
    },
  ),
  onConnection(
    {
      id: 'close.answer-position',
      title:
        "A CLOSE that carries data is answered at the endpoint's write position when it arrived: its data is " +
        'not echoed',
      clauses: ['close.answer', 'close.acknowledged'],
    },
    async (ctx: CaseContext, open: Open) => {
      // The echo of everything before the CLOSE is back, so the endpoint's write position is
      // known when the CLOSE arrives; what the CLOSE carries reaches the application only
      // after the CLOSE was answered, and what it writes then is not sent.
      const data = pattern(3000, 14);
      await echoBeforeClose(ctx, open, 6, data);
      const last = pattern(500, 15);
      open.peer.send(
        open.conn.data(dataPayload(6, data.length, last, true)),
        `CLOSE of stream 6 at ${data.length} carrying ${last.length} bytes`,
      );
      const state = await awaitEndpointClose(open, 6);
      ctx.expect('close.answer', state.closeOffset !== null, 'the endpoint never answered the CLOSE with its own');
      ctx.expect(
        'close.answer',
        state.closeOffset === data.length,
        state.closeOffset > data.length
          ? `the endpoint closed at ${state.closeOffset}: it echoed the ${state.closeOffset - data.length} bytes ` +
              `the CLOSE carried before it answered, but a CLOSE is answered at the write position it finds ` +
              `(${data.length}) and bytes written after it are not sent`
          : `the endpoint closed at ${state.closeOffset}, before the ${data.length} bytes it had already echoed`,
        { expected: `CLOSE at ${data.length}`, observed: `CLOSE at ${state.closeOffset}` },
      );
      await expectAcknowledged(
        ctx,
        open,
        'close.acknowledged',
        { streamId: 6, offset: data.length, data: last, isClose: true },
        'the CLOSE carrying data',
      );
    },
  ),
  {
    id: 'close.sent-once',
    title: 'An unacknowledged CLOSE is resent on the RTO schedule only, and every copy keeps the close flag',
    clauses: ['close.sent-once', 'close.answer'],
    level: 'SHOULD',
    role: 'server',
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const open = await handshake(ctx);
      let holding = true;
      const isCloseOf = (d: Datagram) =>
        d.decoded?.payload?.isClose === true && d.decoded.payload.stream?.streamId === 5;
      autoAck(open, WINDOW, (d) => holding && isCloseOf(d));
      const data = pattern(3000, 12);
      await echoBeforeClose(ctx, open, 5, data);
      const since = open.peer.send(
        open.conn.data(dataPayload(5, data.length, new Uint8Array(0), true)),
        `empty CLOSE of stream 5 at ${data.length}`,
      ).index;
      const first = await open.peer.waitFor((d) => isCloseOf(d), REPLY_MS * 2, since);
      ctx.expect('close.answer', first !== null, 'the endpoint never answered the CLOSE of stream 5 with its own');
      await open.peer.collect(Math.max(0, first.t + WITHHOLD_MS - open.peer.now()));
      holding = false;
      const window = fromEndpoint(open.peer, open.conn, first.index).filter(
        (d) => d.t <= first.t + WITHHOLD_MS && d.decoded?.payload?.stream?.streamId === 5,
      );
      const closes = window.filter(isCloseOf);
      const end = (d: Datagram) =>
        (d.decoded?.payload?.stream?.offset ?? 0) + (d.decoded?.payload?.stream?.data.length ?? 0);
      const closeEnd = end(first);
      ctx.expect(
        'close.sent-once',
        closes.length <= MAX_CLOSE_COPIES,
        `the endpoint sent its unacknowledged CLOSE ${closes.length} times in ${WITHHOLD_MS} ms; ` +
          `retransmission on the RTO schedule (RTO at least ${MIN_RTO_MS} ms, doubling) allows at ` +
          `most ${MAX_CLOSE_COPIES}`,
        { expected: `at most ${MAX_CLOSE_COPIES} copies in ${WITHHOLD_MS} ms`, observed: `${closes.length} copies` },
      );
      const lostFlag = window.filter(
        (d) =>
          !isCloseOf(d) &&
          end(d) === closeEnd &&
          (d.decoded?.payload?.stream?.offset ?? -1) === first.decoded?.payload?.stream?.offset,
      );
      ctx.expect(
        'close.sent-once',
        lostFlag.length === 0,
        `${lostFlag.length} retransmission(s) of the CLOSE segment ` +
          `(offset ${first.decoded?.payload?.stream?.offset}) came without the close flag`,
      );
      const elsewhere = closes.filter((d) => end(d) !== closeEnd);
      ctx.expect(
        'close.sent-once',
        elsewhere.length === 0,
        `the close flag also came on segment(s) ending at ${elsewhere.map(end).join(', ')}, not at the close ` +
          `offset ${closeEnd}`,
      );
      ctx.note(
        `${closes.length} cop${closes.length === 1 ? 'y' : 'ies'} of the CLOSE (ending at ${closeEnd}) ` +
          `in ${WITHHOLD_MS} ms without an ACK`,
      );
    },
  },
  sinkCase(
    'deliver-to-offset',
    'Data that arrives after an empty CLOSE, below its offset, is still delivered',
    'close.deliver-to-offset',
    (open, data) => {
      open.peer.send(
        open.conn.data(dataPayload(4, data.length, new Uint8Array(0), true)),
        `empty CLOSE of stream 4 at ${data.length}, before any data`,
      );
      sendStream(open, 4, data);
      return data.length;
    },
  ),
  sinkCase(
    'close-segment-data',
    'The data carried by the CLOSE segment itself is delivered',
    'close.deliver-to-offset',
    (open, data) => {
      sendStream(open, 4, data, { close: true });
      return data.length;
    },
  ),
  sinkCase(
    'beyond-offset',
    'Data at or beyond the close offset is acknowledged and not delivered',
    'close.deliver-to-offset',
    (open, data) => closeThenData(open, data, null),
    (ctx, open, data) =>
      expectAcknowledged(
        ctx,
        open,
        'close.deliver-to-offset',
        { streamId: 4, offset: BEYOND_END, data: data.subarray(BEYOND_END), isClose: false },
        'the segment past the close offset',
      ),
  ),
  sinkCase(
    'second-close',
    'A second CLOSE at another offset does not move the end the first one fixed',
    'close.second-close',
    (open, data) => closeThenData(open, data, SECOND_CLOSE_AT),
    (ctx, open) =>
      expectAcknowledged(
        ctx,
        open,
        'close.second-close',
        { streamId: 4, offset: SECOND_CLOSE_AT, data: new Uint8Array(0), isClose: true },
        'the second CLOSE',
      ),
  ),
  onConnection(
    {
      id: 'close.grace-period',
      title: 'A late retransmission on a fully closed stream is acknowledged and not delivered again',
      clauses: ['stream.close-grace', 'ack.segment'],
      level: 'SHOULD',
    },
    async (ctx: CaseContext, open: Open) => {
      const data = pattern(1500, 3);
      await echo(open, 0, data);
      open.peer.send(open.conn.data(dataPayload(0, data.length, new Uint8Array(0), true)), 'empty CLOSE of stream 0');
      await waitUntil(open.peer, () => streamState(open.peer, open.conn, 0).closeOffset !== null, REPLY_MS);
      ctx.expect(
        'stream.close-grace',
        streamState(open.peer, open.conn, 0).closeOffset !== null,
        'the endpoint did not close stream 0 in answer, so the stream never became fully closed',
      );
      await open.peer.collect(SILENCE_MS);
      const since = open.peer.send(
        open.conn.data(dataPayload(0, 0, data.subarray(0, 1000))),
        'the first segment of the closed stream again (a late retransmission)',
      ).index;
      const ack = await open.peer.waitFor(
        (d) => {
          const a = d.decoded?.payload?.ack;
          return a?.streamId === 0 && a.offset === 0 && a.length === 1000;
        },
        REPLY_MS,
        since,
      );
      ctx.expect(
        'stream.close-grace',
        ack !== null,
        'the late retransmission on the closed stream was not acknowledged, so its sender keeps resending it',
      );
      const again = fromEndpoint(open.peer, open.conn, since).filter(
        (d) => d.decoded?.payload?.stream?.streamId === 0 && (d.decoded.payload.stream.data.length ?? 0) > 0,
      );
      ctx.expect(
        'stream.close-grace',
        again.length === 0,
        `the endpoint sent ${again.length} packet(s) with stream 0 data after its close: the late segment was ` +
          `delivered again`,
      );
    },
  ),
];
