// The next revision of the Go original (spec.next: the upstream main branch, not released) as
// the tester recognises it: a payload that does not decode by v0.2.19's layout is read again by
// that revision's (a flags byte without a version field, then ACK, MTU value, new keys and the
// stream header as its type says). Recognising is all: the suite does not check that revision.
import { spec } from '@qotp/spec';

const next = spec.next;
const bit = (name: string) => {
  const f = next?.payload.header.bits.find((b) => b.name === name);
  if (f === undefined) throw new Error(`spec.next.payload.header has no ${name}`);
  return (byte: number) => (byte >> f.shift) & ((1 << f.width) - 1);
};
const NARROW = spec.payload.offsetWidths.narrowBytes;
const WIDE = spec.payload.offsetWidths.wideBytes;
const KEY = 32;

/** The revision, in words, e.g. "the upstream main branch at 0530ac8 (2026-03-02, not released)". */
export const nextRevision =
  next === undefined ? null : `the upstream ${next.branch} branch at ${next.revision} (${next.date}, not released)`;

/** What the payload says under the next revision's layout, or null when it does not parse so. */
export function readNextPayload(p: Uint8Array): string | null {
  if (next === undefined || p.length < 1) return null;
  const flags = p[0] as number;
  if (bit('reserved')(flags) !== 0) return null;
  const type = next.payload.types.find((t) => t.code === bit('type')(flags));
  if (type === undefined) return null;
  const hasAck = bit('hasAck')(flags) === 1;
  const offset = bit('wideOffsets')(flags) === 1 ? WIDE : NARROW;
  const ack = hasAck ? 4 + offset + 2 + 1 : 0;
  const fixed =
    1 +
    ack +
    (type.mtuUpdate ? next.payload.mtuValueSize : 0) +
    (type.keyUpdate ? KEY : 0) +
    (type.keyUpdateAck ? KEY : 0);
  if (p.length < fixed) return null;
  const streamHeader = type.code !== 0 || !hasAck || p.length > fixed;
  if (streamHeader && p.length < fixed + 4 + offset) return null;
  const data = streamHeader ? p.length - fixed - 4 - offset : 0;
  return `a payload of type ${type.name}${hasAck ? ' with an ACK' : ''}${streamHeader ? `, a stream header and ${data} data bytes` : ''}`;
}
