// The next revision of the Go original (spec.next: the upstream main branch, not released) as
// the tester recognises it: a payload that does not decode by v0.2.19's layout is read again by
// that revision's (the reference's decodeNextPayload: a flags byte without a version field,
// then ACK, MTU value, new keys and the stream header as its type says). Recognising is all:
// the suite does not check that revision.
import { decodeNextPayload } from '@qotp/reference';
import { spec } from '@qotp/spec';

const next = spec.next;
const reserved = next?.payload.header.bits.find((b) => b.name === 'reserved');

/** The revision, in words, e.g. "the upstream main branch at 0530ac8 (2026-03-02, not released)". */
export const nextRevision =
  next === undefined ? null : `the upstream ${next.branch} branch at ${next.revision} (${next.date}, not released)`;

/**
 * What the payload says under the next revision's layout, or null when it does not parse so.
 * Reserved bits that are set count against it: the Go original ignores them, but a payload of
 * another layout that happens to parse would rarely have them clear.
 */
export function readNextPayload(p: Uint8Array): string | null {
  if (next === undefined || reserved === undefined || p.length < 1) return null;
  if (((p[0] as number) >> reserved.shift) & ((1 << reserved.width) - 1)) return null;
  let decoded;
  try {
    decoded = decodeNextPayload(p);
  } catch {
    return null;
  }
  const type = next.payload.types.find((t) => t.code === decoded.type)?.name ?? `type ${decoded.type}`;
  const stream = decoded.stream === null ? '' : `, a stream header and ${decoded.stream.data.length} data bytes`;
  return `a payload of type ${type}${decoded.ack !== null ? ' with an ACK' : ''}${stream}`;
}
