// A reference echo server with one deliberate defect, to prove that the runner fails
// where it should. The defects are put in by a relay in front of an unmodified
// reference endpoint: it holds the endpoint's secrets (from its key log callback) and
// rewrites datagrams in flight, so the reference itself needs no test hooks.
//
//   node --import tsx defective-endpoint.ts --defect NAME
//   prints "qotp listening <relay address> <public key hex>" like the real CLI
//
// Defects:
//   none                     forwards unchanged (the control)
//   wrong-direction-bit      reseals the endpoint's Data packets with the initiator's direction bit
//   no-backoff               drops the endpoint's retransmissions and resends each first
//                            transmission every RTO instead (no doubling)
//   close-ignored            removes the CLOSE flag from the tester's packets
//   short-init-snd-answered  pads a short InitSnd to the MTU, so the endpoint answers it
//   ack-length-off-by-one    adds one to the length of every ACK the endpoint sends
//   unknown-id-by-address    a Data packet under a connection id the endpoint does not know, which
//                            opens with the keys of a connection it does know, is given that id
//                            (an endpoint that finds connections by source address)
//   window-always-full       rewrites the window of every ACK the endpoint sends to the whole
//                            capacity, whatever it holds
//   window-counts-received   rewrites it to the capacity minus every byte the tester ever sent
//                            on the connection, as if reading freed nothing
//   rto-floor-1s             holds the endpoint's resends back until 1 s after the first
//                            transmission, as an RTO clamped to at least 1 s would
//   rto-ceiling-3s           holds them back until 3 s after it, as an RTO whose ceiling is 3 s
//                            (not 2 s) would after long RTT samples
//   idle-not-refreshed       drops everything of a connection from 30 s after its first datagram
//                            on, as an idle timer that incoming packets do not restart would
//   low-order-answered       answers an InitSnd whose ephemeral key is a low-order point with a
//                            datagram under the connection id that key gives (the endpoint drops it)
//   no-next-epoch            drops the tester's Data packets that open only in a later epoch, as
//                            a decoder that never tries the next epoch would
//   small-window-as-zero     the endpoint reads every window below 64 KiB the tester advertises as
//                            0 (a decoder that misreads small window codes)
//   small-window-larger      it reads such a window as four times as large
//   reply-to-responder-accepted
//                            an InitRcv or InitCryptoRcv reaching the endpoint under a connection
//                            it knows becomes a Data packet of that connection with data on the
//                            probe stream, as a responder that opens such a reply and delivers its
//                            data would
//   sn-mask-counter-0        re-masks the sequence number of every encrypted packet the endpoint
//                            sends with XChaCha20 block counter 0 instead of 1
//
// Broken endpoints for the soundness matrix (test/soundness.test.ts): none may pass a case.
//   silent-after-handshake   passes the endpoint's replies (InitRcv, InitCryptoRcv) and nothing after them
//   all-wrong-direction-bit  reseals every encrypted packet the endpoint sends, replies included,
//                            with the initiator's direction bit: nothing of it authenticates
//   wrong-key                reseals every encrypted packet with a secret of its own
//   reflector                sends every datagram back to the tester; the endpoint sees none
//   other-layout             re-encodes every payload the endpoint sends in another layout (modelled
//                            on the upstream main branch's: a flags byte with no version field, the
//                            ACK, then the stream header): it authenticates and does not decode
//   oversized                pads every datagram of the endpoint's to 65,488 bytes (what the
//                            upstream main branch sends on loopback, sizing packets by the interface)
import { constant, fieldOffset, headerSize } from '@qotp/spec';
import { decodePayload, decodeRcvWindow, encodePayload, encodeRcvWindow, headerByte, messageTypeOf, sharedSecret, openPacket, readUint64, sealPacket, writeUint64, xorSnMask, type Payload } from '@qotp/reference';
import { parseHostPort, QotpSocket, type QotpStream } from '@qotp/reference/node';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { PROBE_STREAM } from '../../src/cases/helpers.js';
import { parseArgs } from 'node:util';

export const BROKEN = ['silent-after-handshake', 'all-wrong-direction-bit', 'wrong-key', 'reflector', 'other-layout', 'oversized'] as const;
export const DEFECTS = [...BROKEN, 'none', 'wrong-direction-bit', 'no-backoff', 'close-ignored', 'short-init-snd-answered', 'ack-length-off-by-one', 'sn-mask-counter-0', 'unknown-id-by-address', 'window-always-full', 'window-counts-received', 'rto-floor-1s', 'rto-ceiling-3s', 'idle-not-refreshed', 'low-order-answered', 'no-next-epoch', 'small-window-as-zero', 'small-window-larger', 'reply-to-responder-accepted'] as const;
export type Defect = (typeof DEFECTS)[number];

