// Vectors for the crypto layer: every message type sealed with fixed keys, Data at
// many sequence numbers and epochs in both directions (crypto-messages.json), and
// packets broken one way at a time (invalid-packets.json). The expected outcome of
// every test is what the reference's receivePacket says; the Go checker confirms it.
import { createHash } from 'node:crypto';
import { encodePayload, publicKeyOf, QotpError, receivePacket, sealPacket, sharedSecret } from '@qotp/reference';
import { constant, headerSize, messageTraits, receiverOf, type MessageName } from '@qotp/spec';
import { applyDamage, describeDamage, type Damage, type Reseal } from '../damage.js';
import { toHex } from '../hex.js';
import { buildPacket, receiverContext, type Sealing as VectorSealing } from '../packets.js';
import type { KeySet, PacketFile, PacketTest, ReceiverJson } from '../types.js';
import { vectorFile } from './envelope.js';

const MTU = constant('DefaultMtu');
const SN_MAX = constant('SnMax');
const EPOCH_MAX = constant('EpochMax');
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Private keys are SHA-256 of a label, as qotp's WithSeedStr makes identity keys from a string. */
const privateKey = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(label).digest());

interface Keys {
  json: KeySet;
  initiatorEphemeral: Uint8Array;
  responderIdentity: Uint8Array;
}

function keySet(name: string): Keys {
  const ii = privateKey(`qotp-vectors/${name}/initiator-identity`);
  const ie = privateKey(`qotp-vectors/${name}/initiator-ephemeral`);
  const ri = privateKey(`qotp-vectors/${name}/responder-identity`);
  const re = privateKey(`qotp-vectors/${name}/responder-ephemeral`);
  const iePub = publicKeyOf(ie);
  return {
    json: {
      initiatorIdentityPrivateKey: toHex(ii),
      initiatorIdentityPublicKey: toHex(publicKeyOf(ii)),
      initiatorEphemeralPrivateKey: toHex(ie),
      initiatorEphemeralPublicKey: toHex(iePub),
      responderIdentityPrivateKey: toHex(ri),
      responderIdentityPublicKey: toHex(publicKeyOf(ri)),
      responderEphemeralPrivateKey: toHex(re),
      responderEphemeralPublicKey: toHex(publicKeyOf(re)),
      connId: toHex(iePub.subarray(0, 8)),
      ephemeralSecret: toHex(sharedSecret(re, iePub)),
      identitySecret: toHex(sharedSecret(ie, publicKeyOf(ri))),
    },
    initiatorEphemeral: ie,
    responderIdentity: ri,
  };
}

/** What a sender puts in: enough to rebuild the packet (binary payload; the vector stores hex). */
type Sealing = Omit<VectorSealing, 'payload'> & { payload: Uint8Array };

const build = (k: Keys, s: Sealing): Uint8Array => buildPacket(k.json, { ...s, payload: toHex(s.payload) });

/** The receiver a correct packet of this kind goes to. */
function naturalReceiver(s: Sealing): ReceiverJson {
  const role = receiverOf(s.message) ?? (s.sealedByInitiator ? 'responder' : 'initiator');
  return { role, mtu: s.mtu, epoch: s.epoch, knowsConnection: !messageTraits(s.message).firstPacket };
}

interface TestSpec {
  id: string;
  comment: string;
  clauses: string[];
  flags?: string[];
  sealing: Sealing;
  receiver?: Partial<ReceiverJson>;
  /** How the packet is damaged after sealing (its description goes into `mutation`). */
  damage?: Damage;
  /** For a 're-seal' damage: seals a plaintext under the packet's header with its keys. */
  reseal?: Reseal;
}

