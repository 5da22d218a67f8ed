// The generated part of qotp.lua, the SPEC table, shared by the generator and the freshness test.
import { ACK_WITH_STREAM_MIN, decodeRcvWindow } from '@qotp/reference';
import { constant, spec } from '@qotp/spec';

/** The lines that open and close the generated part of qotp.lua. */
export const BEGIN = '-- SPEC: generated from spec/qotp.spec.json, do not edit by hand';
export const END = '-- SPEC: end of the generated part';
const WIDTH = 118;

/**
 * A Lua literal of a JSON-like value as a list of atoms: tables for objects and arrays
 * (1-based), strings quoted, and strings too long for a line cut into pieces joined by `..`.
 */
function atoms(v: unknown): string[] {
  if (v === null || v === undefined) return ['nil'];
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (typeof v === 'string') {
    const pieces = v.match(/.{1,60}(\s|$)|\S+/g) ?? [''];
    return pieces.map((s, i) => JSON.stringify(s) + (i < pieces.length - 1 ? ' ..' : ''));
  }
  const entries = Array.isArray(v)
    ? v.map((x) => atoms(x))
    : Object.entries(v as Record<string, unknown>).map(([k, x]) => {
        const key = /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : `[${/^\d+$/.test(k) ? k : JSON.stringify(k)}]`;
        const [first = '', ...rest] = atoms(x);
        return [`${key} = ${first}`, ...rest];
      });
  return ['{', ...entries.flatMap((e) => [...e.slice(0, -1), `${e[e.length - 1] ?? ''},`]), '}'];
}

/**
 * Atoms laid out as lines of at most WIDTH characters, filled greedily: packed rather than one
 * field a line, so that the table reads as a few lines per entry and not as hundreds of lines of
 * the same shape.
 */
function fill(parts: string[], indent: string): string {
  const lines: string[] = [];
  let line = indent;
  for (const a of parts) {
    const glue = line.trim() === '' || line.endsWith('{') || a.startsWith('}') ? '' : ' ';
    if (line.length + glue.length + a.length > WIDTH) {
      lines.push(line);
      line = `${indent}  ${a}`;
    } else line += glue + a;
  }
  lines.push(line);
  return lines.join('\n');
}

/** `local SPEC = {`, then each top-level entry of the table from a line of its own. */
function specLiteral(): string {
  const entries = Object.entries(specTable()).map(([k, v]) => {
    const [first = '', ...rest] = atoms(v);
    const parts = [`${k} = ${first}`, ...rest];
    parts[parts.length - 1] += ',';
    return fill(parts, '  ');
  });
  return ['local SPEC = {', ...entries, '}'].join('\n');
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

/** `dissector` (the text of qotp.lua) with its generated part rendered anew from the spec. */
export function renderDissector(dissector: string): string {
  const begin = dissector.indexOf(`${BEGIN}\n`);
  const end = dissector.indexOf(`${END}\n`, begin);
  if (begin < 0 || end < 0) throw new Error(`qotp.lua lacks the marker lines '${BEGIN}' and '${END}'`);
  return `${dissector.slice(0, begin)}${BEGIN}\n${specLiteral()}\n${dissector.slice(end)}`;
}
