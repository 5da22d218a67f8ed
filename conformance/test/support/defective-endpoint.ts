// A reference echo server with one deliberate defect, to prove that the runner fails
// where it should. The defects are put in by a relay in front of an unmodified
// reference endpoint: it holds the endpoint's secrets (from its key log callback) and
// rewrites datagrams in flight, so the reference itself needs no test hooks.
//
//   node --import tsx defective-endpoint.ts --defect NAME [--mode echo|sink] [--keylog FILE]
//   prints "qotp listening <relay address> <public key hex>" like the real CLI
//
// What each defect does, and which case must fail under which clause: planted-defects.ts.
import { bitField, constant, fieldOffset, headerSize, spec } from '@qotp/spec';
import {
  decodeInitCryptoSnd,
  decodePayload,
  decodeRcvWindow,
  encodePayload,
  encodeRcvWindow,
  headerByte,
  messageTypeOf,
  publicKeyOf,
  sharedSecret,
  openPacket,
  readUint64,
  sealPacket,
  writeUint64,
  xorSnMask,
  type Ack,
  type Payload,
  type StreamSection,
} from '@qotp/reference';
import { parseHostPort, QotpSocket, type QotpStream } from '@qotp/reference/node';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { PROBE_STREAM } from '../../src/kit/payloads.js';
import { parseArgs } from 'node:util';
import { isType } from './message-type.js';
import { DEFECTS, type Defect } from './planted-defects.js';

const DATA_HEADER = headerSize('Data');
const MTU = constant('DefaultMtu');
const RTO_MS = constant('DefaultRto') / 1e6;
const CAPACITY = constant('ReceiveBufferCapacity');
const IDLE_MS = constant('IdleTimeout') / 1e6;
const MIN_PACKET_SIZE = constant('MinPacketSize');
const EP_KEY_AT = fieldOffset('InitSnd', 'pubKeyEpSnd');
const PAYLOAD_VERSION = bitField(spec.payload.header, 'version');
const PAYLOAD_VERSION_MASK = ((1 << PAYLOAD_VERSION.width) - 1) << PAYLOAD_VERSION.shift;

/** Opens a Data packet with the connection's secret, or null when it is no Data packet or does not open. */
function openData(
  bytes: Uint8Array,
  secrets: Map<bigint, Uint8Array>,
  sealedByInitiator: boolean,
): { secret: Uint8Array; sn: number; epoch: number; payload: Payload } | null {
  try {
    if (messageTypeOf(bytes) !== 'Data') return null;
    const secret = secrets.get(readUint64(bytes, 1));
    if (secret === undefined) return null;
    const opened = openPacket(bytes, DATA_HEADER, { secret, epoch: 0, sealedByInitiator });
    return { secret, sn: opened.sn, epoch: opened.epoch, payload: decodePayload(opened.payload) };
  } catch {
    return null;
  }
}

/** A Data packet of the endpoint's with a stream section: the packet opened and the section; null for anything else. */
function endpointSegment(
  bytes: Uint8Array,
  secrets: Map<bigint, Uint8Array>,
): { o: NonNullable<ReturnType<typeof openData>>; s: StreamSection } | null {
  const o = openData(bytes, secrets, false);
  const s = o?.payload.stream;
  return o === null || s === null || s === undefined ? null : { o, s };
}

/**
 * A data segment the endpoint sent in a Data packet: the packet opened, the segment and its key
 * "connection/stream/offset"; null for anything else.
 */
function endpointData(
  bytes: Uint8Array,
  secrets: Map<bigint, Uint8Array>,
): { opened: NonNullable<ReturnType<typeof openData>>; segment: StreamSection; key: string } | null {
  const seg = endpointSegment(bytes, secrets);
  if (seg === null || seg.s.data.length === 0) return null;
  return { opened: seg.o, segment: seg.s, key: `${readUint64(bytes, 1)}/${seg.s.streamId}/${seg.s.offset}` };
}

const isInitSnd = (bytes: Uint8Array): boolean => isType(bytes, 'InitSnd');

/** Transmissions counted by segment key: add() counts one more and returns the count. */
function tally(): { add: (key: string) => number; get: (key: string) => number | undefined } {
  const counts = new Map<string, number>();
  return {
    add: (key) => {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      return n;
    },
    get: (key) => counts.get(key),
  };
}

/** Opens any encrypted packet the endpoint sent (a reply or Data), or null. */
function openFromEndpoint(
  bytes: Uint8Array,
  secrets: Map<bigint, Uint8Array>,
): { secret: Uint8Array; sn: number; epoch: number; plaintext: Uint8Array; header: number } | null {
  try {
    const type = messageTypeOf(bytes);
    if (type === 'InitSnd' || type === 'InitCryptoSnd') return null;
    const secret = secrets.get(readUint64(bytes, 1));
    if (secret === undefined) return null;
    const header = headerSize(type);
    const opened = openPacket(bytes, header, { secret, epoch: 0, sealedByInitiator: false });
    return { secret, sn: opened.sn, epoch: opened.epoch, plaintext: opened.payload, header };
  } catch {
    return null;
  }
}

/**
 * Seals `plaintext` under `header` as a packet that opened as `o` was sealed (its secret, sequence
 * number and epoch, by the responder), but for what `change` says.
 */
function sealLike(
  header: Uint8Array,
  plaintext: Uint8Array,
  o: { secret: Uint8Array; sn: number; epoch: number },
  change: { secret?: Uint8Array; sn?: number; sealedByInitiator?: boolean } = {},
): Uint8Array {
  return sealPacket(header, plaintext, {
    secret: change.secret ?? o.secret,
    sn: change.sn ?? o.sn,
    epoch: o.epoch,
    sealedByInitiator: change.sealedByInitiator ?? false,
  });
}

/** Reseals what the endpoint sent with other keys or another plaintext. */
function resealed(
  bytes: Uint8Array,
  secrets: Map<bigint, Uint8Array>,
  change: (o: NonNullable<ReturnType<typeof openFromEndpoint>>) => {
    secret?: Uint8Array;
    sealedByInitiator?: boolean;
    plaintext?: Uint8Array;
  },
): Uint8Array {
  const o = openFromEndpoint(bytes, secrets);
  if (o === null) return bytes;
  const c = change(o);
  return sealLike(bytes.slice(0, o.header), c.plaintext ?? o.plaintext, o, c);
}

/**
 * A payload in another layout, as the upstream main branch's payload header has it: bit 0
 * ACK, bit 1 wide offsets, bits 3-5 the type (0 data, 2 close), no version field; then the
 * ACK (stream, offset, length, window), the stream header and the data.
 */
