// Vectors for the receive window code: all 256 codes decoded, and the encoder at
// every boundary that matters (clauses window.*).
import { spec } from '@qotp/spec';
import { decodeRcvWindow, encodeRcvWindow } from '@qotp/reference';
import type { WindowFile, WindowTest } from '../types.js';
import { vectorFile } from './envelope.js';

const test = (
  id: string,
  comment: string,
  flags: string[],
  clauses: string[],
  code: number,
  bytes: number,
): WindowTest => ({
  id,
  comment,
  flags,
  clauses,
  result: 'valid',
  code,
  bytes: bytes.toString(),
});

function decodeTests(): WindowTest[] {
  return Array.from({ length: 256 }, (_, code) => {
    const flags = code === 1 ? ['SmallWindow'] : code === 255 ? ['Saturated'] : [];
    return test(
      `window.decode.code-${String(code).padStart(3, '0')}`,
      `Code ${code}.`,
      flags,
      ['window.decode'],
      code,
      decodeRcvWindow(code),
    );
  });
}

function encodeTests(): WindowTest[] {
  const max = spec.receiveWindow.maxDecoded;
  const points: [string, number, string, string[]][] = [
    ['zero', 0, 'No space.', []],
    ['one', 1, 'One byte: code 1, which reads back as 128.', ['SmallWindow']],
    ['127', 127, 'Below 128 yet reported as 128.', ['SmallWindow']],
    ['128', 128, 'Exactly what code 1 stands for.', ['SmallWindow']],
    ['255', 255, 'The largest window of code 1.', ['SmallWindow']],
    ['256', 256, 'The first logarithmic step.', []],
    ['287', 287, 'Just below the second step (288): rounds down.', ['RoundsDown']],
    ['288', 288, 'The second step.', []],
    ['511', 511, 'Just below 512: the last step of its power of two.', ['RoundsDown']],
    ['512', 512, 'A power of two.', []],
    ['1000', 1000, 'Rounds down to 960.', ['RoundsDown']],
    ['64k', 65536, '64 KiB.', []],
    ['16m-minus-one', 16 * 1024 * 1024 - 1, 'A full default receive buffer less one byte.', ['RoundsDown']],
    ['16m', 16 * 1024 * 1024, 'The default receive buffer capacity.', []],
    ['max-decoded', max, 'The largest value a code carries.', ['Saturated']],
    ['max-decoded-plus-one', max + 1, 'Above the last step: still code 255.', ['Saturated']],
    ['2-pow-40', 2 ** 40, 'Far above: saturates.', ['Saturated']],
    ['2-pow-53-minus-one', Number.MAX_SAFE_INTEGER, 'The largest safe integer: saturates.', ['Saturated']],
  ];
  for (let h = 8; h <= 39; h += 3) {
    points.push([`2-pow-${h}-minus-one`, 2 ** h - 1, `One below 2^${h}.`, ['RoundsDown']]);
    points.push([`2-pow-${h}-plus-one`, 2 ** h + 1, `One above 2^${h}.`, ['RoundsDown']]);
  }
  return points.map(([name, bytes, comment, flags]) =>
    test(
      `window.encode.${name}`,
      comment,
      flags,
      ['window.encode', 'window.round-down'],
      encodeRcvWindow(bytes),
      bytes,
    ),
  );
}

export function generateWindow(): WindowFile {
  return vectorFile(
    'rcv-window',
    'QOTP receive window code',
    [
      'decode group: every code 0..255 and the window in bytes it stands for (decimal).',
      'encode group: a window in bytes and the code it is sent as.',
    ],
    {
      SmallWindow: 'Windows of 1 to 255 bytes all share code 1, which decodes to 128 (erratum E06).',
      RoundsDown: 'The window is not a step value; the code rounds it down.',
      Saturated: 'At or above the largest step: code 255.',
    },
    [
      { direction: 'decode', tests: decodeTests() },
      { direction: 'encode', tests: encodeTests() },
    ],
  );
}
