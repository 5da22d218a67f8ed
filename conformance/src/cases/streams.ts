// Stream cases (server role): ordered delivery from reordered, duplicated and overlapping
// segments, several streams, the ACK fields, ACK-only packets and PING.
import { maxUserData } from '@qotp/reference';
import { constant } from '@qotp/spec';
import {
  ackOnly,
  acksOf,
  acksSeen,
  autoAck,
  type CaseContext,
  type CaseDefinition,
  dataPayload,
  echo,
  equal,
  expectAlive,
  fromEndpoint,
  handshake,
  highestOffset,
  onConnection,
  type Open,
  pattern,
  received,
  REPLY_MS,
  sendStream,
  SILENCE_MS,
  streamState,
  text,
  waitUntil,
} from '../kit/index.js';

const TURN_STREAMS = [1, 2, 3];

const CAPACITY = constant('ReceiveBufferCapacity');
/** Bytes of stream FULL_STREAM that never come, so that the application can read none of it. */
const FULL_GAP = 1000;
/** What the tester leaves free of the receive buffer before its last two segments. */
const FULL_SPARE = 500;
const FULL_STREAM = 5;
/** Segments the tester keeps in flight: what a socket buffer takes at once. */
const FULL_BATCH = 64;
const FULL_ROUND_MS = 200;
const FULL_RESEND_MS = 1_000;
const FULL_FILL_MS = 30_000;
/** No new ACK for this long while segments are resent: the endpoint stopped taking them. */
const FULL_STALL_MS = 3_000;
/** The span the ACK rate of a slow endpoint is measured over. */
const FULL_RATE_MS = 5_000;
/** Data segments looked at once the window opens: two full turns of a round-robin sender. */
const TURN_SEGMENTS = 6;

/** Sends the given segments of `data` (start, end) in the order given and expects the echo intact. */
async function deliverySegments(
  open: Open,
  streamId: number,
  data: Uint8Array,
  segments: [number, number][],
): Promise<Uint8Array> {
  for (const [start, end] of segments) {
    open.peer.send(
      open.conn.data(dataPayload(streamId, start, data.subarray(start, end))),
      `DATA stream ${streamId} bytes ${start}..${end}`,
    );
  }
  await received(open, streamId, data.length, REPLY_MS * 2);
  await open.peer.collect(SILENCE_MS / 2);
  return streamState(open.peer, open.conn, streamId).bytes;
}

function deliveryCase(id: string, title: string, order: (n: number) => [number, number][]): CaseDefinition {
  return {
    id: `streams.${id}`,
    title,
    clauses: ['stream.ordered-delivery'],
    level: 'MUST',
    role: 'server',
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      const open = await handshake(ctx);
      autoAck(open);
      const data = pattern(8000, 3);
      const got = await deliverySegments(open, 0, data, order(data.length));
      ctx.expect(
        'stream.ordered-delivery',
        equal(got, data),
        `the echo differs from what was sent: ${got.length} of ${data.length} bytes, first difference ` +
          `at ${firstDifference(got, data)}`,
        {
          expected: `${data.length} bytes echoed as sent`,
          observed: `${got.length} bytes, first difference at ${firstDifference(got, data)}`,
        },
      );
      const high = highestOffset(open, 0);
      ctx.expect(
        'stream.ordered-delivery',
        high <= data.length,
        `the endpoint echoed up to offset ${high} of ${data.length} bytes: some bytes were delivered twice`,
      );
    },
  };
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

const chunks = (n: number, size: number): [number, number][] =>
  Array.from({ length: Math.ceil(n / size) }, (_, i) => [i * size, Math.min(n, (i + 1) * size)]);