const DATA_HEADER = headerSize('Data');
const MTU = constant('DefaultMtu');
const RTO_MS = constant('DefaultRto') / 1e6;
const CAPACITY = constant('ReceiveBufferCapacity');
const IDLE_MS = constant('IdleTimeout') / 1e6;
const EP_KEY_AT = fieldOffset('InitSnd', 'pubKeyEpSnd');

/** Opens a Data packet with the connection's secret, or null when it is no Data packet or does not open. */
function openData(bytes: Uint8Array, secrets: Map<bigint, Uint8Array>, sealedByInitiator: boolean): { secret: Uint8Array; sn: number; epoch: number; payload: Payload } | null {
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

function isInitSnd(bytes: Uint8Array): boolean {
  try {
    return messageTypeOf(bytes) === 'InitSnd';
  } catch {
    return false;
  }
}

/** Opens any encrypted packet the endpoint sent (a reply or Data), or null. */
function openFromEndpoint(bytes: Uint8Array, secrets: Map<bigint, Uint8Array>): { secret: Uint8Array; sn: number; epoch: number; plaintext: Uint8Array; header: number } | null {
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

/** Reseals what the endpoint sent with other keys or another plaintext. */
function resealed(bytes: Uint8Array, secrets: Map<bigint, Uint8Array>, change: (o: NonNullable<ReturnType<typeof openFromEndpoint>>) => { secret?: Uint8Array; sealedByInitiator?: boolean; plaintext?: Uint8Array }): Uint8Array {
  const o = openFromEndpoint(bytes, secrets);
  if (o === null) return bytes;
  const c = change(o);
  return sealPacket(bytes.slice(0, o.header), c.plaintext ?? o.plaintext, { secret: c.secret ?? o.secret, sn: o.sn, epoch: o.epoch, sealedByInitiator: c.sealedByInitiator ?? false });
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

const reseal = (bytes: Uint8Array, o: { secret: Uint8Array; sn: number; epoch: number }, payload: Payload, sealedByInitiator: boolean): Uint8Array =>
  sealPacket(bytes.slice(0, DATA_HEADER), encodePayload(payload), { secret: o.secret, sn: o.sn, epoch: o.epoch, sealedByInitiator });

/** Rewrites one datagram: `send` passes it on, `back` answers the side it came from. */
type Rewrite = (bytes: Uint8Array, send: (b: Uint8Array) => void, back: (b: Uint8Array) => void) => void;

/** The rewrites of one defect: towards the endpoint and towards the tester. */
function rewrites(defect: Defect, secrets: Map<bigint, Uint8Array>): { toEndpoint: Rewrite; toTester: Rewrite } {
  const pass: Rewrite = (b, send) => send(b);
  const drop: Rewrite = () => {};
  switch (defect) {
    case 'silent-after-handshake':
      return {
        toEndpoint: pass,
        toTester: (b, send) => {
          try {
            const type = messageTypeOf(b);
            if (type === 'InitRcv' || type === 'InitCryptoRcv') send(b);
          } catch {
            // not even a type: nothing to pass on
          }
        },
      };
    case 'all-wrong-direction-bit':
      return { toEndpoint: pass, toTester: (b, send) => send(resealed(b, secrets, () => ({ sealedByInitiator: true }))) };
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
        toTester: (b, send) => {
          const o = openData(b, secrets, false);
          if (o === null || o.payload.ack === null) return send(b);
          send(reseal(b, o, { ...o.payload, ack: { ...o.payload.ack, length: o.payload.ack.length + 1 } }, false));
        },
      };
    case 'unknown-id-by-address':
      return {
        toEndpoint: (b, send) => {
          if (b.length < DATA_HEADER || openData(b, secrets, true) !== null || messageTypeOf(b) !== 'Data') return send(b);
          for (const [connId, secret] of secrets) {
            try {
              const opened = openPacket(b, DATA_HEADER, { secret, epoch: 0, sealedByInitiator: true });
              const header = b.slice(0, DATA_HEADER);
              writeUint64(header, 1, connId);
              return send(sealPacket(header, opened.payload, { secret, sn: opened.sn, epoch: opened.epoch, sealedByInitiator: true }));
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
          send(o === null || !o.payload.isClose || o.payload.stream === null ? b : reseal(b, o, { ...o.payload, isClose: false }, true));
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
      const total = (connId: bigint) => [...received.entries()].filter(([k]) => k.startsWith(`${connId}/`)).reduce((n, [, l]) => n + l, 0);
      return {
        toEndpoint: (b, send) => {
          const o = openData(b, secrets, true);
          const s = o?.payload.stream;
          if (s) received.set(`${readUint64(b, 1)}/${s.streamId}/${s.offset}`, s.data.length);
          send(b);
        },
        toTester: (b, send) => {
          const o = openData(b, secrets, false);
          if (o === null || o.payload.ack === null) return send(b);
          const window = defect === 'window-always-full' ? CAPACITY : Math.max(0, CAPACITY - total(readUint64(b, 1)));
          send(reseal(b, o, { ...o.payload, ack: { ...o.payload.ack, window: decodeRcvWindow(encodeRcvWindow(window)) } }, false));
        },
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
      let sn = 1 << 30; // far above the tester's own numbers
      return {
        toEndpoint: (b, send) => {
          let type: string;
          try {
            type = messageTypeOf(b);
          } catch {
            return send(b);
          }
          const secret = b.length >= DATA_HEADER ? secrets.get(readUint64(b, 1)) : undefined;
          if ((type !== 'InitRcv' && type !== 'InitCryptoRcv') || secret === undefined) return send(b);
          const header = new Uint8Array(DATA_HEADER);
          header[0] = headerByte('Data');
          writeUint64(header, 1, readUint64(b, 1));
          const payload = encodePayload({ isClose: false, ack: null, stream: { streamId: PROBE_STREAM, offset: 0, data: new TextEncoder().encode('the forged reply') } });
          send(sealPacket(header, payload, { secret, sn: sn++, epoch: 0, sealedByInitiator: true }));
        },
        toTester: pass,
      };
    }
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
          const o = openData(b, secrets, false);
          const s = o?.payload.stream;
          if (s === null || s === undefined || s.data.length === 0) return send(b);
          const key = `${readUint64(b, 1)}/${s.streamId}/${s.offset}`;
          const at = first.get(key);
          if (at === undefined) first.set(key, Date.now());
          else if (Date.now() - at < holdMs) return; // a resend an RTO of holdMs would not have sent yet
          send(b);
        },
      };
    }
    case 'no-backoff': {
      const seen = new Set<string>();
      const acked = new Set<string>();
      return {
        toEndpoint: (b, send) => {
          const o = openData(b, secrets, true);
          if (o?.payload.ack) acked.add(`${readUint64(b, 1)}/${o.payload.ack.streamId}/${o.payload.ack.offset}`);
          send(b);
        },
        toTester: (b, send) => {
          const o = openData(b, secrets, false);
          const s = o?.payload.stream;
          if (s === null || s === undefined || s.data.length === 0) return send(b);
          const key = `${readUint64(b, 1)}/${s.streamId}/${s.offset}`;
          if (seen.has(key)) return; // the endpoint's own retransmission, with its backoff: dropped
          seen.add(key);
          send(b);
          let copies = 1;
          const timer = setInterval(() => {
            if (acked.has(key) || copies >= constant('MaxTransmissions')) return clearInterval(timer);
            copies++;
            send(b);
          }, RTO_MS);
        },
      };
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { defect: { type: 'string', default: 'none' } } });
  const defect = values.defect as Defect;
  if (!DEFECTS.includes(defect)) throw new Error(`unknown defect '${defect}'; one of ${DEFECTS.join(', ')}`);

  const secrets = new Map<bigint, Uint8Array>();
  const server = await QotpSocket.listen({
    keyLog: (line) => {
      const [label, connId, secret] = line.split(' ');
      if (label === 'QOTP_SHARED_SECRET' && connId && secret) secrets.set(BigInt(`0x${connId}`), new Uint8Array(Buffer.from(secret, 'hex')));
    },
  });
  server.on('connection', (conn) => {
    conn.on('stream', (stream: QotpStream) => {
      stream.on('data', (chunk: Buffer) => stream.write(chunk));
      stream.on('end', () => stream.end());
      stream.on('error', () => {});
    });
  });
  const { host: serverHost, port: serverPort } = parseHostPort(server.address);
  const { toEndpoint, toTester } = rewrites(defect, secrets);

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
          (b) => relay.send(b, from.port, from.address),
          (b) => socket.send(b, serverPort, serverHost),
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
    );
  });
  await new Promise<void>((resolve) => relay.bind(0, '127.0.0.1', resolve));
  process.stdout.write(`qotp listening 127.0.0.1:${relay.address().port} ${server.publicKeyHex}\n`);
}

await main();
