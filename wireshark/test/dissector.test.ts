// The dissector against what the suite itself decoded: four cases run against the reference
// with --out (a pcap and key logs each), read back by tshark with qotp.lua and the tester's key
// log, and every frame's fields compared with the case's timeline in the JSON report. The pure
// Lua ciphers are checked on their own against RFC 8439 and @noble/ciphers.
import { chacha20poly1305, xchacha20 } from '@noble/ciphers/chacha.js';
import { spec } from '@qotp/spec';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDissector } from '../scripts/render.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dissector = join(root, 'wireshark/qotp.lua');
const CASES = ['handshake.in-band', 'handshake.0rtt', 'encryption.tamper-tag', 'streams.ack-fields'];
/** A case through an impaired relay: its capture is the relay's record, opened with the reference side's key log. */
const RELAYED = 'impair.transfer-loss-5';
const dir = mkdtempSync(join(tmpdir(), 'qotp-wireshark-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: string[], input?: string) {
  const r = spawnSync(command, args, { cwd: dir, encoding: 'utf8', timeout: 120_000, input, maxBuffer: 64 << 20 });
  return {
    status: r.status,
    out: r.stdout ?? '',
    all: `${r.stdout}\n${r.stderr}${r.error ? `\n${r.error.message}` : ''}`,
  };
}

it("qotp.lua's SPEC table is the rendering of the spec (run `npm run spec:generate` when this fails)", () => {
  const text = readFileSync(dissector, 'utf8');
  expect(text).toBe(renderDissector(text));
});

describe('the Lua ciphers', () => {
  // One line of hex fields per vector; test/crypto-check.lua prints one verdict line for each.
  it(
    'open ChaCha20-Poly1305, reject a flipped tag bit and mask with XChaCha20 as @noble/ciphers does, and meet ' +
      'RFC 8439',
    () => {
      const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
      const lines = [4, 73, 41, 9].map((aadSize, i) => {
        const key = randomBytes(32);
        const nonce = randomBytes(12);
        const aad = randomBytes(aadSize);
        const plain = randomBytes([8, 1300, 63, 64][i] as number);
        const n24 = randomBytes(24);
        const sealed = chacha20poly1305(key, nonce, aad).encrypt(plain);
        const mask = xchacha20(key, n24, new Uint8Array(6), undefined, spec.snMasking.counter);
        return [key, nonce, aad, sealed, plain, n24, mask].map((b) => hex(b)).join(' ');
      });
      const r = run('lua5.2', [join(root, 'wireshark/test/crypto-check.lua'), dissector], `${lines.join('\n')}\n`);
      expect(r.status, r.all).toBe(0);
      expect(r.out.trim().split('\n')).toEqual([
        'rfc8439 poly1305 ok',
        'rfc8439 chacha20 ok',
        ...lines.map(() => 'open ok, tampered rejected, mask ok'),
      ]);
    },
  );
});

interface Frame {
  summary: string;
  authentic: string;
}

describe("tshark with qotp.lua reads the suite's captures as the suite does", () => {
  let report: { targets: { cases: { id: string; timeline: { summary: string; note: string | null }[] }[] }[] };
  const frames = new Map<string, Frame[]>();
  const typeName = new Map(spec.messageTypes.map((t) => [String(t.code), t.name]));

  beforeAll(() => {
    const grep = `^(${[...CASES, RELAYED].map((c) => c.replaceAll('.', '\\.')).join('|')})$`;
    const r = run('node', [
      join(root, 'conformance/bin/qotp-conformance.js'),
      '--bundled',
      'reference',
      '--grep',
      grep,
      '--out',
      dir,
      '--json',
      join(dir, 'report.json'),
    ]);
    expect(r.status, r.all).toBe(0);
    report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    const fields = [
      'qotp.type',
      'qotp.conn_id',
      'qotp.sn',
      'udp.length',
      'qotp.ack.stream',
      'qotp.ack.offset',
      'qotp.ack.length',
      'qotp.ack.window',
      'qotp.stream.id',
      'qotp.stream.offset',
      'qotp.data.length',
      'qotp.close',
      'qotp.authentic',
    ];
    for (const id of [...CASES, RELAYED]) {
      const started = performance.now();
      const t = run('tshark', [
        '-X',
        `lua_script:${dissector}`,
        '-o',
        `qotp.keylog:${join(dir, 'reference', `${id}.keylog`)}`,
        '-r',
        join(dir, 'reference', `${id}.pcap`),
        '-T',
        'fields',
        '-E',
        'separator=|',
        '-E',
        'occurrence=f',
        ...fields.flatMap((x) => ['-e', x]),
      ]);
      expect(t.status, t.all).toBe(0);
      const rows = t.out
        .trimEnd()
        .split('\n')
        .map((line) => line.split('|'));
      console.log(`wireshark: ${id}: ${rows.length} frames in ${Math.round(performance.now() - started)} ms`);
      frames.set(
        id,
        rows.map(
          ([
            type,
            conn,
            sn,
            udpLength,
            ackStream,
            ackOffset,
            ackLength,
            window,
            streamId,
            streamOffset,
            dataLength,
            close,
            authentic,
          ]) => {
            const parts: string[] = [];
            if (ackStream) parts.push(`ACK s${ackStream} o${ackOffset} l${ackLength} w${window}`);
            if (streamId)
              parts.push(
                `${close === '1' || close === 'True' ? 'CLOSE' : dataLength === '0' ? 'PING' : 'DATA'} ` +
                  `s${streamId} o${streamOffset} ${dataLength} B`,
              );
            const head = `${typeName.get(type ?? '')} conn ${BigInt(conn ?? '0')
              .toString(16)
              .padStart(16, '0')
              .slice(0, 8)}${sn ? ` sn ${sn}` : ''} ${Number(udpLength) - 8} B`;
            return { summary: parts.length > 0 ? `${head}: ${parts.join(' | ')}` : head, authentic: authentic ?? '' };
          },
        ),
      );
    }
  }, 240_000);

  it(
    `${RELAYED}: the relay's record is the capture, and every frame of it opens (a megabyte echo through 5 % ` +
      `loss)`,
    () => {
      const got = frames.get(RELAYED) ?? [];
      expect(got.length).toBeGreaterThan(1000);
      // InitSnd is sent in the clear (and again when the loss took the first): nothing to open.
      expect(
        got
          .filter((f) => !f.summary.startsWith('InitSnd ') && f.authentic !== '1' && f.authentic !== 'True')
          .map((f) => f.summary),
      ).toEqual([]);
      expect(got.filter((f) => / DATA s0 o\d+ \d+ B$/.test(f.summary)).length).toBeGreaterThan(700);
    },
  );

  it(
    "reads the next revision's payloads: an endpoint that speaks its layout (the relay of conformance's defect " +
      'tests, modelled on it) decodes under it',
    () => {
      const target = join(dir, 'next.json');
      const endpoint = join(root, 'conformance/test/support/defective-endpoint.ts');
      writeFileSync(
        target,
        JSON.stringify({
          name: 'next',
          description: 'the reference behind a relay that re-encodes payloads by the next revision layout',
          mtu: 1400,
          capabilities: { zeroRtt: true, pingInHandshakeReply: true },
          server: {
            command: [
              join(root, 'node_modules/.bin/tsx'),
              endpoint,
              '--defect',
              'other-layout',
              '--keylog',
              '{keylog}',
            ],
          },
        }),
      );
      const r = run('node', [
        join(root, 'conformance/bin/qotp-conformance.js'),
        '--config',
        target,
        '--grep',
        '^streams\\.in-order$',
        '--out',
        dir,
      ]);
      expect(r.out, r.all).toMatch(/^next: 0 passed, 1 failed$/m);
      const t = run('tshark', [
        '-X',
        `lua_script:${dissector}`,
        '-o',
        `qotp.keylog:${join(dir, 'next', 'streams.in-order.keylog')}`,
        '-r',
        join(dir, 'next', 'streams.in-order.pcap'),
        '-T',
        'fields',
        '-e',
        'qotp.type',
        '-e',
        'qotp.next.type',
        '-e',
        'qotp.ack.stream',
      ]);
      expect(t.status, t.all).toBe(0);
      const rows = t.out
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t'));
      // The case ends at the reply, which opens and is read as a next-revision data payload with its ACK.
      const initRcv = rows.find(([type]) => type === '1');
      expect(initRcv?.slice(1, 3), 'the InitRcv read by the next layout: type data, its ACK of stream 0').toEqual([
        '0',
        '0',
      ]);
    },
  );

  it.each(CASES)(
    '%s: every frame decodes to what the case saw, or is marked not authentic where the tester tampered with it',
    (id) => {
      const timeline = report.targets[0]?.cases.find((c) => c.id === id)?.timeline ?? [];
      const got = frames.get(id) ?? [];
      expect(got.length).toBe(timeline.length);
      const forged = got.flatMap((f, i) => (f.authentic === '0' || f.authentic === 'False' ? [i] : []));
      for (const i of forged)
        expect(timeline[i]?.note ?? '', `frame ${i + 1} is not authentic`).toMatch(/flipped|tamper/i);
      expect(got.map((f, i) => (forged.includes(i) ? timeline[i]?.summary : f.summary))).toEqual(
        timeline.map((d) => d.summary),
      );
      if (id === 'encryption.tamper-tag') expect(forged.length, 'the tampered datagram is marked').toBeGreaterThan(0);
    },
  );
});