function otherLayout(p: Payload): Uint8Array {
  const wide = Math.max(p.ack?.offset ?? 0, p.stream?.offset ?? 0) > 0xffffff;
  const offsetBytes = wide ? 6 : 3;
  const out: number[] = [(p.ack === null ? 0 : 1) | (wide ? 2 : 0) | ((p.isClose ? 2 : 0) << 3)];
  const uint = (v: number, bytes: number) => {
    for (let i = 0; i < bytes; i++) out.push(Math.floor(v / 2 ** (8 * i)) & 0xff);
  };
  if (p.ack !== null) {
    uint(p.ack.streamId, 4);
    uint(p.ack.offset, offsetBytes);
    uint(p.ack.length, 2);
    out.push(encodeRcvWindow(p.ack.window));
  }
  if (p.stream !== null) {
    uint(p.stream.streamId, 4);
    uint(p.stream.offset, offsetBytes);
    out.push(...p.stream.data);
  }
  return new Uint8Array(out);
}

const WIDE = bitField(spec.payload.header, 'wideOffsets');
const { narrowBytes, wideBytes } = spec.payload.offsetWidths;
/** Bytes of a section up to the end of its (narrow) offset field: the fixed fields before it and the offset. */
const throughOffset = (section: { size: number | string; encoding: string }[]): number => {
  const at = section.findIndex((f) => f.encoding === 'uint24le');
  return section.slice(0, at).reduce((n, f) => n + (typeof f.size === 'number' ? f.size : 0), 0) + narrowBytes;
};
const ACK_THROUGH_OFFSET = 1 + throughOffset(spec.payload.ackSection); // after the header byte
const ACK_SECTION =
  ACK_THROUGH_OFFSET -
  1 +
  spec.payload.ackSection
    .filter((f) => f.name === 'ackLength' || f.name === 'ackWindow')
    .reduce((n, f) => n + (f.size as number), 0);
const STREAM_THROUGH_OFFSET = throughOffset(spec.payload.streamSection);

/**
 * The payload encoded with 48-bit offsets even where 24 bits would do: zero high bytes after each offset, and the wide
 * bit set.
 */
function widened(p: Payload): Uint8Array {
  const narrow = encodePayload(p);
  if ((narrow[0]! >> WIDE.shift) & 1) return narrow;
  const ends = [
    ...(p.ack === null ? [] : [ACK_THROUGH_OFFSET]),
    ...(p.stream === null ? [] : [1 + (p.ack === null ? 0 : ACK_SECTION) + STREAM_THROUGH_OFFSET]),
  ];
  const out = new Uint8Array(narrow.length + ends.length * (wideBytes - narrowBytes));
  let from = 0;
  let to = 0;
  for (const end of [...ends, narrow.length]) {
    out.set(narrow.subarray(from, end), to);
    to += end - from + (end === narrow.length ? 0 : wideBytes - narrowBytes);
    from = end;
  }
  out[0]! |= 1 << WIDE.shift;
  return out;
}

const reseal = (
  bytes: Uint8Array,
  o: { secret: Uint8Array; sn: number; epoch: number },
  payload: Payload,
  sealedByInitiator: boolean,
): Uint8Array => sealLike(bytes.slice(0, DATA_HEADER), encodePayload(payload), o, { sealedByInitiator });

/**
 * Seals new Data packets of a connection (the one `connOf` names) under sequence numbers counted
 * from `from`, far above any the endpoint or the tester reaches in a case, so that no nonce is
 * used twice: the packets a defect adds, sealed as the side `sealedByInitiator` says.
 */
function minter(
  from: number,
): (
  connOf: Uint8Array,
  payload: Payload,
  secret: Uint8Array,
  sealedByInitiator: boolean,
  epoch?: number,
) => Uint8Array {
  let sn = from;
  return (connOf, payload, secret, sealedByInitiator, epoch = 0) => {
    const header = new Uint8Array(DATA_HEADER);
    header[0] = headerByte('Data');
    header.set(connOf.subarray(1, 9), 1);
    return sealPacket(header, encodePayload(payload), { secret, sn: sn++, epoch, sealedByInitiator });
  };
}

/**
 * Rewrites one datagram: `send` passes it on, `back` answers the side it came from; `tester`
 * is the address ("host:port") of the tester's socket it came from or goes to, and a datagram
 * towards the tester may be sent to another of its sockets instead (`send(b, to)`).
 */
type Rewrite = (
  bytes: Uint8Array,
  send: (b: Uint8Array, to?: string) => void,
  back: (b: Uint8Array) => void,
  tester: string,
) => void;

/** Changes the ACK section of every Data packet the endpoint sends; the rest passes unchanged. */
const rewriteAcks =
  (secrets: Map<bigint, Uint8Array>, change: (ack: Ack, bytes: Uint8Array) => Ack): Rewrite =>
  (b, send) => {
    const o = openData(b, secrets, false);
    if (o === null || o.payload.ack === null) return send(b);
    send(reseal(b, o, { ...o.payload, ack: change(o.payload.ack, b) }, false));
  };

/**
 * Passes everything and answers each of the tester's Data packets that `ackFor` picks with an
 * ACK-only packet of the endpoint's own (fresh sequence numbers far above the endpoint's),
 * advertising the whole receive buffer.
 */
function answeredWithAck(
  secrets: Map<bigint, Uint8Array>,
  ackFor: (p: Payload) => Omit<Ack, 'window'> | null,
): { toEndpoint: Rewrite; toTester: Rewrite } {
  const mint = minter(2 ** 32);
  return {
    toEndpoint: (b, send, back) => {
      send(b);
      const o = openData(b, secrets, true);
      const ack = o === null ? null : ackFor(o.payload);
      if (o === null || ack === null) return;
      back(mint(b, { isClose: false, ack: { ...ack, window: CAPACITY }, stream: null }, o.secret, false));
    },
    toTester: (b, send) => send(b),
  };
}

/**
 * Passes everything and, after each of the endpoint's Data packets with a stream section that
 * `extra` answers, sends the tester that packet's stream section `extra` makes, in a Data packet
 * of the endpoint's own (fresh sequence numbers far above the endpoint's).
 */
function segmentAdded(
  secrets: Map<bigint, Uint8Array>,
  extra: (o: NonNullable<ReturnType<typeof openData>>, s: StreamSection) => StreamSection | null,
): { toEndpoint: Rewrite; toTester: Rewrite } {
  const mint = minter(2 ** 32);
  return {
    toEndpoint: (b, send) => send(b),
    toTester: (b, send) => {
      send(b);
      const seg = endpointSegment(b, secrets);
      const added = seg === null ? null : extra(seg.o, seg.s);
      if (seg === null || added === null) return;
      send(mint(b, { isClose: false, ack: null, stream: added }, seg.o.secret, false, seg.o.epoch));
    },
  };
}