/** Builds, replays through the reference receiver and records the verdict. */
function makeTest(k: Keys, t: TestSpec): PacketTest {
  const sealed = build(k, t.sealing);
  const packet = t.damage ? applyDamage(sealed, t.damage, t.reseal) : sealed;
  const receiver = { ...naturalReceiver(t.sealing), ...t.receiver };
  const base = {
    id: t.id,
    comment: t.comment,
    flags: t.flags ?? [],
    clauses: t.clauses,
    message: t.sealing.message,
    sn: t.sealing.sn,
    epoch: t.sealing.epoch,
    sealedByInitiator: t.sealing.sealedByInitiator,
    mtu: t.sealing.mtu,
    payload: toHex(t.sealing.payload),
    ...(t.damage ? { mutation: describeDamage(t.damage), damage: t.damage } : {}),
    packet: toHex(packet),
    receiver,
  };
  try {
    const r = receivePacket(packet, receiverContext(k.json, receiver));
    const decoded =
      r.type === 'InitSnd'
        ? { payload: '' }
        : {
            payload: toHex(r.payload),
            sn: r.sn,
            epoch: r.epoch,
            ...(r.type === 'InitCryptoSnd' ? { fillerLength: r.fillerLength } : {}),
          };
    // Behaviour the spec allows but does not require (Wycheproof's "acceptable"): a receiver may
    // drop these too; one that takes them must decode them so.
    const acceptable = base.flags.some((f) => ACCEPTABLE.has(f));
    return { ...base, result: acceptable ? 'acceptable' : 'valid', decoded };
  } catch (e) {
    if (!(e instanceof QotpError)) throw e;
    return { ...base, result: 'invalid', error: e.code };
  }
}

// ------------------------------------------------------------------ payloads used

const payloads = {
  hello: encodePayload({ isClose: false, ack: null, stream: { streamId: 0, offset: 0, data: text('hello, QOTP') } }),
  ackOnly: encodePayload({
    isClose: false,
    ack: { streamId: 0, offset: 0, length: 11, window: 16777216 },
    stream: null,
  }),
  ackAndData: encodePayload({
    isClose: false,
    ack: { streamId: 0, offset: 0, length: 11, window: 16777216 },
    stream: { streamId: 0, offset: 0, data: text('hello back') },
  }),
  ping: encodePayload({ isClose: false, ack: null, stream: { streamId: 0, offset: 0, data: new Uint8Array(0) } }),
  close: encodePayload({
    isClose: true,
    ack: { streamId: 1, offset: 40, length: 2, window: 1048576 },
    stream: { streamId: 1, offset: 77, data: text('bye') },
  }),
};

const initSnd = (mtu = MTU): Sealing => ({
  message: 'InitSnd',
  sn: 0,
  epoch: 0,
  sealedByInitiator: true,
  mtu,
  payload: new Uint8Array(0),
});
const initRcv = (payload = payloads.ackAndData, sn = 0): Sealing => ({
  message: 'InitRcv',
  sn,
  epoch: 0,
  sealedByInitiator: false,
  mtu: MTU,
  payload,
});
const initCryptoSnd = (payload = payloads.hello, mtu = MTU): Sealing => ({
  message: 'InitCryptoSnd',
  sn: 0,
  epoch: 0,
  sealedByInitiator: true,
  mtu,
  payload,
});
const initCryptoRcv = (payload = payloads.ackAndData): Sealing => ({
  message: 'InitCryptoRcv',
  sn: 0,
  epoch: 0,
  sealedByInitiator: false,
  mtu: MTU,
  payload,
});
const data = (sn: number, epoch: number, sealedByInitiator: boolean, payload = payloads.hello): Sealing => ({
  message: 'Data',
  sn,
  epoch,
  sealedByInitiator,
  mtu: MTU,
  payload,
});

// ------------------------------------------------------------------ mutations

const flip = (byte: number, bit: number): Damage => ({ op: 'flip-bit', byte, bit });
const truncate = (length: number): Damage => ({ op: 'truncate', length });
const setType = (value: number): Damage => ({ op: 'set-type', value });
const appendZero: Damage = { op: 'append', bytes: '00' };

