// Vectors for the payload (transport) layer: every type, both offset widths, ACK-only,
// PING, DATA and CLOSE, the decoder quirks, and invalid payloads (clauses payload.*).
import { decodePayload, encodePayload, QotpError, type Payload } from '@qotp/reference';
import { fromHex, toHex } from '../hex.js';
import type { PayloadFile, PayloadJson, PayloadTest } from '../types.js';
import { vectorFile } from './envelope.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const WIDE = 0x1000000; // first offset that needs 48 bits
const MAX48 = 2 ** 48 - 1;

function toJson(p: Payload): PayloadJson {
  return {
    isClose: p.isClose,
    ack: p.ack && { ...p.ack },
    stream: p.stream && { streamId: p.stream.streamId, offset: p.stream.offset, data: toHex(p.stream.data) },
  };
}

interface Case {
  name: string;
  comment: string;
  payload: Payload;
  clauses: string[];
  flags?: string[];
}

function valid(group: string, c: Case): PayloadTest {
  const encoded = encodePayload(c.payload);
  return {
    id: `payload.${group}.${c.name}`,
    comment: c.comment,
    flags: c.flags ?? [],
    clauses: ['payload.header.layout', 'payload.types', ...c.clauses],
    result: 'valid',
    encoded: toHex(encoded),
    // What a decoder returns; equal to the input by construction of these cases.
    payload: toJson(decodePayload(encoded)),
  };
}

/** Valid on decoding, but no encoder produces these bytes. */
function decodeOnly(name: string, comment: string, hex: string, clauses: string[]): PayloadTest {
  return {
    id: `payload.decode-quirk.${name}`,
    comment,
    flags: ['DecodeOnly'],
    clauses,
    result: 'valid',
    encoded: hex,
    payload: toJson(decodePayload(fromHex(hex))),
  };
}

function invalid(name: string, comment: string, hex: string, clauses: string[]): PayloadTest {
  let error: string;
  try {
    decodePayload(fromHex(hex));
    throw new Error(`payload vector ${name} unexpectedly decodes`);
  } catch (e) {
    if (!(e instanceof QotpError)) throw e;
    error = e.code;
  }
  return { id: `payload.invalid.${name}`, comment, flags: [], clauses, result: 'invalid', error, encoded: hex };
}

const ack = (streamId: number, offset: number, length: number, window: number) => ({
  streamId,
  offset,
  length,
  window,
});
const stream = (streamId: number, offset: number, data: Uint8Array) => ({ streamId, offset, data });
const EMPTY = new Uint8Array(0);