/** The rewrites of one defect: towards the endpoint and towards the tester. */
function rewrites(
  defect: Defect,
  secrets: Map<bigint, Uint8Array>,
  identity: Uint8Array,
): { toEndpoint: Rewrite; toTester: Rewrite } {
  const pass: Rewrite = (b, send) => send(b);
  const drop: Rewrite = () => {};
  switch (defect) {
    case 'silent-after-handshake':
      return {
        toEndpoint: pass,
        toTester: (b, send) => void (isType(b, 'InitRcv', 'InitCryptoRcv') && send(b)),
      };
    case 'all-wrong-direction-bit':
      return {
        toEndpoint: pass,
        toTester: (b, send) => send(resealed(b, secrets, () => ({ sealedByInitiator: true }))),
      };
    case 'wrong-key': {
      const own = new Uint8Array(32).fill(7);
      return { toEndpoint: pass, toTester: (b, send) => send(resealed(b, secrets, () => ({ secret: own }))) };
    }
    case 'reflector':
      return { toEndpoint: (b, _send, back) => back(b), toTester: drop };
    case 'other-layout':
      return {
        toEndpoint: pass,
        toTester: (b, send) =>
          send(
            resealed(b, secrets, (o) => {
              // InitCryptoRcv and InitRcv carry their payload as Data does; an empty one stays empty.
              if (o.plaintext.length === 0) return {};
              try {
                return { plaintext: otherLayout(decodePayload(o.plaintext)) };
              } catch {
                return {};
              }
            }),
          ),
      };
    case 'oversized':
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const big = new Uint8Array(65_488);
          big.set(b);
          send(big);
        },
      };
    case 'none':
    case 'keylog-upper-case': // a defect of the key log alone (main)
      return { toEndpoint: pass, toTester: pass };
    case 'wrong-direction-bit':
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const o = openData(b, secrets, false);
          send(o === null ? b : reseal(b, o, o.payload, true));
        },
      };
    case 'sn-mask-counter-0':
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          try {
            const type = messageTypeOf(b);
            const secret = secrets.get(readUint64(b, 1));
            if (type === 'InitSnd' || type === 'InitCryptoSnd' || secret === undefined) return send(b);
            const h = headerSize(type);
            const out = b.slice();
            const sealed = out.subarray(h + 6);
            const sn = xorSnMask(secret, sealed, out.subarray(h, h + 6));
            out.set(xorSnMask(secret, sealed, sn, 0), h);
            send(out);
          } catch {
            send(b);
          }
        },
      };
    case 'ack-length-off-by-one':
      return {
        toEndpoint: pass,
        toTester: rewriteAcks(secrets, (ack) => ({ ...ack, length: ack.length + 1 })),
      };
    case 'cumulative-acks': {
      // Per connection and stream: the end of what was acknowledged from offset 0 without a gap.
      const ends = new Map<string, number>();
      return {
        toEndpoint: pass,
        toTester: rewriteAcks(secrets, (ack, b) => {
          const key = `${readUint64(b, 1)}/${ack.streamId}`;
          const end = ends.get(key) ?? 0;
          if (ack.offset > end) return ack;
          const reached = Math.max(end, ack.offset + ack.length);
          ends.set(key, reached);
          return { ...ack, offset: 0, length: Math.min(reached, 0xffff) };
        }),
      };
    }
    case 'unknown-id-by-address':
      return {
        toEndpoint: (b, send) => {
          if (b.length < DATA_HEADER || openData(b, secrets, true) !== null || messageTypeOf(b) !== 'Data')
            return send(b);
          for (const [connId, secret] of secrets) {
            try {
              const opened = openPacket(b, DATA_HEADER, { secret, epoch: 0, sealedByInitiator: true });
              const header = b.slice(0, DATA_HEADER);
              writeUint64(header, 1, connId);
              return send(sealLike(header, opened.payload, { ...opened, secret }, { sealedByInitiator: true }));
            } catch {
              // not this connection's keys
            }
          }
          send(b);
        },
        toTester: pass,
      };
    case 'close-ignored':
      return {
        toEndpoint: (b, send) => {
          const o = openData(b, secrets, true);
          send(
            o === null || !o.payload.isClose || o.payload.stream === null
              ? b
              : reseal(b, o, { ...o.payload, isClose: false }, true),
          );
        },
        toTester: pass,
      };
    case 'short-init-snd-answered':
      return {
        toEndpoint: (b, send) => {
          if (!isInitSnd(b) || b.length >= MTU) return send(b);
          const padded = new Uint8Array(MTU);
          padded.set(b);
          send(padded);
        },
        toTester: pass,
      };
    case 'window-always-full':
    case 'window-counts-received': {
      const received = new Map<string, number>(); // first-time segments per connection: key -> length
      const total = (connId: bigint) =>
        [...received.entries()].filter(([k]) => k.startsWith(`${connId}/`)).reduce((n, [, l]) => n + l, 0);
      return {
        toEndpoint: (b, send) => {
          const o = openData(b, secrets, true);
          const s = o?.payload.stream;
          if (s) received.set(`${readUint64(b, 1)}/${s.streamId}/${s.offset}`, s.data.length);
          send(b);
        },
        toTester: rewriteAcks(secrets, (ack, b) => {
          const window = defect === 'window-always-full' ? CAPACITY : Math.max(0, CAPACITY - total(readUint64(b, 1)));
          return { ...ack, window: decodeRcvWindow(encodeRcvWindow(window)) };
        }),
      };
    }
    case 'small-window-as-zero':
    case 'small-window-larger':
      return {
        toEndpoint: (b, send) => {
          const o = openData(b, secrets, true);
          const ack = o?.payload.ack;
          if (o === null || ack === null || ack === undefined || ack.window >= 65_536) return send(b);
          const window = defect === 'small-window-as-zero' ? 0 : decodeRcvWindow(encodeRcvWindow(ack.window * 4));
          send(reseal(b, o, { ...o.payload, ack: { ...ack, window } }, true));
        },
        toTester: pass,
      };
    case 'reply-to-responder-accepted': {
      const mint = minter(1 << 30);
      return {
        toEndpoint: (b, send) => {
          const secret = b.length >= DATA_HEADER ? secrets.get(readUint64(b, 1)) : undefined;
          if (!isType(b, 'InitRcv', 'InitCryptoRcv') || secret === undefined) return send(b);
          send(
            mint(
              b,
              {
                isClose: false,
                ack: null,
                stream: { streamId: PROBE_STREAM, offset: 0, data: new TextEncoder().encode('the forged reply') },
              },
              secret,
              true,
            ),
          );
        },
        toTester: pass,
      };
    }
    case 'no-window-probe':
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const { o, s } = endpointSegment(b, secrets) ?? {};
          if (o === undefined || s === undefined || s.data.length > 0 || o.payload.isClose) send(b);
        },
      };
    case 'no-give-up-wait': {
      // From a segment's sixth transmission on, the connection is gone both ways.
      const copies = tally();
      const closed = new Set<bigint>();
      const open = (b: Uint8Array) => b.length < 9 || !closed.has(readUint64(b, 1));
      return {
        toEndpoint: (b, send) => void (open(b) && send(b)),
        toTester: (b, send) => {
          if (!open(b)) return;
          const s = openData(b, secrets, false)?.payload.stream;
          if (s !== null && s !== undefined && s.data.length > 0) {
            const key = `${readUint64(b, 1)}/${s.streamId}/${s.offset}`;
            const n = copies.add(key);
            if (n === constant('MaxTransmissions')) closed.add(readUint64(b, 1));
          }
          send(b);
        },
      };
    }
    case 'reply-ack-off-by-one':
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          if (!isType(b, 'InitRcv', 'InitCryptoRcv')) return send(b);
          send(
            resealed(b, secrets, (o) => {
              const p = decodePayload(o.plaintext);
              return p.ack === null
                ? {}
                : { plaintext: encodePayload({ ...p, ack: { ...p.ack, length: p.ack.length + 1 } }) };
            }),
          );
        },
      };
    case 'init-snd-moves-address': {
      // Where each connection's datagrams go: the tester socket of its latest InitSnd.
      const address = new Map<bigint, string>();
      return {
        toEndpoint: (b, send, _back, tester) => {
          if (isInitSnd(b)) address.set(readUint64(b, 1), tester);
          send(b);
        },
        toTester: (b, send) => send(b, b.length >= 9 ? address.get(readUint64(b, 1)) : undefined),
      };
    }
    case 'resends-every-segment': {
      // Per connection and stream, the endpoint's segments the tester has not acknowledged.
      const unacked = new Map<string, Map<number, Uint8Array>>();
      const mint = minter(2 ** 32);
      return {
        toEndpoint: (b, send) => {
          const ack = openData(b, secrets, true)?.payload.ack;
          if (ack) unacked.get(`${readUint64(b, 1)}/${ack.streamId}`)?.delete(ack.offset);
          send(b);
        },
        toTester: (b, send) => {
          send(b);
          const d = endpointData(b, secrets);
          if (d === null) return;
          const { opened: o, segment: s } = d;
          const key = `${readUint64(b, 1)}/${s.streamId}`;
          const segments = unacked.get(key) ?? new Map<number, Uint8Array>();
          unacked.set(key, segments);
          if (!segments.has(s.offset)) return void segments.set(s.offset, s.data);
          // A resend: the later segments of the stream go again with it.
          for (const [offset, data] of segments) {
            if (offset === s.offset) continue;
            send(
              mint(
                b,
                { isClose: false, ack: null, stream: { streamId: s.streamId, offset, data } },
                o.secret,
                false,
                o.epoch,
              ),
            );
          }
        },
      };
    }
    case 'close-data-echoed': {
      // The data of each CLOSE from the tester that carried some, by connection and stream.
      const carried = new Map<string, { offset: number; data: Uint8Array }>();
      return {
        toEndpoint: (b, send) => {
          const p = openData(b, secrets, true)?.payload;
          if (p?.isClose && p.stream !== null && p.stream.data.length > 0)
            carried.set(`${readUint64(b, 1)}/${p.stream.streamId}`, { offset: p.stream.offset, data: p.stream.data });
          send(b);
        },
        toTester: (b, send) => {
          const o = openData(b, secrets, false);
          const s = o?.payload.stream;
          const c = s ? carried.get(`${readUint64(b, 1)}/${s.streamId}`) : undefined;
          if (
            o === null ||
            s === null ||
            s === undefined ||
            c === undefined ||
            !o.payload.isClose ||
            s.offset !== c.offset ||
            s.data.length > 0
          )
            return send(b);
          send(reseal(b, o, { ...o.payload, stream: { ...s, data: c.data } }, false));
        },
      };
    }
    case 'tamper-accepted':
      return {
        toEndpoint: (b, send) => {
          if (b.length < DATA_HEADER || isInitSnd(b) || openData(b, secrets, true) !== null) return send(b);
          // A bit flipped on the way: undo the one flip that makes the packet open, as a
          // receiver that does not check the tag (or the header it covers) would take it.
          for (let i = 0; i < b.length; i++) {
            const repaired = b.slice();
            repaired[i] = (repaired[i] as number) ^ 0x10;
            if (openData(repaired, secrets, true) !== null) return send(repaired);
          }
          send(b);
        },
        toTester: pass,
      };
    case 'bad-header-accepted':
      return {
        toEndpoint: (b, send) => {
          if (b.length < DATA_HEADER || b[0] === headerByte('Data') || isInitSnd(b)) return send(b);
          const repaired = b.slice();
          repaired[0] = headerByte('Data');
          send(openData(repaired, secrets, true) === null ? b : repaired);
        },
        toTester: pass,
      };
    case 'payload-version-ignored':
      return {
        toEndpoint: (b, send) => {
          try {
            const secret = secrets.get(readUint64(b, 1));
            if (messageTypeOf(b) !== 'Data' || secret === undefined) return send(b);
            const opened = openPacket(b, DATA_HEADER, { secret, epoch: 0, sealedByInitiator: true });
            const plaintext = opened.payload.slice();
            if (((plaintext[0] as number) & PAYLOAD_VERSION_MASK) === 0) return send(b);
            plaintext[0] = (plaintext[0] as number) & ~PAYLOAD_VERSION_MASK;
            send(sealLike(b.slice(0, DATA_HEADER), plaintext, { ...opened, secret }, { sealedByInitiator: true }));
          } catch {
            send(b);
          }
        },
        toTester: pass,
      };
    case 'sn-repeated': {
      const last = new Map<bigint, number>();
      let odd = false;
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const o = openData(b, secrets, false);
          if (o === null) return send(b);
          const connId = readUint64(b, 1);
          const previous = last.get(connId);
          last.set(connId, o.sn);
          odd = !odd;
          send(
            previous === undefined || odd
              ? b
              : sealLike(b.slice(0, DATA_HEADER), encodePayload(o.payload), o, { sn: previous }),
          );
        },
      };
    }
    case 'offsets-always-wide':
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const o = openData(b, secrets, false);
          // Only where the six more bytes still fit the MTU, so the datagram breaks no other rule.
          if (o === null || b.length + 2 * (wideBytes - narrowBytes) > MTU) return send(b);
          send(sealLike(b.slice(0, DATA_HEADER), widened(o.payload), o));
        },
      };
    case 'reply-type-per-stream': {
      // The header of each connection's first reply (InitRcv or InitCryptoRcv: type, id and keys, the AAD).
      const replyHeader = new Map<bigint, Uint8Array>();
      const streams = new Map<bigint, Set<number>>();
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const connId = readUint64(b, 1);
          if (isType(b, 'InitRcv', 'InitCryptoRcv') && !replyHeader.has(connId))
            replyHeader.set(connId, b.slice(0, headerSize(messageTypeOf(b))));
          const o = openData(b, secrets, false);
          const header = replyHeader.get(connId);
          const s = o?.payload.stream;
          // Only where the reply's longer header still fits the MTU, so the datagram breaks no other rule.
          if (
            o === null ||
            header === undefined ||
            s === null ||
            s === undefined ||
            b.length - DATA_HEADER + header.length > MTU
          )
            return send(b);
          const seen = streams.get(connId) ?? new Set<number>();
          streams.set(connId, seen);
          if (seen.has(s.streamId)) return send(b);
          seen.add(s.streamId);
          send(sealLike(header, encodePayload(o.payload), o));
        },
      };
    }
    case 'one-sn-counter': {
      // One counter for every connection's packets: unique per connection (no nonce twice), but
      // a second connection's first reply does not start at 0.
      let next = 0;
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const o = openFromEndpoint(b, secrets);
          if (o === null) return send(b);
          send(sealLike(b.slice(0, o.header), o.plaintext, o, { sn: next++ }));
        },
      };
    }
    case 'ephemeral-key-reused': {
      // Every reply carries one ephemeral key of the relay's, as a responder that draws its key
      // pair once and not per connection would; the relay translates between the secret that key
      // gives (towards the tester) and the endpoint's own (towards the endpoint).
      const fixed = new Uint8Array(32).fill(11);
      const fixedPublic = publicKeyOf(fixed);
      const initiatorKey = new Map<bigint, Uint8Array>();
      const seen = new Map<bigint, Uint8Array>(); // the tester's side: secrets of the fixed key
      const epAt = fieldOffset('InitRcv', 'pubKeyEpRcv');
      return {
        toEndpoint: (b, send) => {
          if (isType(b, 'InitSnd', 'InitCryptoSnd'))
            initiatorKey.set(readUint64(b, 1), b.slice(EP_KEY_AT, EP_KEY_AT + 32));
          const o = openData(b, seen, true);
          const real = secrets.get(readUint64(b, 1));
          send(o === null || real === undefined ? b : reseal(b, { ...o, secret: real }, o.payload, true));
        },
        toTester: (b, send) => {
          const connId = readUint64(b, 1);
          const o = openFromEndpoint(b, secrets);
          const theirs = initiatorKey.get(connId);
          if (o === null || theirs === undefined) return send(b);
          const fake = seen.get(connId) ?? sharedSecret(fixed, theirs);
          seen.set(connId, fake);
          const header = b.slice(0, o.header);
          if (isType(b, 'InitRcv', 'InitCryptoRcv')) header.set(fixedPublic, epAt); // the same offset in both
          send(sealLike(header, o.plaintext, o, { secret: fake }));
        },
      };
    }
    case 'conn-id-changed': {
      let n = 0;
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const o = openData(b, secrets, false);
          if (o === null || ++n % 5 !== 0) return send(b);
          const header = b.slice(0, DATA_HEADER);
          writeUint64(header, 1, readUint64(b, 1) + 1n);
          send(sealLike(header, encodePayload(o.payload), o));
        },
      };
    }
    case 'ping-resent': {
      const mint = minter(2 ** 32);
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          send(b);
          const o = openFromEndpoint(b, secrets);
          if (o === null || o.plaintext.length === 0) return;
          const p = decodePayload(o.plaintext);
          if (p.stream === null || p.stream.data.length > 0 || p.isClose) return;
          const ping: Payload = { isClose: false, ack: null, stream: p.stream };
          setTimeout(() => send(mint(b, ping, o.secret, false)), RTO_MS + 50);
        },
      };
    }
    case 'empty-acks-dropped':
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const o = openData(b, secrets, false);
          if (o === null || o.payload.ack === null || o.payload.ack.length > 0) return send(b);
          if (o.payload.stream !== null) send(reseal(b, o, { ...o.payload, ack: null }, false));
        },
      };
    case 'ack-only-acknowledged':
      return answeredWithAck(secrets, (p) => (p.stream === null && p.ack !== null ? p.ack : null));
    case 'acks-before-buffer':
      return answeredWithAck(secrets, ({ stream: s }) =>
        s !== null && s.data.length > 0 ? { streamId: s.streamId, offset: s.offset, length: s.data.length } : null,
      );
    case 'high-stream-ids-dropped':
      return {
        toEndpoint: (b, send) => {
          const s = openData(b, secrets, true)?.payload.stream;
          if (s === null || s === undefined || s.streamId < 2 ** 31) send(b);
        },
        toTester: pass,
      };
    case 'late-data-after-close-dropped': {
      const closedAt = new Map<string, number>();
      return {
        toEndpoint: (b, send) => {
          const p = openData(b, secrets, true)?.payload;
          const s = p?.stream;
          if (s === null || s === undefined) return send(b);
          const key = `${readUint64(b, 1)}/${s.streamId}`;
          if (p?.isClose && !closedAt.has(key)) closedAt.set(key, s.offset + s.data.length);
          else if (closedAt.has(key) && !p?.isClose) return; // data after the CLOSE: lost
          send(b);
        },
        toTester: pass,
      };
    }
    case 'idle-kept-alive': {
      const mint = minter(2 ** 40);
      const kept = new Set<bigint>();
      return {
        toEndpoint: (b, send) => {
          send(b);
          const o = openData(b, secrets, true);
          const connId = b.length >= 9 ? readUint64(b, 1) : null;
          if (o === null || connId === null || kept.has(connId)) return;
          kept.add(connId);
          // A PING on a stream of its own every 5 s, as if the tester had sent it.
          const timer = setInterval(
            () =>
              send(
                mint(
                  b,
                  { isClose: false, ack: null, stream: { streamId: 4242, offset: 0, data: new Uint8Array(0) } },
                  o.secret,
                  true,
                ),
              ),
            5000,
          );
          timer.unref();
        },
        toTester: pass,
      };
    }
    case 'reply-wrong-secret':
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          if (!isType(b, 'InitRcv', 'InitCryptoRcv')) return send(b);
          // The reply alone is sealed with another secret: the Data packets after it are right.
          send(resealed(b, secrets, (o) => ({ secret: o.secret.map((x) => x ^ 0x5a) })));
        },
      };
    case 'never-gives-up': {
      const mint = minter(2 ** 32);
      const copies = tally();
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          send(b);
          const d = endpointData(b, secrets);
          if (d === null) return;
          const { opened: o, segment: s, key } = d;
          const n = copies.add(key);
          // A seventh transmission, one RTO after the sixth, where the spec allows six.
          if (n === constant('MaxTransmissions'))
            setTimeout(() => send(mint(b, { isClose: false, ack: null, stream: s }, o.secret, false, o.epoch)), RTO_MS);
        },
      };
    }
    case 'close-resent-often': {
      const mint = minter(2 ** 32);
      const acked = new Set<string>();
      return {
        toEndpoint: (b, send) => {
          const ack = openData(b, secrets, true)?.payload.ack;
          if (ack) acked.add(`${readUint64(b, 1)}/${ack.streamId}/${ack.offset}`);
          send(b);
        },
        toTester: (b, send) => {
          send(b);
          const { o, s } = endpointSegment(b, secrets) ?? {};
          if (o === undefined || s === undefined || !o.payload.isClose) return;
          const key = `${readUint64(b, 1)}/${s.streamId}/${s.offset + s.data.length}`;
          // Ten more copies 50 ms apart while unacknowledged: a CLOSE sent on every flush.
          let extra = 0;
          const timer = setInterval(() => {
            if (acked.has(key) || extra++ >= 10) return clearInterval(timer);
            send(mint(b, { isClose: true, ack: null, stream: s }, o.secret, false, o.epoch));
          }, 50);
        },
      };
    }
    case 'echo-reversed': {
      const reversed = new Set<string>();
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const { o, s } = endpointSegment(b, secrets) ?? {};
          if (o === undefined || s === undefined || s.data.length < 2) return send(b);
          // The first segment of each stream delivered back to front, its copies alike.
          const key = `${readUint64(b, 1)}/${s.streamId}`;
          if (s.offset === 0) reversed.add(key);
          if (!reversed.has(key) || s.offset !== 0) return send(b);
          send(reseal(b, o, { ...o.payload, stream: { ...s, data: s.data.slice().reverse() } }, false));
        },
      };
    }
    case 'streams-swapped':
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const { o, s } = endpointSegment(b, secrets) ?? {};
          if (o === undefined || s === undefined || (s.streamId !== 1 && s.streamId !== 2)) return send(b);
          // What the endpoint echoes of stream 1 goes out on stream 2 and the other way round.
          send(reseal(b, o, { ...o.payload, stream: { ...s, streamId: 3 - s.streamId } }, false));
        },
      };
    case 'ack-only-kills':
    case 'dies-on-short-datagram':
    case 'dies-on-garbage': {
      // Everything of the endpoint ends with the first datagram of the kind that kills it.
      let dead = false;
      const kills = (b: Uint8Array): boolean => {
        if (defect === 'dies-on-short-datagram') return b.length < MIN_PACKET_SIZE;
        if (defect === 'dies-on-garbage')
          return (
            b.length < DATA_HEADER ||
            (openData(b, secrets, true) === null && !isInitSnd(b) && !isType(b, 'InitSnd', 'InitCryptoSnd'))
          );
        const p = openData(b, secrets, true)?.payload;
        return p !== undefined && p.stream === null && p.ack !== null;
      };
      return {
        toEndpoint: (b, send) => {
          dead ||= kills(b);
          if (!dead) send(b);
        },
        toTester: (b, send) => void (dead || send(b)),
      };
    }
    case 'acks-ignored-after-50': {
      const counted = new Map<bigint, number>();
      return {
        toEndpoint: (b, send) => {
          const p = openData(b, secrets, true)?.payload;
          if (p === undefined || p.ack === null || p.stream !== null) return send(b);
          // The fifty-first ACK-only packet of a connection on: lost to a count that drifted.
          const connId = readUint64(b, 1);
          const n = (counted.get(connId) ?? 0) + 1;
          counted.set(connId, n);
          if (n <= 50) send(b);
        },
        toTester: pass,
      };
    }
    case 'mtu-one-over':
      // The endpoint itself runs with an MTU of one byte more than the target declares; its
      // InitSnd size rule then wants one byte more too.
      return {
        toEndpoint: (b, send) => {
          if (!isInitSnd(b)) return send(b);
          const padded = new Uint8Array(b.length + 1);
          padded.set(b);
          send(padded);
        },
        toTester: pass,
      };
    case 'window-above-capacity':
      return {
        toEndpoint: pass,
        toTester: rewriteAcks(secrets, (ack) => ({ ...ack, window: decodeRcvWindow(encodeRcvWindow(CAPACITY * 4)) })),
      };
    case 'data-after-close':
      // Ten bytes past the end a CLOSE just fixed, as a sender that keeps writing would.
      return segmentAdded(secrets, (o, s) =>
        o.payload.isClose
          ? { streamId: s.streamId, offset: s.offset + s.data.length, data: new TextEncoder().encode('after end!') }
          : null,
      );
    case 'no-next-epoch':
      return {
        toEndpoint: (b, send) => {
          const o = openData(b, secrets, true);
          if (o === null || o.epoch === 0) send(b);
        },
        toTester: pass,
      };
    case 'low-order-answered':
      return {
        toEndpoint: (b, send, back) => {
          send(b);
          if (!isInitSnd(b)) return;
          const key = b.subarray(EP_KEY_AT, EP_KEY_AT + 32);
          try {
            sharedSecret(new Uint8Array(32).fill(9), key);
          } catch {
            // Low order: a careless responder would create a connection and reply under its id.
            const reply = new Uint8Array(106);
            reply.set(b.subarray(0, 9));
            reply[0] = headerByte('InitRcv');
            back(reply);
          }
        },
        toTester: pass,
      };
    case 'idle-not-refreshed': {
      const born = new Map<bigint, number>();
      const alive = (b: Uint8Array) => {
        if (b.length < 9) return true;
        const connId = readUint64(b, 1);
        if (!born.has(connId)) born.set(connId, Date.now());
        return Date.now() - (born.get(connId) as number) < IDLE_MS;
      };
      return { toEndpoint: (b, send) => void (alive(b) && send(b)), toTester: (b, send) => void (alive(b) && send(b)) };
    }
    case 'rto-floor-1s':
    case 'rto-ceiling-3s': {
      // A floor of 1 s shows after short samples; 3 s, after long ones, is a ceiling too high.
      const holdMs = defect === 'rto-floor-1s' ? 1000 : 3000;
      const first = new Map<string, number>();
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const key = endpointData(b, secrets)?.key;
          if (key === undefined) return send(b);
          const at = first.get(key);
          if (at === undefined) first.set(key, Date.now());
          else if (Date.now() - at < holdMs) return; // a resend an RTO of holdMs would not have sent yet
          send(b);
        },
      };
    }
    case 'early-resend': {
      const mint = minter(2 ** 32);
      const sent = new Set<string>();
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          send(b);
          const d = endpointData(b, secrets);
          if (d === null || sent.has(d.key)) return;
          sent.add(d.key);
          // The five copies the spec allows after the first, at once: however long the tester's
          // own stalls, the later copies come far sooner than a doubling RTO allows.
          for (let copy = 2; copy <= constant('MaxTransmissions'); copy++)
            send(
              mint(
                b,
                { isClose: d.opened.payload.isClose, ack: null, stream: d.segment },
                d.opened.secret,
                false,
                d.opened.epoch,
              ),
            );
        },
      };
    }
    case 'never-resends': {
      const sent = new Set<string>();
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const s = openData(b, secrets, false)?.payload.stream;
          if (s === null || s === undefined || s.data.length === 0) return send(b);
          const key = `${readUint64(b, 1)}/${s.streamId}/${s.offset}`;
          if (sent.has(key)) return; // a retransmission: lost for good
          sent.add(key);
          send(b);
        },
      };
    }
    case 'oversized-dropped':
      return { toEndpoint: (b, send) => void (b.length <= MTU && send(b)), toTester: pass };
    case 'no-filler-dropped':
      // The relay holds the endpoint's identity key, so it opens an InitCryptoSnd as the endpoint will.
      return {
        toEndpoint: (b, send) => {
          if (!isType(b, 'InitCryptoSnd')) return send(b);
          try {
            if (decodeInitCryptoSnd(b, identity, MTU).fillerLength === 0) return;
          } catch {
            // Not one the endpoint opens either: it is the endpoint's to drop.
          }
          send(b);
        },
        toTester: pass,
      };
    case 'second-close-moves-end': {
      // Each CLOSE of the tester's waits 100 ms; a CLOSE of the same stream at another end that
      // comes in that time goes to the endpoint in its place.
      const held = new Map<string, { end: number; timer: NodeJS.Timeout | null }>();
      return {
        toEndpoint: (b, send) => {
          const p = openData(b, secrets, true)?.payload;
          const s = p?.stream;
          if (p?.isClose !== true || s === null || s === undefined) return send(b);
          const key = `${readUint64(b, 1)}/${s.streamId}`;
          const end = s.offset + s.data.length;
          const first = held.get(key);
          if (first === undefined) {
            const timer = setTimeout(() => {
              held.set(key, { end, timer: null });
              send(b);
            }, 100);
            return void held.set(key, { end, timer });
          }
          if (first.timer !== null && first.end !== end) {
            clearTimeout(first.timer);
            first.timer = null;
          }
          send(b);
        },
        toTester: pass,
      };
    }
    case 'closed-stream-forgotten': {
      // Streams the tester closed, and those of them the endpoint closed too: forgotten at once.
      const closedByTester = new Set<string>();
      const forgotten = new Set<string>();
      const keyOf = (b: Uint8Array, streamId: number) => `${readUint64(b, 1)}/${streamId}`;
      return {
        toEndpoint: (b, send) => {
          const p = openData(b, secrets, true)?.payload;
          const s = p?.stream;
          if (s === null || s === undefined) return send(b);
          if (forgotten.has(keyOf(b, s.streamId))) return; // no stream, no ACK
          if (p?.isClose) closedByTester.add(keyOf(b, s.streamId));
          send(b);
        },
        toTester: (b, send) => {
          const p = openData(b, secrets, false)?.payload;
          const s = p?.stream;
          if (p?.isClose && s && closedByTester.has(keyOf(b, s.streamId))) forgotten.add(keyOf(b, s.streamId));
          send(b);
        },
      };
    }
    case 'one-stream-table': {
      // Stream 5 belongs to the first connection that sends on it; what the others send on it goes there.
      const mint = minter(2 ** 32);
      let owner: { packet: Uint8Array; secret: Uint8Array } | null = null;
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const { o, s } = endpointSegment(b, secrets) ?? {};
          if (o === undefined || s === undefined || s.streamId !== 5) return send(b);
          owner ??= { packet: b.slice(0, DATA_HEADER), secret: o.secret };
          if (readUint64(owner.packet, 1) === readUint64(b, 1)) return send(b);
          if (o.payload.ack !== null) send(reseal(b, o, { ...o.payload, isClose: false, stream: null }, false));
          send(mint(owner.packet, { isClose: o.payload.isClose, ack: null, stream: s }, owner.secret, false, o.epoch));
        },
      };
    }
    case 'ping-doubled':
      // Every PING twice, the copy right behind it.
      return segmentAdded(secrets, (o, s) => (s.data.length === 0 && !o.payload.isClose ? s : null));
    case 'responder-waits-for-data': {
      // Connections whose first reply went out, and those the tester has sent a Data packet on.
      const replied = new Set<bigint>();
      const heard = new Set<bigint>();
      return {
        toEndpoint: (b, send) => {
          if (isType(b, 'Data') && b.length >= 9) heard.add(readUint64(b, 1));
          send(b);
        },
        toTester: (b, send) => {
          const connId = readUint64(b, 1);
          const o = openFromEndpoint(b, secrets);
          if (o === null || heard.has(connId)) return send(b);
          if (!replied.has(connId)) {
            if (isType(b, 'InitRcv', 'InitCryptoRcv')) replied.add(connId);
            return send(b);
          }
          const carriesData = o.plaintext.length > 0 && (decodePayload(o.plaintext).stream?.data.length ?? 0) > 0;
          if (!carriesData) send(b);
        },
      };
    }
    case 'karn-rule': {
      // After an ACK of a segment sent more than once, until an ACK of one sent once: every new
      // segment goes again at the default RTO if still unacknowledged, as with no RTT sample.
      const copies = tally();
      const acked = new Set<string>();
      const noSample = new Set<bigint>();
      const mint = minter(2 ** 32);
      return {
        toEndpoint: (b, send) => {
          const ack = openData(b, secrets, true)?.payload.ack;
          if (ack && ack.length > 0) {
            const key = `${readUint64(b, 1)}/${ack.streamId}/${ack.offset}`;
            acked.add(key);
            const n = copies.get(key);
            if (n !== undefined && n > 1) noSample.add(readUint64(b, 1));
            else if (n === 1) noSample.delete(readUint64(b, 1));
          }
          send(b);
        },
        toTester: (b, send) => {
          send(b);
          const d = endpointData(b, secrets);
          if (d === null) return;
          const { opened: o, segment: s, key } = d;
          const n = copies.add(key);
          if (n > 1 || !noSample.has(readUint64(b, 1))) return;
          setTimeout(() => {
            if (acked.has(key)) return;
            copies.add(key);
            send(mint(b, { isClose: o.payload.isClose, ack: null, stream: s }, o.secret, false, o.epoch));
          }, RTO_MS);
        },
      };
    }
    case 'one-stream-at-a-time': {
      // Per connection: the stream being served, when it last sent, and the other streams' segments held back.
      const serving = new Map<bigint, { streamId: number; at: number }>();
      const held = new Map<bigint, Map<string, { streamId: number; offset: number; bytes: Uint8Array }>>();
      const QUIET_MS = 300;
      const release = new Map<bigint, (b: Uint8Array) => void>();
      const timer = setInterval(() => {
        for (const [connId, segments] of held) {
          const current = serving.get(connId);
          if (segments.size === 0 || (current !== undefined && Date.now() - current.at < QUIET_MS)) continue;
          // The served stream went quiet: the next one, all of what is held of it, in offset order.
          const next = Math.min(...[...segments.values()].map((x) => x.streamId));
          serving.set(connId, { streamId: next, at: Date.now() });
          const due = [...segments.entries()]
            .filter(([, x]) => x.streamId === next)
            .sort(([, x], [, y]) => x.offset - y.offset);
          for (const [key, x] of due) {
            segments.delete(key);
            release.get(connId)?.(x.bytes);
          }
        }
      }, 50);
      timer.unref();
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          const s = openData(b, secrets, false)?.payload.stream;
          if (s === null || s === undefined || s.data.length === 0) return send(b);
          const connId = readUint64(b, 1);
          release.set(connId, (x) => send(x));
          const current = serving.get(connId);
          if (current === undefined || current.streamId === s.streamId) {
            serving.set(connId, { streamId: s.streamId, at: Date.now() });
            return send(b);
          }
          const segments = held.get(connId) ?? new Map();
          held.set(connId, segments);
          // a resend replaces the copy held
          segments.set(`${s.streamId}/${s.offset}`, { streamId: s.streamId, offset: s.offset, bytes: b });
        },
      };
    }
    case 'no-backoff': {
      const seen = new Set<string>();
      const acked = new Set<string>();
      // Each copy is a new packet under a sequence number of its own, as a real resend is.
      const mint = minter(2 ** 32);
      return {
        toEndpoint: (b, send) => {
          const o = openData(b, secrets, true);
          if (o?.payload.ack) acked.add(`${readUint64(b, 1)}/${o.payload.ack.streamId}/${o.payload.ack.offset}`);
          send(b);
        },
        toTester: (b, send) => {
          const d = endpointData(b, secrets);
          if (d === null) return send(b);
          const { opened: o, key } = d;
          if (seen.has(key)) return; // the endpoint's own retransmission, with its backoff: dropped
          seen.add(key);
          send(b);
          let copies = 1;
          const timer = setInterval(() => {
            if (acked.has(key) || copies >= constant('MaxTransmissions')) return clearInterval(timer);
            copies++;
            send(mint(b, o.payload, o.secret, false, o.epoch));
          }, RTO_MS);
        },
      };
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      defect: { type: 'string', default: 'none' },
      mode: { type: 'string', default: 'echo' },
      keylog: { type: 'string' },
    },
  });
  if (values.mode !== 'echo' && values.mode !== 'sink') throw new Error(`unknown mode '${values.mode}'; echo or sink`);
  const sink = values.mode === 'sink';
  const defect = values.defect as Defect;
  if (!DEFECTS.includes(defect)) throw new Error(`unknown defect '${defect}'; one of ${DEFECTS.join(', ')}`);

  const secrets = new Map<bigint, Uint8Array>();
  const identity = new Uint8Array(randomBytes(32));
  const server = await QotpSocket.listen({
    identity: { seed: identity },
    ...(defect === 'mtu-one-over' ? { mtu: MTU + 1 } : {}),
    keyLog: (line) => {
      const [label, connId, secret] = line.split(' ');
      if (label === 'QOTP_SHARED_SECRET' && connId && secret)
        secrets.set(BigInt(`0x${connId}`), new Uint8Array(Buffer.from(secret, 'hex')));
      if (values.keylog === undefined || !connId) return;
      // keylog-upper-case: the connection id in upper-case hex, where the format has lower case.
      appendFileSync(
        values.keylog,
        `${defect === 'keylog-upper-case' ? line.replace(connId, connId.toUpperCase()) : line}\n`,
      );
    },
  });
  server.on('connection', (conn) => {
    conn.on('stream', (stream: QotpStream) => {
      // A sink reads and reports each stream as the runner's contract says; an echo writes it back.
      const hash = createHash('sha256');
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        if (!sink) return void stream.write(chunk);
        hash.update(chunk);
        bytes += chunk.length;
      });
      stream.on('end', () => {
        if (sink)
          process.stdout.write(`qotp stream ${stream.id} received ${bytes} bytes sha256 ${hash.digest('hex')}\n`);
        stream.end();
      });
      stream.on('error', () => {});
    });
  });
  const { host: serverHost, port: serverPort } = parseHostPort(server.address);
  const { toEndpoint, toTester } = rewrites(defect, secrets, identity);

  const relay = createSocket('udp4');
  /** One upstream socket per tester address, so that the endpoint's answers find their way back. */
  const upstreams = new Map<string, Socket>();
  const upstreamFor = (from: RemoteInfo): Socket => {
    const key = `${from.address}:${from.port}`;
    let up = upstreams.get(key);
    if (up === undefined) {
      up = createSocket('udp4');
      const socket = up;
      up.on('message', (m) =>
        toTester(
          new Uint8Array(m),
          (b, to = key) => {
            const { host, port } = parseHostPort(to);
            relay.send(b, port, host);
          },
          (b) => socket.send(b, serverPort, serverHost),
          key,
        ),
      );
      up.bind(0, '127.0.0.1');
      upstreams.set(key, up);
    }
    return up;
  };
  relay.on('message', (m, from) => {
    const up = upstreamFor(from);
    toEndpoint(
      new Uint8Array(m),
      (b) => up.send(b, serverPort, serverHost),
      (b) => relay.send(b, from.port, from.address),
      `${from.address}:${from.port}`,
    );
  });
  await new Promise<void>((resolve) => relay.bind(0, '127.0.0.1', resolve));
  process.stdout.write(`qotp listening 127.0.0.1:${relay.address().port} ${server.publicKeyHex}\n`);
}

await main();
