import { constant, spec } from '@qotp/spec';
import { describe, expect, it } from 'vitest';
import { backoffNanos, initialRtt, rtoNanos, updateRtt } from '../src/index.js';
import { qotpErrorOf } from './helpers.js';

describe('RTO', () => {
  it('is the default before any sample and clamps afterwards', () => {
    expect(rtoNanos(initialRtt)).toBe(constant('DefaultRto'));
    expect(rtoNanos(updateRtt(initialRtt, 1_000))).toBe(constant('MinRto'));
    expect(rtoNanos(updateRtt(initialRtt, 10_000_000_000))).toBe(constant('MaxRto'));
  });

  it('follows the spec transmission table: sent at 0, 200, 600, 1400, 3000, 6200 ms with the default RTO', () => {
    let at = 0;
    const sentAt: number[] = [];
    for (const row of spec.retransmission.transmissions) {
      sentAt.push(at / 1_000_000);
      const wait = backoffNanos(constant('DefaultRto'), row.number);
      expect(wait).toBe(row.waitFactor === null ? null : row.waitFactor * constant('DefaultRto'));
      at += wait ?? 0;
    }
    expect(sentAt).toEqual([0, 200, 600, 1400, 3000, 6200]);
  });

  it('refuses transmission counts below 1', () => {
    expect(qotpErrorOf(() => backoffNanos(1, 0))).toBe('invalid-argument');
  });
});