/** Low-order X25519 points: all give the zero shared secret. */
const LOW_ORDER: [string, string][] = [
  ['zero', '00'.repeat(32)],
  ['one', `01${'00'.repeat(31)}`],
  ['order-8', 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'],
];

const side = (byInitiator: boolean) => (byInitiator ? 'initiator' : 'responder');

function messageTests(group: string): TestSpec[] {
  const id = (rest: string) => `crypto.${group}.${rest}`;
  const tests: TestSpec[] = [
    {
      id: id('init-snd'),
      comment: 'InitSnd padded to 1400 bytes.',
      clauses: ['crypto.init-snd.layout', 'crypto.init-snd.padding', 'crypto.conn-id.initial'],
      sealing: initSnd(),
    },
    {
      id: id('init-snd-mtu-1200'),
      comment: 'InitSnd from a sender with MTU 1200 to a receiver with MTU 1200.',
      clauses: ['crypto.init-snd.padding', 'crypto.init-snd.min-size'],
      sealing: initSnd(1200),
    },
    {
      id: id('init-snd-longer-than-receiver-mtu'),
      comment: 'A 1400-byte InitSnd at a receiver with MTU 1200 is long enough.',
      clauses: ['crypto.init-snd.min-size'],
      sealing: initSnd(),
      receiver: { mtu: 1200 },
    },
    {
      id: id('init-rcv'),
      comment: 'InitRcv with ACK and data.',
      clauses: [
        'crypto.init-rcv.layout',
        'crypto.init-rcv.secret',
        'crypto.keys.x25519',
        'crypto.aead.cipher',
        'crypto.nonce.direction-bit',
        'crypto.sn.masking',
        'crypto.aead.aad',
      ],
      sealing: initRcv(),
    },
    {
      id: id('init-rcv-ack-only'),
      comment: 'InitRcv with an 11-byte ACK-only payload.',
      clauses: ['crypto.init-rcv.layout'],
      sealing: initRcv(payloads.ackOnly),
    },
    {
      id: id('init-rcv-minimal'),
      comment: 'InitRcv with an 8-byte PING payload: 103 bytes, the smallest real InitRcv.',
      clauses: ['crypto.init-rcv.min-size', 'crypto.sn.min-payload'],
      sealing: initRcv(payloads.ping),
    },
    {
      id: id('init-rcv-sn-1'),
      comment: 'A second InitRcv (sequence number 1), as sent when the first reply needs company.',
      clauses: ['crypto.init-rcv.layout', 'crypto.sn.counter'],
      sealing: initRcv(payloads.hello, 1),
    },
    {
      id: id('init-crypto-snd'),
      comment: '0-RTT InitCryptoSnd with data, padded to 1400 bytes.',
      clauses: [
        'crypto.init-crypto-snd.layout',
        'crypto.init-crypto-snd.secret',
        'crypto.keys.x25519',
        'crypto.aead.cipher',
        'crypto.init-crypto-snd.filler',
        'crypto.nonce.direction-bit',
      ],
      sealing: initCryptoSnd(),
    },
    {
      id: id('init-crypto-snd-no-filler'),
      comment: 'InitCryptoSnd whose payload fills the MTU: filler length 0.',
      clauses: ['crypto.init-crypto-snd.filler'],
      sealing: initCryptoSnd(
        encodePayload({
          isClose: false,
          ack: null,
          stream: { streamId: 0, offset: 0, data: new Uint8Array(MTU - 65 - 22 - 2 - 8).fill(0x61) },
        }),
      ),
    },
    {
      id: id('init-crypto-snd-mtu-1200'),
      comment: 'InitCryptoSnd with MTU 1200 at a receiver with MTU 1200.',
      clauses: ['crypto.init-crypto-snd.filler', 'crypto.init-snd.min-size'],
      sealing: initCryptoSnd(payloads.hello, 1200),
    },
    {
      id: id('init-crypto-snd-downgraded'),
      comment:
        'An InitCryptoSnd whose header byte was changed to 0x00 is a well-formed InitSnd: the header is not ' +
        'protected against this, the receiver answers with InitRcv and the 0-RTT payload is lost.',
      clauses: ['crypto.init-snd.layout', 'crypto.header.layout'],
      flags: ['Downgrade'],
      sealing: initCryptoSnd(),
      damage: flip(0, 6),
    },
    {
      id: id('init-crypto-snd-oversized'),
      comment:
        'An InitCryptoSnd with one byte appended: the receiver reads only its MTU, which cuts the byte off again.',
      clauses: ['crypto.receive.mtu-cut'],
      flags: ['CutToMtu'],
      sealing: initCryptoSnd(),
      damage: appendZero,
    },
    {
      id: id('init-crypto-rcv'),
      comment: '0-RTT reply with ACK and data.',
      clauses: ['crypto.init-crypto-rcv.layout', 'crypto.init-crypto-rcv.secret', 'crypto.nonce.direction-bit'],
      sealing: initCryptoRcv(),
    },
    {
      id: id('init-crypto-rcv-minimal'),
      comment: 'InitCryptoRcv with an 8-byte payload: 71 bytes.',
      clauses: ['crypto.init-crypto-rcv.layout', 'crypto.sn.min-payload'],
      sealing: initCryptoRcv(payloads.ping),
    },
  ];
  for (const byInitiator of [true, false]) {
    const who = side(byInitiator);
    for (const sn of [0, 1, 2, 255, 256, 65536, 2 ** 32, SN_MAX]) {
      tests.push({
        id: id(`data-${who}-sn-${sn}`),
        comment: `Data from the ${who}, epoch 0, sequence number ${sn}.`,
        clauses: [
          'crypto.data.layout',
          'crypto.aead.cipher',
          'crypto.nonce.layout',
          'crypto.nonce.direction-bit',
          'crypto.sn.masking',
          'wire.byte-order',
        ],
        sealing: data(sn, 0, byInitiator),
      });
    }
    tests.push(
      {
        id: id(`data-${who}-close-payload`),
        comment: `Data from the ${who} carrying a CLOSE with ACK.`,
        clauses: ['crypto.data.layout'],
        sealing: data(9, 0, byInitiator, payloads.close),
      },
      {
        id: id(`data-${who}-epoch-1-sn-0`),
        comment: 'First packet after the rollover, at a receiver still in epoch 0: accepted as epoch current+1.',
        clauses: ['crypto.sn.rollover', 'crypto.epoch.decrypt-window'],
        sealing: data(0, 1, byInitiator),
        receiver: { epoch: 0 },
      },
      {
        id: id(`data-${who}-epoch-1-at-2`),
        comment: 'Epoch 1 at a receiver in epoch 2: accepted as current-1.',
        clauses: ['crypto.epoch.decrypt-window'],
        sealing: data(SN_MAX, 1, byInitiator),
        receiver: { epoch: 2 },
      },
      {
        id: id(`data-${who}-epoch-5`),
        comment: 'Epoch 5 at a receiver in epoch 5.',
        clauses: ['crypto.epoch.decrypt-window', 'crypto.nonce.layout'],
        sealing: data(77, 5, byInitiator),
      },
      {
        id: id(`data-${who}-epoch-300`),
        comment: 'Epoch 300 (two epoch bytes in the nonce).',
        clauses: ['crypto.nonce.layout'],
        sealing: data(12345, 300, byInitiator),
      },
      {
        id: id(`data-${who}-epoch-max`),
        comment: 'The last epoch, 2^47-1.',
        clauses: ['crypto.sn.rollover', 'crypto.nonce.layout'],
        sealing: data(SN_MAX, EPOCH_MAX, byInitiator),
      },
      {
        id: id(`data-${who}-epoch-128-collides`),
        comment:
          'Sealed in epoch 128 yet accepted by a receiver in epoch 0 as epoch 0: the direction bit overwrites ' +
          'epoch bit 7, so both give the same nonce.',
        clauses: ['crypto.epoch.direction-overlap'],
        flags: ['EpochCollision'],
        sealing: data(42, 128, byInitiator),
        receiver: { epoch: 0 },
      },
      {
        id: id(`data-${who}-epoch-off-by-two`),
        comment: 'Epoch 2 at a receiver in epoch 0: outside the window.',
        clauses: ['crypto.epoch.decrypt-window'],
        sealing: data(5, 2, byInitiator),
        receiver: { epoch: 0 },
      },
      {
        id: id(`data-${who}-epoch-behind-by-two`),
        comment: 'Epoch 1 at a receiver in epoch 3: outside the window.',
        clauses: ['crypto.epoch.decrypt-window'],
        sealing: data(5, 1, byInitiator),
        receiver: { epoch: 3 },
      },
      {
        id: id(`data-${who}-wrong-direction`),
        comment:
          `Sealed with the ${who}'s direction bit but delivered to the ${who} itself, which expects the peer's ` +
          `bit.`,
        clauses: ['crypto.nonce.direction-bit'],
        flags: ['WrongDirection'],
        sealing: data(3, 0, byInitiator),
        receiver: { role: who },
      },
      {
        id: id(`data-${who}-unknown-connection`),
        comment: 'A receiver that knows no connection with this id drops the packet.',
        clauses: ['crypto.data.layout'],
        sealing: data(3, 0, byInitiator),
        receiver: { knowsConnection: false },
      },
    );
  }
  return tests;
}

/** Where each region of an encrypted message starts. */
function regions(message: MessageName, length: number) {
  const h = headerSize(message);
  return { header: h, sn: h, ciphertext: h + 6, tag: length - 16 };
}

function mutationTests(k: Keys): TestSpec[] {
  const tests: TestSpec[] = [];
  const bases: [string, Sealing][] = [
    ['init-rcv', initRcv()],
    ['init-crypto-snd', initCryptoSnd()],
    ['init-crypto-rcv', initCryptoRcv()],
    ['data-from-initiator', data(1, 0, true)],
    ['data-from-responder', data(1, 0, false)],
  ];
  for (const [name, sealing] of bases) {
    const length = build(k, sealing).length;
    const r = regions(sealing.message, length);
    const id = (rest: string) => `invalid.${name}.${rest}`;
    for (let bit = 0; bit < 8; bit++) {
      // 0x40 with bit 6 cleared is 0x00: a well-formed InitSnd (see crypto.*.init-crypto-snd-downgraded).
      if (sealing.message === 'InitCryptoSnd' && bit === 6) continue;
      tests.push({
        id: id(`header-bit-${bit}`),
        comment: `Header byte bit ${bit} flipped (${bit < 5 ? 'version' : 'type'} field).`,
        clauses: [bit < 5 ? 'crypto.header.version' : 'crypto.header.layout', 'crypto.aead.tamper'],
        sealing,
        damage: flip(0, bit),
      });
    }
    for (const code of [5, 6, 7]) {
      tests.push({
        id: id(`unknown-type-${code}`),
        comment: `Header type set to ${code}.`,
        clauses: ['crypto.header.unknown-type'],
        sealing,
        damage: setType(code),
      });
    }
    for (let byte = 1; byte < r.header; byte += sealing.message === 'Data' ? 1 : 4) {
      const inConnId = sealing.message !== 'InitCryptoSnd' && byte < 9;
      tests.push({
        id: id(`aad-byte-${byte}`),
        comment: `Bit 0 of cleartext byte ${byte} (${inConnId ? 'connection id' : 'a public key'}) flipped.`,
        clauses: [inConnId ? 'crypto.conn-id.stable' : 'crypto.aead.aad', 'crypto.aead.tamper'],
        sealing,
        damage: flip(byte, 0),
      });
    }
    for (let i = 0; i < 6; i++) {
      tests.push({
        id: id(`sn-byte-${i}`),
        comment: `Bit 7 of masked sequence number byte ${i} flipped.`,
        clauses: ['crypto.sn.masking', 'crypto.aead.tamper'],
        sealing,
        damage: flip(r.sn + i, 7),
      });
    }
    const body = r.tag - r.ciphertext;
    for (const [where, at] of [
      ['first', r.ciphertext],
      ['middle', r.ciphertext + Math.floor(body / 2)],
      ['last', r.tag - 1],
    ] as const) {
      tests.push({
        id: id(`ciphertext-${where}`),
        comment: `Bit 3 of the ${where} ciphertext byte flipped.`,
        clauses: ['crypto.aead.tamper'],
        sealing,
        damage: flip(at, 3),
      });
    }
    for (const [where, at] of [
      ['first', r.tag],
      ['last', length - 1],
    ] as const) {
      tests.push({
        id: id(`tag-${where}`),
        comment: `Bit 5 of the ${where} tag byte flipped.`,
        clauses: ['crypto.aead.tamper'],
        sealing,
        damage: flip(at, 5),
      });
    }
    const cuts = new Set([
      0,
      1,
      9,
      constant('MinPacketSize') - 1,
      r.header,
      r.header + 6,
      r.header + 21,
      r.header + 22,
      r.header + 29,
      length - 1,
    ]);
    for (const cut of [...cuts].filter((c) => c < length).sort((a, b) => a - b)) {
      tests.push({
        id: id(`truncated-${cut}`),
        comment: `Cut to ${cut} of ${length} bytes.`,
        clauses: ['crypto.min-packet-size', 'crypto.aead.tamper'],
        sealing,
        damage: truncate(cut),
      });
    }
    // An InitCryptoSnd fills the MTU, so an appended byte is cut off again (see crypto.*.init-crypto-snd-oversized).
    if (sealing.message !== 'InitCryptoSnd')
      tests.push({
        id: id('extra-byte'),
        comment: 'One zero byte appended: the tag is no longer at the end.',
        clauses: ['crypto.aead.tamper'],
        sealing,
        damage: appendZero,
      });
    tests.push({
      id: id('version-31'),
      comment: 'All version bits set.',
      clauses: ['crypto.header.version'],
      sealing,
      damage: { op: 'set-version', value: 31 },
    });
  }
  // InitSnd has no integrity protection: only its size, header and keys can make it invalid.
  const snd = initSnd();
  for (const cut of [0, 38, 64, 65, MTU - 1]) {
    tests.push({
      id: `invalid.init-snd.truncated-${cut}`,
      comment: `InitSnd cut to ${cut} bytes: below the receiver MTU, not answered.`,
      clauses: ['crypto.init-snd.min-size', 'crypto.min-packet-size'],
      sealing: snd,
      damage: truncate(cut),
    });
  }
  for (const bit of [0, 4]) {
    tests.push({
      id: `invalid.init-snd.header-bit-${bit}`,
      comment: `InitSnd header version bit ${bit} flipped.`,
      clauses: ['crypto.header.version'],
      sealing: snd,
      damage: flip(0, bit),
    });
  }
  for (const code of [5, 6, 7]) {
    tests.push({
      id: `invalid.init-snd.unknown-type-${code}`,
      comment: `InitSnd with type code ${code}.`,
      clauses: ['crypto.header.unknown-type'],
      sealing: snd,
      damage: setType(code),
    });
  }
  tests.push({
    id: 'invalid.init-snd.receiver-mtu-larger',
    comment: 'A 1400-byte InitSnd at a receiver with MTU 1500: too short for it.',
    clauses: ['crypto.init-snd.min-size'],
    flags: ['ReceiverMtuLarger'],
    sealing: snd,
    receiver: { mtu: 1500 },
  });
  tests.push({
    id: 'invalid.init-crypto-snd.receiver-mtu-larger',
    comment: 'A 1400-byte InitCryptoSnd at a receiver with MTU 1500.',
    clauses: ['crypto.init-snd.min-size'],
    flags: ['ReceiverMtuLarger'],
    sealing: initCryptoSnd(),
    receiver: { mtu: 1500 },
  });

  for (const [pointName, point] of LOW_ORDER) {
    const lowOrder = (message: string, offset: number): Damage => ({
      op: 'replace',
      offset,
      bytes: point,
      what: `replace the ${message} ephemeral key with the low-order point ${pointName}`,
    });
    // Each message that carries an ephemeral key: the initiator's at offset 1, the responder's at 9.
    const carriers: [string, string, Sealing, 'initiator' | 'responder', number][] = [
      ['init-snd', 'InitSnd', snd, 'initiator', 1],
      ['init-rcv', 'InitRcv', initRcv(), 'responder', 9],
      ['init-crypto-snd', 'InitCryptoSnd', initCryptoSnd(), 'initiator', 1],
      ['init-crypto-rcv', 'InitCryptoRcv', initCryptoRcv(), 'responder', 9],
    ];
    for (const [slug, type, sealing, side, offset] of carriers)
      tests.push({
        id: `invalid.${slug}.low-order-${pointName}`,
        comment: `${type} whose ephemeral key is the low-order point '${pointName}'.`,
        clauses: ['crypto.keys.low-order'],
        flags: ['LowOrderKey'],
        sealing,
        damage: lowOrder(side, offset),
      });
  }
  return tests;
}

/** An InitCryptoSnd, correctly sealed, whose filler length points past the plaintext. */
function overlongFiller(k: Keys): PacketTest {
  const sealing = initCryptoSnd();
  const plaintext = new Uint8Array(MTU - headerSize('InitCryptoSnd') - constant('FooterDataSize'));
  plaintext.set([0xff, 0xff]); // filler length 65535, little-endian
  const secret = sharedSecret(k.initiatorEphemeral, publicKeyOf(k.responderIdentity));
  return makeTest(k, {
    id: 'invalid.init-crypto-snd.filler-length-too-large',
    comment: 'Authentic InitCryptoSnd whose sealed filler length (65535) is longer than its plaintext.',
    clauses: ['crypto.init-crypto-snd.filler', 'crypto.receive.no-crash'],
    flags: ['FillerOverrun'],
    sealing,
    damage: {
      op: 're-seal',
      plaintext: toHex(plaintext),
      what: 're-seal the same header with a zero plaintext whose filler length is 65535',
    },
    reseal: (packet, p) =>
      sealPacket(packet.subarray(0, headerSize('InitCryptoSnd')), p, {
        secret,
        sn: 0,
        epoch: 0,
        sealedByInitiator: true,
      }),
  });
}

/** Flags of tests whose packet a receiver may take or drop. */
const ACCEPTABLE = new Set(['CutToMtu', 'EpochCollision']);

const NOTES = {
  CutToMtu:
    'The datagram is longer than the receiver MTU; the Go original decodes only the first MTU bytes. ' +
    'Acceptable: a receiver may also drop it.',
  Downgrade:
    'A 0-RTT InitCryptoSnd turned into an InitSnd by changing one cleartext header bit; it is accepted as an InitSnd.',
  EpochCollision:
    'Epochs that differ only in bit 7 share nonces (erratum E10); the Go original accepts the packet and ' +
    'reports the epoch it tried first. Acceptable: a receiver that keeps the epochs apart drops it.',
  WrongDirection: 'The nonce direction bit does not match the peer the receiver expects.',
  ReceiverMtuLarger: 'The receiver MTU is larger than the sender MTU the InitSnd/InitCryptoSnd was padded to.',
  LowOrderKey: 'A public key of small order; X25519 with it gives the all-zero secret, which is refused.',
  FillerOverrun:
    'Authentic 0-RTT packet with an impossible filler length; in v0.2.18 the Go decoder panics on it (erratum E14).',
};

const HEADER = [
  "Each group fixes one connection's keys (private keys are SHA-256 of a label, as WithSeedStr derives them).",
  'A test states how the packet was sealed (message, sn, epoch, sealedByInitiator, mtu, payload) and the ' +
    "receiver's state.",
  "The receiver holds its role's identity and ephemeral private keys of the group and, when knowsConnection, " +
    'the connection (connId, ephemeralSecret, epoch).',
  'valid: the receiver decodes `packet` to `decoded`; invalid: it drops `packet` with `error`; acceptable: it ' +
    'may do either, and if it decodes, to `decoded`.',
];

export function generateCryptoMessages(): PacketFile {
  const groups = ['a', 'b'].map((g) => {
    const k = keySet(g);
    return { keySet: k.json, tests: messageTests(g).map((t) => makeTest(k, t)) };
  });
  return vectorFile('crypto-messages', 'QOTP crypto layer: the five message types', HEADER, NOTES, groups);
}

export function generateInvalidPackets(): PacketFile {
  const k = keySet('a');
  const tests = [...mutationTests(k).map((t) => makeTest(k, t)), overlongFiller(k)];
  for (const t of tests) {
    if (t.result !== 'invalid') throw new Error(`invalid-packets: ${t.id} (${t.mutation}) still decodes`);
  }
  return vectorFile('invalid-packets', 'QOTP crypto layer: packets that must be dropped', HEADER, NOTES, [
    { keySet: k.json, tests },
  ]);
}