function groups(): { kind: string; tests: PayloadTest[] }[] {
  const ackOnly: Case[] = [
    {
      name: 'narrow',
      comment: 'ACK of 1400 bytes at offset 0 on stream 1, 16 MiB window: 11 bytes.',
      payload: { isClose: false, ack: ack(1, 0, 1400, 16777216), stream: null },
      clauses: ['payload.ack-only', 'payload.ack.layout'],
    },
    {
      name: 'narrow-max-offset',
      comment: 'ACK offset 0xFFFFFF still fits 24 bits.',
      payload: { isClose: false, ack: ack(7, 0xffffff, 1, 256), stream: null },
      clauses: ['payload.ack-only', 'payload.offset.width'],
    },
    {
      name: 'wide',
      comment: 'ACK offset 0x1000000 needs 48 bits: 14 bytes.',
      payload: { isClose: false, ack: ack(7, WIDE, 1000, 1048576), stream: null },
      clauses: ['payload.ack-only', 'payload.offset.width'],
      flags: ['Wide'],
    },
    {
      name: 'wide-max-offset',
      comment: 'Largest 48-bit ACK offset.',
      payload: { isClose: false, ack: ack(0xffffffff, MAX48, 0xffff, 893353197568), stream: null },
      clauses: ['payload.ack-only', 'payload.offset.width'],
      flags: ['Wide'],
    },
    {
      name: 'zero-window',
      comment: 'Receiver buffer full: window code 0.',
      payload: { isClose: false, ack: ack(0, 100, 100, 0), stream: null },
      clauses: ['payload.ack-only', 'window.encode'],
    },
    {
      name: 'small-window',
      comment: 'Window code 1 (128 bytes).',
      payload: { isClose: false, ack: ack(0, 100, 100, 128), stream: null },
      clauses: ['payload.ack-only', 'window.decode'],
    },
    {
      name: 'zero-length',
      comment: 'ACK of an empty range (a PING or empty CLOSE).',
      payload: { isClose: false, ack: ack(3, 500, 0, 65536), stream: null },
      clauses: ['payload.ack-only'],
    },
  ];
  const data: Case[] = [
    {
      name: 'narrow',
      comment: 'DATA without ACK, stream 0 offset 0.',
      payload: { isClose: false, ack: null, stream: stream(0, 0, text('hello')) },
      clauses: ['payload.stream.layout'],
    },
    {
      name: 'one-byte',
      comment: 'A single data byte: 9 bytes in all.',
      payload: { isClose: false, ack: null, stream: stream(1, 42, Uint8Array.of(0xff)) },
      clauses: ['payload.stream.layout'],
    },
    {
      name: 'narrow-max-offset',
      comment: 'Stream offset 0xFFFFFF still fits 24 bits.',
      payload: { isClose: false, ack: null, stream: stream(2, 0xffffff, text('x')) },
      clauses: ['payload.offset.width'],
    },
    {
      name: 'wide',
      comment: 'Stream offset 0x1000000 switches to 48 bits.',
      payload: { isClose: false, ack: null, stream: stream(2, WIDE, text('past 16 MiB')) },
      clauses: ['payload.offset.width'],
      flags: ['Wide'],
    },
    {
      name: 'wide-max',
      comment: 'Largest stream id and 48-bit offset.',
      payload: { isClose: false, ack: null, stream: stream(0xffffffff, MAX48, text('end')) },
      clauses: ['payload.offset.width'],
      flags: ['Wide'],
    },
    {
      name: 'full-packet',
      comment: 'A 1361-byte chunk, the most a 1400-byte Data packet carries without an ACK (1400 - 9 - 22 - 8).',
      payload: {
        isClose: false,
        ack: null,
        stream: stream(
          4,
          1361,
          new Uint8Array(1361).map((_, i) => i & 0xff),
        ),
      },
      clauses: ['payload.stream.layout'],
    },
  ];
  const dataWithAck: Case[] = [
    {
      name: 'narrow',
      comment: 'DATA with ACK: 18 bytes of overhead.',
      payload: { isClose: false, ack: ack(0, 0, 5, 16777216), stream: stream(0, 0, text('reply')) },
      clauses: ['payload.ack.layout', 'payload.stream.layout'],
    },
    {
      name: 'wide-by-ack',
      comment: 'Only the ACK offset is above 0xFFFFFF: both offsets become 48 bits.',
      payload: { isClose: false, ack: ack(1, WIDE, 1400, 65536), stream: stream(1, 10, text('a')) },
      clauses: ['payload.offset.width'],
      flags: ['Wide'],
    },
    {
      name: 'wide-by-stream',
      comment: 'Only the stream offset is above 0xFFFFFF: both offsets become 48 bits.',
      payload: { isClose: false, ack: ack(1, 10, 1, 65536), stream: stream(1, WIDE, text('b')) },
      clauses: ['payload.offset.width'],
      flags: ['Wide'],
    },
    {
      name: 'different-streams',
      comment: 'The ACK is for stream 5 while the data is on stream 9.',
      payload: { isClose: false, ack: ack(5, 1000, 200, 1048576), stream: stream(9, 300, text('other stream')) },
      clauses: ['payload.ack.layout', 'payload.stream.layout'],
    },
  ];
  const ping: Case[] = [
    {
      name: 'narrow',
      comment: 'PING: a stream section with no data, 8 bytes (the minimum payload).',
      payload: { isClose: false, ack: null, stream: stream(0, 0, EMPTY) },
      clauses: ['payload.ping', 'payload.min-size'],
    },
    {
      name: 'wide',
      comment: 'PING at a 48-bit offset: 11 bytes.',
      payload: { isClose: false, ack: null, stream: stream(3, WIDE, EMPTY) },
      clauses: ['payload.ping'],
      flags: ['Wide'],
    },
    {
      name: 'with-ack',
      comment: 'PING carrying an ACK: exactly 18 bytes, the shortest payload with both sections.',
      payload: { isClose: false, ack: ack(0, 0, 10, 1024), stream: stream(0, 10, EMPTY) },
      clauses: ['payload.ping', 'payload.ack-only'],
    },
    {
      name: 'with-ack-wide',
      comment: 'PING with ACK and 48-bit offsets: 24 bytes.',
      payload: { isClose: false, ack: ack(0, WIDE, 10, 1024), stream: stream(0, WIDE, EMPTY) },
      clauses: ['payload.ping'],
      flags: ['Wide'],
    },
  ];
  const close: Case[] = [
    {
      name: 'empty',
      comment: 'CLOSE with no data, no ACK: 8 bytes.',
      payload: { isClose: true, ack: null, stream: stream(0, 100, EMPTY) },
      clauses: ['payload.close'],
    },
    {
      name: 'with-data',
      comment: 'The last data of the stream carries the CLOSE.',
      payload: { isClose: true, ack: null, stream: stream(0, 95, text('bye!!')) },
      clauses: ['payload.close'],
    },
    {
      name: 'with-ack',
      comment: 'CLOSE with ACK and data.',
      payload: { isClose: true, ack: ack(0, 50, 50, 16777216), stream: stream(0, 100, text('fin')) },
      clauses: ['payload.close', 'payload.ack.layout'],
    },
    {
      name: 'with-ack-empty',
      comment: 'CLOSE with ACK and no data: 18 bytes.',
      payload: { isClose: true, ack: ack(0, 50, 50, 16777216), stream: stream(0, 100, EMPTY) },
      clauses: ['payload.close'],
    },
    {
      name: 'wide',
      comment: 'CLOSE at a 48-bit offset.',
      payload: { isClose: true, ack: null, stream: stream(6, 0x123456789a, EMPTY) },
      clauses: ['payload.close', 'payload.offset.width'],
      flags: ['Wide'],
    },
  ];
  const quirks = [
    decodeOnly(
      'short-close-ack',
      'Type 2 (CLOSE with ACK) in 11 bytes: decoded without a stream section.',
      '40' + '01000000' + '640000' + '0a00' + '12',
      ['payload.decode.short-close-ack'],
    ),
    decodeOnly(
      'ack-only-trailing-bytes',
      'Type 0 in 17 bytes: still ACK-only, the 6 bytes after the ACK section are ignored.',
      '00' + '01000000' + '000000' + '7805' + '32' + 'aabbccddeeff',
      ['payload.ack-only'],
    ),
  ];
  const bad = [
    invalid('empty', 'No bytes at all.', '', ['payload.min-size']),
    invalid('seven-bytes', 'One byte below the 8-byte minimum.', '20' + '000000000000', ['payload.min-size']),
    invalid('version-1', 'Payload version 1.', '21' + '00000000' + '000000', ['payload.header.version']),
    invalid('version-31', 'Payload version 31 (all version bits).', '3f' + '00000000' + '000000', [
      'payload.header.version',
    ]),
    invalid(
      'ack-narrow-ten-bytes',
      'Type 0 needs 11 bytes for its ACK section; 10 given.',
      '00' + '00000000' + '000000' + '0000',
      ['payload.min-size'],
    ),
    invalid(
      'ack-wide-thirteen-bytes',
      'Wide ACK section needs 14 bytes; 13 given.',
      '80' + '00000000' + '000000000000' + '0000',
      ['payload.min-size'],
    ),
    invalid(
      'data-wide-ten-bytes',
      'Type 1 with 48-bit offset needs 11 bytes; 10 given.',
      'a0' + '00000000' + '0000000000',
      ['payload.min-size'],
    ),
    invalid(
      'close-wide-ten-bytes',
      'Type 3 with 48-bit offset needs 11 bytes; 10 given.',
      'e0' + '00000000' + '0000000000',
      ['payload.min-size'],
    ),
    ...[18, 19, 20, 21, 22, 23].map((n) =>
      invalid(
        `ack-wide-${n}-bytes`,
        `Type 0 with 48-bit offsets in ${n} bytes: too long for ACK-only, too short for a stream section.`,
        '80' + '00'.repeat(n - 1),
        ['payload.decode.wide-ack-gap'],
      ),
    ),
    invalid(
      'close-ack-wide-20-bytes',
      'Type 2 with 48-bit offsets in 20 bytes: the same gap.',
      'c0' + '00'.repeat(19),
      ['payload.decode.wide-ack-gap'],
    ),
  ];
  return [
    { kind: 'ack-only', tests: ackOnly.map((c) => valid('ack-only', c)) },
    { kind: 'data', tests: data.map((c) => valid('data', c)) },
    { kind: 'data-with-ack', tests: dataWithAck.map((c) => valid('data-with-ack', c)) },
    { kind: 'ping', tests: ping.map((c) => valid('ping', c)) },
    { kind: 'close', tests: close.map((c) => valid('close', c)) },
    { kind: 'decode-quirks', tests: quirks },
    { kind: 'invalid', tests: bad },
  ];
}

export function generatePayloads(): PayloadFile {
  return vectorFile(
    'payloads',
    'QOTP payload (transport layer) codec',
    [
      'valid: encoding `payload` gives `encoded`, and decoding `encoded` gives `payload` (DecodeOnly: decoding only).',
      'payload.stream null means no stream section (ACK-only); stream.data "" is a PING or an empty CLOSE.',
      'ack.window is in bytes and always a value a window code stands for.',
      'invalid: decoding `encoded` must fail with `error`.',
    ],
    {
      Wide: 'Offsets are 48 bits (header bit 7 set).',
      DecodeOnly: 'No conforming encoder produces these bytes, but a decoder must read them as given.',
    },
    groups(),
  );
}
