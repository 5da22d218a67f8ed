// The protocol monitor on timelines made by hand: each rule finds its violation, names its
// clause and the datagram, and a timeline that breaks nothing passes. The planted defects
// (test/defects.test.ts) show the same rules failing cases that are about something else.
import type { Payload } from '@qotp/reference';
import { describe, expect, it } from 'vitest';
import { monitor, MONITOR_RULES } from '../src/monitor.js';
import type { Datagram, Decoded } from '../src/capture/datagram.js';

const conn = 0x1234n;
let index = 0;
let clock = 0;
/** A datagram at `t` ms (one ms after the one before when left out; clean() starts the clock again). */
function datagram(
  direction: Datagram['direction'],
  decoded: Partial<Decoded> | null,
  size = 60,
  t = clock + 1,
): Datagram {
  clock = t;
  const full: Decoded | null =
    decoded === null
      ? null
      : { type: 'Data', connId: conn, sn: null, epoch: 0, payload: null, payloadHeader: null, ...decoded };
  return {
    index: index++,
    t,
    direction,
    from: 'a',
    to: 'b',
    bytes: new Uint8Array(size),
    note: null,
    decoded: full,
    error: null,
  };
}
const data = (streamId: number, offset: number, length: number): Payload => ({
  isClose: false,
  ack: null,
  stream: { streamId, offset, data: new Uint8Array(length) },
});
const ack = (streamId: number, offset: number, length: number): Payload => ({
  isClose: false,
  ack: { streamId, offset, length, window: 1 << 20 },
  stream: null,
});

/** The datagram with an ephemeral key of its own (bytes 9-40, where InitRcv carries it). */
function keyed(d: Datagram, fill: number): Datagram {
  d.bytes.fill(fill, 9, 41);
  return d;
}

/** A clean exchange: InitSnd, its InitRcv, one segment each way, the endpoint's not acknowledged yet. */
function clean(): Datagram[] {
  clock = 0;
  return [
    datagram('out', { type: 'InitSnd' }, 1400),
    datagram('in', { type: 'InitRcv', sn: 0, payload: ack(0, 0, 0) }),
    datagram('out', { sn: 1, payload: data(4, 0, 500) }),
    datagram('in', { sn: 1, payload: ack(4, 0, 500) }),
    datagram('in', { sn: 2, payload: data(4, 0, 500) }),
  ];
}

