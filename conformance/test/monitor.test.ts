// The protocol monitor on timelines made by hand: each rule finds its violation, names its
// clause and the datagram, and a timeline that breaks nothing passes. The planted defects
// (test/defects.test.ts) show the same rules failing cases that are about something else.
import type { Payload } from '@qotp/reference';
import { describe, expect, it } from 'vitest';
import { monitor, MONITOR_RULES } from '../src/monitor.js';
import type { Datagram, Decoded } from '../src/peer/datagram.js';

const conn = 0x1234n;
let index = 0;
function datagram(direction: Datagram['direction'], decoded: Partial<Decoded> | null, size = 60): Datagram {
  const full: Decoded | null = decoded === null ? null : { type: 'Data', connId: conn, sn: null, epoch: 0, payload: null, payloadHeader: null, ...decoded };
  return { index: index++, t: index, direction, from: 'a', to: 'b', bytes: new Uint8Array(size), note: null, decoded: full, error: null };
}
const data = (streamId: number, offset: number, length: number): Payload => ({ isClose: false, ack: null, stream: { streamId, offset, data: new Uint8Array(length) } });
const ack = (streamId: number, offset: number, length: number): Payload => ({ isClose: false, ack: { streamId, offset, length, window: 1 << 20 }, stream: null });

/** A clean exchange: InitSnd, its InitRcv, one segment each way, each acknowledged. */
const clean = (): Datagram[] => [
  datagram('out', { type: 'InitSnd' }, 1400),
  datagram('in', { type: 'InitRcv', sn: 0, payload: ack(0, 0, 0) }),
  datagram('out', { sn: 1, payload: data(4, 0, 500) }),
  datagram('in', { sn: 1, payload: ack(4, 0, 500) }),
  datagram('in', { sn: 2, payload: data(4, 0, 500) }),
  datagram('out', { sn: 2, payload: ack(4, 0, 500) }),
];

describe('the protocol monitor', () => {
  it('passes a timeline that breaks no rule', () => {
    expect(monitor(clean(), 1400)).toBeNull();
  });

  it.each([
    ['datagram-within-mtu', 'payload.max-data', (t: Datagram[]) => t.push(datagram('in', { sn: 3, payload: data(4, 500, 10) }, 1401)), /1401 bytes, more than the declared MTU of 1400/],
    ['sequence-number-once', 'crypto.sn.counter', (t: Datagram[]) => t.push(datagram('in', { sn: 2, payload: data(4, 500, 10) })), /sequence number 2 \(epoch 0\) again, first used by datagram #\d+/],
    ['ack-names-a-sent-segment', 'ack.segment', (t: Datagram[]) => t.push(datagram('in', { sn: 3, payload: ack(4, 0, 501) })), /ACK of stream 4, offset 0, length 501, a segment the tester never sent/],
    ['window-at-most-capacity', 'flow.window-advertised', (t: Datagram[]) => t.push(datagram('in', { sn: 3, payload: { ...ack(4, 0, 500), ack: { streamId: 4, offset: 0, length: 500, window: 2 ** 25 } } })), /window of 33554432 bytes, more than the receive buffer capacity of 16777216/],
    ['nothing-past-own-close', 'close.answer', (t: Datagram[]) => t.push(datagram('in', { sn: 3, payload: { ...data(4, 500, 0), isClose: true } }), datagram('in', { sn: 4, payload: data(4, 500, 1) })), /data of stream 4 up to offset 501 after its CLOSE of stream 4 at 500/],
    ['nothing-past-own-close', 'close.answer', (t: Datagram[]) => t.push(datagram('in', { sn: 3, payload: { ...data(4, 500, 0), isClose: true } }), datagram('in', { sn: 4, payload: { ...data(4, 400, 0), isClose: true } })), /a CLOSE of stream 4 at 400 after its CLOSE of stream 4 at 500/],
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
    t.push(datagram('in', { sn: 3, payload: { ...data(4, 500, 0), isClose: true } }), datagram('in', { sn: 4, payload: { ...data(4, 500, 0), isClose: true } }), datagram('in', { sn: 5, payload: data(4, 0, 500) }));
    expect(monitor(t, 1400)).toBeNull();
  });

  it('counts sequence numbers per connection and epoch', () => {
    const t = clean();
    t.push(datagram('in', { sn: 2, epoch: 1, payload: data(4, 500, 10) }));
    t.push(datagram('in', { connId: conn + 1n, sn: 2, payload: null }));
    expect(monitor(t, 1400)).toBeNull();
  });

  it('every rule names a clause of the spec of a class a monitor can judge (datagram, sequence, across connections)', async () => {
    const { spec } = await import('@qotp/spec');
    for (const r of MONITOR_RULES) expect(spec.clauses.find((c) => c.id === r.clause)?.class, `${r.id} -> ${r.clause}`).toMatch(/^(datagram|sequence|across-connections)$/);
  });
});