export const streamCases: CaseDefinition[] = [
  {
    id: 'streams.round-robin',
    title: 'Data queued on three streams is sent in turns, not one stream after the other',
    clauses: ['flow.round-robin'],
    level: 'SHOULD',
    role: 'server',
    timeoutMs: 10_000,
    async run(ctx: CaseContext) {
      // The window stays at 0 until all three echoes are queued, so that what the endpoint
      // sends first when it opens shows its order, not the order the data came in.
      const open = await handshake(ctx);
      open.peer.send(open.conn.data(ackOnly(0, 0, 0, 0)), 'ACK-only advertising a window of 0 bytes');
      const data = TURN_STREAMS.map((id) => pattern(12_000, id));
      TURN_STREAMS.forEach((id, i) => sendStream(open, id, data[i] as Uint8Array));
      await open.peer.collect(SILENCE_MS);
      autoAck(open);
      const opened = open.peer.send(open.conn.data(ackOnly(0, 0, 0)), 'ACK-only opening the window').index;
      const echoed = () =>
        TURN_STREAMS.every(
          (id, i) => streamState(open.peer, open.conn, id).bytes.length >= (data[i] as Uint8Array).length,
        );
      await waitUntil(open.peer, echoed, REPLY_MS * 2);
      const order = fromEndpoint(open.peer, open.conn, opened)
        .map((d) => d.decoded?.payload?.stream)
        .filter((st) => st !== null && st !== undefined && st.data.length > 0 && TURN_STREAMS.includes(st.streamId))
        .map((st) => st?.streamId as number)
        .slice(0, TURN_SEGMENTS);
      ctx.expect(
        'flow.round-robin',
        order.length === TURN_SEGMENTS,
        `only ${order.length} data segment(s) came after the window opened`,
        { expected: `${TURN_SEGMENTS} data segments`, observed: `${order.length}` },
      );
      ctx.expect(
        'flow.round-robin',
        new Set(order).size >= 2,
        `with 12000 bytes queued on each of streams ${TURN_STREAMS.join(', ')}, the first ${TURN_SEGMENTS} ` +
          `data segments after the window opened were all on stream ${order[0]}: the endpoint serves one stream ` +
          `until it is done`,
        {
          expected: `segments of at least 2 of streams ${TURN_STREAMS.join(', ')}`,
          observed: `streams ${order.join(', ')}`,
        },
      );
      ctx.note(`first ${TURN_SEGMENTS} data segments after the window opened: streams ${order.join(', ')}`);
    },
  },
  deliveryCase('in-order', 'Segments sent in order are echoed intact', (n) => chunks(n, 1000)),
  deliveryCase('out-of-order', 'Segments sent in reverse order are delivered in offset order', (n) =>
    chunks(n, 1000).reverse(),
  ),
  deliveryCase('duplicate', 'Every segment sent twice is delivered once', (n) =>
    chunks(n, 1000).flatMap((c) => [c, c]),
  ),
  deliveryCase('overlapping', 'Overlapping segments are delivered once, in order', (n) => [
    [0, 1200],
    [800, 2000],
    [1500, 1600],
    [3000, 4200],
    [1900, 3100],
    [4100, 5300],
    [5000, 6200],
    [6100, 7300],
    [6900, n],
  ]),
  onConnection(
    {
      id: 'streams.any-id',
      title:
        'Streams opened by the initiator with ids of any value and parity, the highest included, are echoed on ' +
        'their ids',
      clauses: ['stream.ids', 'payload.stream.layout'],
    },
    async (ctx: CaseContext, open: Open) => {
      // Highest first, then down: no order, parity or role rule may refuse one.
      const ids = [0xffff_ffff, 0x8000_0000, 7, 6];
      for (const id of ids)
        open.peer.send(open.conn.data(dataPayload(id, 0, text(`stream ${id}`))), `DATA stream ${id}`);
      await waitUntil(
        open.peer,
        () => ids.every((id) => streamState(open.peer, open.conn, id).bytes.length >= text(`stream ${id}`).length),
        REPLY_MS * 2,
      );
      const missing = ids.filter((id) => !equal(streamState(open.peer, open.conn, id).bytes, text(`stream ${id}`)));
      ctx.expect(
        'stream.ids',
        missing.length === 0,
        `no intact echo on stream(s) ${missing.map((id) => `0x${id.toString(16)}`).join(', ')} ` +
          `of ${ids.map((id) => `0x${id.toString(16)}`).join(', ')}`,
      );
    },
  ),
  onConnection(
    {
      id: 'streams.several',
      title: 'Three interleaved streams are echoed each on its own stream',
      clauses: ['stream.independent', 'payload.stream.layout'],
    },
    async (ctx: CaseContext, open: Open) => {
      const ids = [1, 2, 40_000];
      const data = ids.map((id, i) => pattern(3000 + i * 500, id));
      for (let at = 0; at < 4000; at += 700) {
        ids.forEach((id, i) => {
          const d = data[i] as Uint8Array;
          if (at < d.length)
            open.peer.send(
              open.conn.data(dataPayload(id, at, d.subarray(at, at + 700))),
              `DATA stream ${id} offset ${at}`,
            );
        });
      }
      const done = () =>
        ids.every((id, i) => streamState(open.peer, open.conn, id).bytes.length >= (data[i] as Uint8Array).length);
      await waitUntil(open.peer, done, REPLY_MS * 2);
      ids.forEach((id, i) => {
        const got = streamState(open.peer, open.conn, id).bytes;
        ctx.expect(
          'stream.independent',
          equal(got, data[i] as Uint8Array),
          `stream ${id}: ${got.length} of ${(data[i] as Uint8Array).length} bytes echoed, or other bytes`,
        );
      });
    },
  ),
  onConnection(
    {
      id: 'streams.ack-fields',
      title: 'Each segment is acknowledged with its stream id, offset and length, and a window',
      clauses: ['ack.segment', 'payload.ack.layout', 'flow.window-advertised'],
    },
    async (ctx: CaseContext, open: Open) => {
      const data = pattern(1700, 9);
      const segments: [number, number][] = [
        [0, 700],
        [700, 1400],
        [1400, 1700],
      ];
      for (const [start, end] of segments) {
        open.peer.send(
          open.conn.data(dataPayload(3, start, data.subarray(start, end))),
          `DATA stream 3 bytes ${start}..${end}`,
        );
        await open.peer.collect(50);
      }
      const acked = () =>
        fromEndpoint(open.peer, open.conn).flatMap((d) => (d.decoded?.payload?.ack ? [d.decoded.payload.ack] : []));
      await waitUntil(
        open.peer,
        () => segments.every(([s, e]) => acksOf(open, 3).some((a) => a.offset === s && a.length === e - s)),
        REPLY_MS,
      );
      for (const [start, end] of segments) {
        const match = acksOf(open, 3).find((a) => a.offset === start && a.length === end - start);
        const seen = acksOf(open, 3)
          .map((a) => `(${a.offset}, ${a.length})`)
          .join(' ');
        ctx.expect(
          'ack.segment',
          match !== undefined,
          `no ACK of stream 3 offset ${start} length ${end - start}; ACKs seen for stream 3: ${seen || 'none'}`,
        );
      }
      const zero = acked().filter((a) => a.window === 0);
      ctx.expect(
        'flow.window-advertised',
        zero.length === 0,
        `${zero.length} ACKs advertise a window of 0 bytes while the receive buffer is nearly empty`,
      );
      ctx.note(`windows advertised: ${[...new Set(acked().map((a) => a.window))].join(', ')} bytes`);
    },
  ),
  onConnection(
    {
      id: 'streams.burst-acknowledged',
      title: 'Segments that arrive in one burst are acknowledged one ACK section each, none merged into a range',
      clauses: ['ack.segment'],
    },
    async (ctx: CaseContext, open: Open) => {
      // Ten segments back to back: a receiver that acknowledges ranges (as TCP does) would
      // answer the burst with fewer ACKs naming several segments; QOTP's carry one each.
      const data = pattern(10 * 300, 11);
      sendStream(open, 8, data, { segment: 300 });
      const segments = Array.from({ length: 10 }, (_, i) => i * 300);
      const missing = () => segments.filter((at) => !acksOf(open, 8).some((a) => a.offset === at && a.length === 300));
      await waitUntil(open.peer, () => missing().length === 0, REPLY_MS);
      ctx.expect(
        'ack.segment',
        missing().length === 0,
        `no ACK of exactly (offset, 300) for the segments at ${missing().join(', ')}; ${acksSeen(open, 8)}`,
        { expected: '10 ACKs of 300 bytes', observed: `${10 - missing().length} of them` },
      );
    },
  ),
  onConnection(
    {
      id: 'streams.duplicate-acknowledged',
      title: 'A segment that arrives again is acknowledged again',
      clauses: ['ack.segment'],
    },
    async (ctx: CaseContext, open: Open) => {
      const data = pattern(500, 4);
      await echo(open, 6, data);
      const repeatedAcks = () => acksOf(open, 6).filter((a) => a.offset === 0 && a.length === 500).length;
      const before = repeatedAcks();
      open.peer.send(
        open.conn.data(dataPayload(6, 0, data)),
        'the same segment again (as a sender would after a lost ACK)',
      );
      await waitUntil(open.peer, () => repeatedAcks() > before, REPLY_MS);
      ctx.expect(
        'ack.segment',
        repeatedAcks() > before,
        'the repeated segment was not acknowledged: a sender whose ACK was lost would resend it until it gives up',
      );
    },
  ),
  onConnection(
    {
      id: 'streams.ack-only',
      title: 'An ACK-only packet is accepted and not acknowledged',
      clauses: ['ack.only-not-acknowledged', 'payload.ack-only'],
    },
    async (ctx: CaseContext, open: Open) => {
      const first = await echo(open, 0, pattern(2000));
      ctx.expect(
        'payload.ack-only',
        first.length >= 2000,
        `before the ACK-only packet, a 2000-byte echo came back with ${first.length} bytes`,
      );
      await open.peer.collect(SILENCE_MS);
      const since = open.peer.send(
        open.conn.data(ackOnly(0, 0, 1000)),
        'ACK-only (acknowledging data already acknowledged)',
      ).index;
      const answers = await open.peer.collect(SILENCE_MS);
      const acks = answers.filter(
        (d) => d.index > since && d.decoded?.payload?.ack !== null && d.decoded?.payload?.ack !== undefined,
      );
      ctx.expect(
        'ack.only-not-acknowledged',
        acks.length === 0,
        `the ACK-only packet was answered by ${acks.length} packet(s) with an ACK section`,
      );
      await expectAlive(
        ctx,
        open,
        'payload.ack-only',
        'an ACK-only packet (silence proves nothing of an endpoint that answers nothing)',
      );
    },
  ),
  onConnection(
    {
      id: 'streams.ping',
      title: 'A PING is acknowledged with length 0 and delivers no data',
      clauses: ['payload.ping', 'ack.segment'],
    },
    async (ctx: CaseContext, open: Open) => {
      open.peer.send(open.conn.data(dataPayload(8, 0, new Uint8Array(0))), 'PING on stream 8');
      const ack = await open.peer.waitFor((d) => d.decoded?.payload?.ack?.streamId === 8, REPLY_MS);
      ctx.expect('payload.ping', ack !== null, `the PING on stream 8 was not acknowledged (${acksSeen(open, 8)})`);
      const a = ack.decoded?.payload?.ack;
      ctx.expect(
        'ack.segment',
        a?.offset === 0 && a.length === 0,
        `the PING was acknowledged as offset ${a?.offset} length ${a?.length}, expected 0 and 0`,
      );
      await open.peer.collect(SILENCE_MS / 2);
      const data = streamState(open.peer, open.conn, 8);
      ctx.expect('payload.ping', data.bytes.length === 0, `the endpoint echoed ${data.bytes.length} bytes for a PING`);
    },
  ),
  {
    id: 'streams.buffer-full',
    slow: 'fills the 16 MiB receive buffer',
    title: 'A segment that does not fit the receive buffer is dropped without an ACK; one that just fits is taken',
    clauses: ['stream.buffer-full'],
    level: 'MUST',
    role: 'server',
    timeoutMs: 50_000,
    async run(ctx: CaseContext) {
      // The first FULL_GAP bytes of the stream never come, so everything after them stays in the
      // receive buffer. The tester fills it to FULL_SPARE bytes short of ReceiveBufferCapacity
      // (resending what is not acknowledged, as a sender would), then sends FULL_SPARE + 1 bytes,
      // which must be dropped unacknowledged, and FULL_SPARE bytes at the same offset, which fit.
      const open = await handshake(ctx);
      const acked = new Set<string>();
      /** When each new ACK came, and when the last of any (a repeat too) did: the endpoint is still taking segments. */
      const ackTimes: number[] = [];
      let lastAckAt = 0;
      const previous = open.peer.onDatagram;
      open.peer.onDatagram = (d) => {
        previous?.(d);
        const a = d.decoded?.connId === open.conn.connId ? d.decoded.payload?.ack : null;
        if (!a || a.streamId !== FULL_STREAM) return;
        lastAckAt = open.peer.now();
        const key = `${a.offset}/${a.length}`;
        if (acked.has(key)) return;
        acked.add(key);
        ackTimes.push(lastAckAt);
      };
      const end = FULL_GAP + CAPACITY - FULL_SPARE;
      const data = pattern(end + FULL_SPARE + 1, 13);
      const size = maxUserData(ctx.endpoint.mtu, 'Data', end, null);
      const segments: [number, number][] = [];
      for (let at = FULL_GAP; at < end; at += size) segments.push([at, Math.min(size, end - at)]);
      const send = (offset: number, length: number, note: string) =>
        open.peer.send(open.conn.data(dataPayload(FULL_STREAM, offset, data.subarray(offset, offset + length))), note);
      const isAcked = ([offset, length]: [number, number]) => acked.has(`${offset}/${length}`);
      const started = open.peer.now();
      const elapsed = () => ((open.peer.now() - started) / 1000).toFixed(1);
      const stalled = () => open.peer.now() - Math.max(started, lastAckAt) >= FULL_STALL_MS;
      // A window of FULL_BATCH segments in flight, each resent when unacknowledged for
      // FULL_RESEND_MS: loopback loses only what overflows a socket buffer, and an endpoint
      // that paces its ACKs must not be buried under copies of what it is about to acknowledge.
      const inFlight = new Map<number, number>(); // segment index -> when last sent
      let next = 0;
      let sent = 0;
      const transmit = (i: number) => {
        const [offset, length] = segments[i] as [number, number];
        send(offset, length, `DATA stream ${FULL_STREAM} offset ${offset} (filling the receive buffer)`);
        inFlight.set(i, open.peer.now());
        sent++;
      };
      while ((next < segments.length || inFlight.size > 0) && open.peer.now() - started < FULL_FILL_MS && !stalled()) {
        for (const i of inFlight.keys()) if (isAcked(segments[i] as [number, number])) inFlight.delete(i);
        if (next === segments.length && inFlight.size === 0) break;
        for (const [i, at] of inFlight) if (open.peer.now() - at >= FULL_RESEND_MS) transmit(i);
        while (inFlight.size < FULL_BATCH && next < segments.length) transmit(next++);
        await open.peer.waitFor((d) => d.decoded?.payload?.ack?.streamId === FULL_STREAM, FULL_ROUND_MS);
      }
      const pending = segments.filter((seg) => !isAcked(seg));
      const taken = segments.filter(isAcked);
      const held = taken.reduce((n, [, length]) => n + length, 0);
      const progress =
        `of ${segments.length} segments (${end - FULL_GAP} bytes, ${FULL_SPARE} short of the ${CAPACITY}-byte ` +
        `receive buffer) the endpoint acknowledged ${taken.length} (${held} bytes) in ${elapsed()} s, ${sent} ` +
        `sent`;
      ctx.expect(
        'stream.buffer-full',
        pending.length === 0 || !stalled(),
        `${progress}, and no ACK at all for ${FULL_STALL_MS / 1000} s while the tester resent the rest: it ` +
          `stopped taking segments that fit`,
        {
          expected: `${end - FULL_GAP} bytes held`,
          observed: `${held} bytes acknowledged`,
        },
      );
      if (pending.length > 0) {
        // Still acknowledging, only slowly (the spec sets no ACK rate): the bound is out of reach.
        const recent = ackTimes.filter((t) => t >= open.peer.now() - FULL_RATE_MS).length / (FULL_RATE_MS / 1000);
        ctx.inconclusive(
          `${progress}; at the last ${recent.toFixed(0)} ACKs per second the buffer would take ` +
            `about ${recent > 0 ? Math.round(pending.length / recent) : '?'} s more to fill`,
        );
      }
      ctx.note(
        `${end - FULL_GAP} bytes held after ${sent} transmissions of ${segments.length} segments in ${elapsed()} s`,
      );
      send(
        end,
        FULL_SPARE + 1,
        `DATA stream ${FULL_STREAM} offset ${end}, ${FULL_SPARE + 1} bytes: one more than fits`,
      );
      await open.peer.collect(FULL_ROUND_MS);
      send(end, FULL_SPARE, `DATA stream ${FULL_STREAM} offset ${end}, ${FULL_SPARE} bytes: just fits`);
      const fits = await waitUntil(open.peer, () => isAcked([end, FULL_SPARE]), REPLY_MS);
      await open.peer.collect(SILENCE_MS);
      ctx.expect(
        'stream.buffer-full',
        !isAcked([end, FULL_SPARE + 1]),
        `the endpoint acknowledged ${FULL_SPARE + 1} bytes at offset ${end} with ${CAPACITY - FULL_SPARE} ` +
          `bytes held: a segment that does not fit the ${CAPACITY}-byte buffer was acknowledged, so its bytes ` +
          `are lost for good`,
      );
      const acksThere = acksOf(open, FULL_STREAM).filter((a) => a.offset === end);
      ctx.expect(
        'stream.buffer-full',
        fits,
        `the endpoint did not acknowledge the ${FULL_SPARE} bytes at offset ${end} that fill its receive buffer ` +
          `exactly within ${REPLY_MS} ms (ACKs at that offset: ` +
          `${acksThere.map((a) => `length ${a.length}`).join(', ') || 'none'})`,
      );
    },
  },
];