describe('the protocol monitor', () => {
  it('passes a timeline that breaks no rule', () => {
    expect(monitor(clean(), 1400)).toBeNull();
  });

  it.each([
    [
      'datagram-within-mtu',
      'payload.max-data',
      (t: Datagram[]) => t.push(datagram('in', { sn: 3, payload: data(4, 500, 10) }, 1401)),
      /1401 bytes, more than the declared MTU of 1400/,
    ],
    [
      'sequence-number-once',
      'crypto.sn.counter',
      (t: Datagram[]) => t.push(datagram('in', { sn: 2, payload: data(4, 500, 10) })),
      /sequence number 2 \(epoch 0\) again, first used by datagram #\d+/,
    ],
    [
      'ack-names-a-sent-segment',
      'ack.segment',
      (t: Datagram[]) => t.push(datagram('in', { sn: 3, payload: ack(4, 0, 501) })),
      /ACK of stream 4, offset 0, length 501, a segment the tester never sent/,
    ],
    [
      'window-at-most-capacity',
      'flow.window-advertised',
      (t: Datagram[]) =>
        t.push(
          datagram('in', {
            sn: 3,
            payload: { ...ack(4, 0, 500), ack: { streamId: 4, offset: 0, length: 500, window: 2 ** 25 } },
          }),
        ),
      /window of 33554432 bytes, more than the receive buffer capacity of 16777216/,
    ],
    [
      'nothing-past-own-close',
      'close.answer',
      (t: Datagram[]) =>
        t.push(
          datagram('in', { sn: 3, payload: { ...data(4, 500, 0), isClose: true } }),
          datagram('in', { sn: 4, payload: data(4, 500, 1) }),
        ),
      /data of stream 4 up to offset 501 after its CLOSE of stream 4 at 500/,
    ],
    [
      'nothing-past-own-close',
      'close.answer',
      (t: Datagram[]) =>
        t.push(
          datagram('in', { sn: 3, payload: { ...data(4, 500, 0), isClose: true } }),
          datagram('in', { sn: 4, payload: { ...data(4, 400, 0), isClose: true } }),
        ),
      /a CLOSE of stream 4 at 400 after its CLOSE of stream 4 at 500/,
    ],
    [
      'offset-width-exact',
      'payload.offset.width',
      (t: Datagram[]) => t.push(datagram('in', { sn: 3, payload: data(4, 500, 10), payloadHeader: 0xa0 })),
      /48-bit offsets although the largest offset, 500, fits in 24 bits/,
    ],
    [
      'offset-width-exact',
      'payload.offset.width',
      (t: Datagram[]) => t.push(datagram('in', { sn: 3, payload: data(4, 2 ** 24, 10), payloadHeader: 0x20 })),
      /24-bit offsets for an offset of 16777216/,
    ],
    [
      'handshake-order',
      'handshake.message-order',
      (t: Datagram[]) => t.push(datagram('in', { type: 'InitRcv', sn: 3, payload: ack(0, 0, 0) })),
      /InitRcv from the responder .* in state established of responder-handshake/,
    ],
    [
      'resend-after-rto',
      'retransmission.backoff',
      (t: Datagram[]) => t.push(datagram('in', { sn: 3, payload: data(4, 0, 500) }, 60, 90)),
      /transmission 2 of its segment of stream 4 at 0 \(500 B\) 85 ms after the previous one .* no sooner than 100 ms/,
    ],
    [
      'resend-after-rto',
      'retransmission.backoff',
      (t: Datagram[]) =>
        t.push(
          datagram('in', { sn: 3, payload: data(4, 0, 500) }, 60, 200),
          datagram('in', { sn: 4, payload: data(4, 0, 500) }, 60, 350),
        ),
      /transmission 3 .* 150 ms after the previous one .* after 2 transmission\(s\) .* no sooner than 200 ms/,
    ],
    [
      'sequence-numbers-from-zero',
      'crypto.sn.counter',
      (t: Datagram[]) =>
        t.push(
          datagram('out', { type: 'InitSnd', connId: conn + 5n }, 1400),
          keyed(datagram('in', { type: 'InitRcv', connId: conn + 5n, sn: 3, payload: ack(0, 0, 0) }), 5),
        ),
      /first sealed packet on this connection has sequence number 3, not 0/,
    ],
    [
      'ephemeral-key-per-connection',
      'crypto.keys.ephemeral-per-connection',
      (t: Datagram[]) =>
        t.push(
          datagram('out', { type: 'InitSnd', connId: conn + 7n }, 1400),
          datagram('in', { type: 'InitRcv', connId: conn + 7n, sn: 0, payload: ack(0, 0, 0) }),
        ),
      /the ephemeral key 0{16}\.\.\. again, which connection 1234 carried first \(datagram #\d+\)/,
    ],
    [
      'one-ping-per-offset',
      'stream.one-empty-segment',
      (t: Datagram[]) =>
        t.push(
          datagram('in', { sn: 3, payload: data(4, 500, 0) }, 60, 10),
          datagram('in', { sn: 4, payload: data(4, 500, 0) }, 60, 30),
        ),
      /a second PING of stream 4 at 500 20 ms after the first \(datagram #\d+\), which is unacknowledged/,
    ],
    [
      'at-most-six-transmissions',
      'retransmission.give-up',
      (t: Datagram[]) =>
        t.push(
          ...[1, 2, 3, 4, 5, 6].map((n) =>
            datagram('in', { sn: 2 + n, payload: data(4, 0, 500) }, 60, 6 + 100 * (2 ** n - 1)),
          ),
        ),
      /transmission 7 of its segment of stream 4 at 0 \(500 B\); the 6th was datagram #\d+ at 3106 ms/,
    ],
  ] as const)('%s: a datagram that breaks it fails under %s', (rule, clause, breakIt, says) => {
    const t = clean();
    breakIt(t);
    const v = monitor(t, 1400);
    expect(v?.rule).toBe(rule);
    expect(v?.clause).toBe(clause);
    expect(v?.datagram).toBe(t[t.length - 1]);
    expect(v?.message).toMatch(says);
  });

  it("judges only the endpoint's datagrams: the tester's own may do what a case needs", () => {
    const t = clean();
    t.push(datagram('out', { sn: 1, payload: data(9, 0, 1) }, 2000)); // an oversized, repeated-SN probe of the tester's
    expect(monitor(t, 1400)).toBeNull();
  });

  it('a resent CLOSE and data below the close offset break nothing', () => {
    const t = clean();
    t.push(
      datagram('in', { sn: 3, payload: { ...data(4, 500, 0), isClose: true } }, 60, 10),
      datagram('in', { sn: 4, payload: { ...data(4, 500, 0), isClose: true } }, 60, 120),
      datagram('in', { sn: 5, payload: data(4, 0, 500) }, 60, 130),
    );
    expect(monitor(t, 1400)).toBeNull();
  });

  it(
    'a resend a tester stall made look early is forgiven by the stall, and on a loaded machine one early copy ' +
      'alone; PINGs at one offset are no copies',
    () => {
      const t = clean();
      t.push(datagram('in', { sn: 3, payload: data(4, 0, 500) }, 60, 60));
      expect(monitor(t, 1400)?.rule).toBe('resend-after-rto');
      expect(monitor(t, 1400, 40)).toBeNull();
      // On a machine that loaded (the tester's own stall 25 ms or more), one copy too early is forgiven
      // as maybe the endpoint's starvation, a second is not, and the message names both.
      const loaded = clean();
      loaded.push(datagram('in', { sn: 3, payload: data(4, 0, 500) }, 60, 10));
      expect(monitor(loaded, 1400, 25)).toBeNull();
      loaded.push(datagram('in', { sn: 4, payload: data(4, 0, 500) }, 60, 20));
      expect(monitor(loaded, 1400, 25)?.message).toMatch(
        new RegExp(
          /^transmission 3 .* 10 ms after the previous one .*; /.source +
            /the first too early was datagram #\d+, transmission 2 .* 5 ms after the previous one/.source,
        ),
      );
      // PINGs are no copies of each other (never resent), and one acknowledged or an RTO old may be
      // followed by another.
      const probes = clean();
      probes.push(
        ...[1, 2, 3, 4, 5, 6, 7].map((n) => datagram('in', { sn: 2 + n, payload: data(4, 500, 0) }, 60, 120 * n)),
      );
      probes.push(
        datagram('out', { sn: 3, payload: ack(4, 500, 0) }, 60, 850),
        datagram('in', { sn: 10, payload: data(4, 500, 0) }, 60, 855),
      );
      expect(monitor(probes, 1400)).toBeNull();
      // An ACK counts only once the endpoint can have heard it: a PING right behind it left before it arrived.
      const crossed = clean();
      crossed.push(
        datagram('in', { sn: 3, payload: data(4, 500, 0) }, 60, 100),
        datagram('out', { sn: 3, payload: ack(4, 500, 0) }, 60, 100.2),
        datagram('in', { sn: 4, payload: data(4, 500, 0) }, 60, 100.5),
      );
      expect(monitor(crossed, 1400)).toMatchObject({
        rule: 'one-ping-per-offset',
        message: expect.stringContaining(
          'acknowledged by the tester only 0.3 ms before (too soon for the endpoint to have heard it), and whose RTO',
        ),
      });
    },
  );

  it(
    "follows the endpoint's handshake machine as an initiator too: no Data before a reply, its first packet not " +
      'after Data',
    () => {
      const client = 0x99n;
      const dial = (n = 0) => datagram('in', { type: 'InitSnd', connId: client }, 1400, 1 + 200 * (2 ** n - 1));
      const early = [dial(), datagram('in', { connId: client, sn: 1, payload: data(0, 0, 10) })];
      expect(monitor(early, 1400)).toMatchObject({
        rule: 'handshake-order',
        message: expect.stringMatching(/^Data from the initiator .* in state awaiting-reply of initiator-handshake/),
      });
      const late = [
        dial(),
        datagram('out', { type: 'InitRcv', connId: client, sn: 0, payload: ack(0, 0, 0) }),
        datagram('in', { connId: client, sn: 1, payload: data(0, 0, 10) }),
        dial(1),
      ];
      expect(monitor(late, 1400)).toMatchObject({
        rule: 'handshake-order',
        message: expect.stringMatching(/^InitSnd from the initiator .* in state established/),
      });
      // A copy of the first packet that crossed the reply, before the endpoint showed it got it, is allowed.
      const crossed = [
        dial(),
        datagram('out', { type: 'InitRcv', connId: client, sn: 0, payload: ack(0, 0, 0) }),
        dial(1),
        datagram('in', { connId: client, sn: 1, payload: data(0, 0, 10) }),
      ];
      expect(monitor(crossed, 1400)).toBeNull();
    },
  );

  it('a second connection with a key of its own, its first reply at sequence number 0, breaks nothing', () => {
    const t = clean();
    t.push(
      datagram('out', { type: 'InitSnd', connId: conn + 9n }, 1400),
      keyed(datagram('in', { type: 'InitRcv', connId: conn + 9n, sn: 0, payload: ack(0, 0, 0) }), 9),
    );
    expect(monitor(t, 1400)).toBeNull();
  });

  it('counts sequence numbers per connection and epoch', () => {
    const t = clean();
    t.push(datagram('in', { sn: 2, epoch: 1, payload: data(4, 500, 10) }));
    t.push(datagram('in', { connId: conn + 1n, sn: 2, payload: null }));
    expect(monitor(t, 1400)).toBeNull();
  });

  it(
    'every rule names a clause of the spec of a class a monitor can judge (datagram, sequence, across ' +
      'connections)',
    async () => {
      const { spec } = await import('@qotp/spec');
      for (const r of MONITOR_RULES)
        expect(spec.clauses.find((c) => c.id === r.clause)?.class, `${r.id} -> ${r.clause}`).toMatch(
          /^(datagram|sequence|across-connections)$/,
        );
    },
  );
});
