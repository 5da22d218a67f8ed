// The rendering of qotp.lua, shared by the generator and the freshness test.
import { ACK_WITH_STREAM_MIN, decodeRcvWindow } from '@qotp/reference';
import { constant, spec } from '@qotp/spec';
import { readFileSync } from 'node:fs';

const source = (name: string) => readFileSync(new URL(`../src/${name}`, import.meta.url), 'utf8');

/** A Lua literal of a JSON-like value: tables for objects and arrays (1-based), strings quoted. */
function lua(v: unknown, indent = ''): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) return `{\n${v.map((x) => `${inner}${lua(x, inner)},`).join('\n')}\n${indent}}`;
  const entries = Object.entries(v as Record<string, unknown>).map(
    ([k, x]) =>
      `${inner}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : `[${/^\d+$/.test(k) ? k : JSON.stringify(k)}]`} = ${lua(x, inner)},`,
  );
  return `{\n${entries.join('\n')}\n${indent}}`;
}

const bits = (fields: readonly { name: string; shift: number; width: number; description: string }[], name: string) => {
  const f = fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`spec has no bit field ${name}`);
  return { shift: f.shift, width: f.width, description: f.description };
};

/** The SPEC table the dissector reads. */
export function specTable(): Record<string, unknown> {
  const messages = Object.fromEntries(
    Object.entries(spec.messages).map(([name, m]) => {
      const code = spec.messageTypes.find((t) => t.name === name)?.code;
      const fixed = m.fields.filter((x) => typeof x.offset === 'number' && typeof x.size === 'number');
      const cleartextEnd = Math.max(...fixed.map((x) => (x.offset as number) + (x.size as number)));
      const encrypted = m.encrypted === true;
      const aadSize = 'aadSize' in m ? (m.aadSize as number) : null;
      return [
        name,
        {
          name,
          code,
          encrypted,
          firstPacket: spec.messageTypes.find((t) => t.name === name)?.sentBy === 'initiator',
          directionBit: 'directionBit' in m ? m.directionBit : null,
          aadSize,
          // Written by hand: which key log secret seals the message (clause keylog.format), and
          // that an InitCryptoSnd's plaintext starts with the filler (crypto.init-crypto-snd.filler).
          secret: name === 'InitCryptoSnd' ? 'identity' : 'shared',
          filler: name === 'InitCryptoSnd',
          minSize: encrypted
            ? (aadSize as number) + constant('SnSize') + constant('MinProtoSize') + constant('MacSize')
            : cleartextEnd,
          fields: fixed.map((x) => ({ name: x.name, offset: x.offset, size: x.size })),
        },
      ];
    }),
  );
  const keyFields = Object.fromEntries(
    Object.values(spec.messages)
      .flatMap((m) => m.fields)
      .filter((x) => x.encoding === 'x25519-public-key')
      .map((x) => [x.name, { label: x.name, description: x.description }]),
  );
  const messagesByCode = Object.fromEntries(Object.entries(messages).map(([name, m]) => [String(m.code), name]));
  const payloadTypesByCode = Object.fromEntries(spec.payload.types.map((t, i) => [String(t.code), i + 1]));
  return {
    protocolVersion: spec.protocolVersion,
    cryptoVersion: constant('CryptoVersion'),
    protoVersion: constant('ProtoVersion'),
    header: { version: bits(spec.cryptoHeader.bits, 'version'), type: bits(spec.cryptoHeader.bits, 'type') },
    messages,
    messagesByCodeNames: messagesByCode,
    keyFields,
    nonce: {
      directionBit: {
        byte: spec.nonce.directionBit.byte,
        mask: spec.nonce.directionBit.mask,
        initiator: spec.nonce.directionBit.initiator,
        responder: spec.nonce.directionBit.responder,
      },
    },
    snSize: constant('SnSize'),
    macSize: constant('MacSize'),
    minPayload: constant('MinProtoSize'),
    fillerLengthSize: constant('MsgInitFillLenSize'),
    snMaskNonceSize: spec.snMasking.nonceSize,
    snMaskCounter: spec.snMasking.counter,
    payload: {
      header: {
        version: bits(spec.payload.header.bits, 'version'),
        type: bits(spec.payload.header.bits, 'type'),
        wideOffsets: bits(spec.payload.header.bits, 'wideOffsets'),
      },
      types: spec.payload.types.map((t) => ({ code: t.code, name: t.name, isClose: t.isClose, hasAck: t.hasAck })),
      typesByCodeIndex: payloadTypesByCode,
      narrowBytes: spec.payload.offsetWidths.narrowBytes,
      wideBytes: spec.payload.offsetWidths.wideBytes,
      ackWithStreamMin: ACK_WITH_STREAM_MIN,
    },
    receiveWindow: {
      codeOne: decodeRcvWindow(1),
      substeps: spec.receiveWindow.substepsPerPowerOfTwo,
      smallestStepExponent: spec.receiveWindow.smallestStepExponent,
    },
    // The next revision (spec.next), whose payloads the dissector reads when v0.2.19's layout cannot.
    next:
      spec.next === undefined
        ? null
        : {
            name: `${spec.next.branch} ${spec.next.revision}`,
            header: Object.fromEntries(
              spec.next.payload.header.bits.map((b) => [
                b.name,
                { shift: b.shift, width: b.width, description: b.description },
              ]),
            ),
            types: spec.next.payload.types,
            mtuValueSize: spec.next.payload.mtuValueSize,
          },
    // Written by hand from clause keylog.format: the two labels and the secret each gives.
    keylog: { QOTP_SHARED_SECRET: 'shared', QOTP_SHARED_SECRET_ID: 'identity' },
  };
}

const module = (name: string, body: string) => `local ${name} = (function()\n${body.trimEnd()}\nend)()\n`;

export function renderDissector(): string {
  return [
    '-- QOTP dissector for Wireshark and tshark (Lua 5.2, Wireshark 4.0 and later).',
    '-- Generated by `npm run spec:generate` (wireshark/scripts/generate.ts) from spec/qotp.spec.json,',
    '-- wireshark/src/crypto.lua and wireshark/src/dissector.lua. Do not edit by hand.',
    '--   tshark -X lua_script:qotp.lua -o qotp.keylog:CASE.keylog -r CASE.pcap',
    '',
    `local SPEC = ${lua(specTable())}`,
    // Index tables the dissector looks messages and payload types up in.
    'SPEC.messagesByCode = {}',
    'for code, name in pairs(SPEC.messagesByCodeNames) do SPEC.messagesByCode[code] = SPEC.messages[name] end',
    'SPEC.payload.typesByCode = {}',
    'for code, i in pairs(SPEC.payload.typesByCodeIndex) do SPEC.payload.typesByCode[code] = SPEC.payload.types[i] end',
    '',
    module('crypto', source('crypto.lua')),
    source('dissector.lua'),
  ].join('\n');
}
