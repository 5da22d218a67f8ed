// The dissector against what the suite itself decoded: four cases run against the reference
// with --out (a pcap and key logs each), read back by tshark with qotp.lua and the tester's key
// log, and every frame's fields compared with the case's timeline in the JSON report; every
// capture of a quick run of both bundled targets read without a malformed packet or a Lua error.
// The pure Lua ciphers are checked on their own against RFC 8439 and @noble/ciphers.
import { chacha20poly1305, xchacha20 } from '@noble/ciphers/chacha.js';
import { writePcap } from '@qotp/conformance';
import { decodePayload, readUint64 } from '@qotp/reference';
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
/**
 * tshark with the dissector, its heuristic tried before the dissectors registered for a port (an
 * ephemeral port of a capture can be one: 37008 is TZSP's, and took a case's datagrams once).
 */
const TSHARK = ['-X', `lua_script:${dissector}`, '-o', 'udp.try_heuristic_first:TRUE'];
const cli = join(root, 'conformance/bin/qotp-conformance.js');
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
      cli,
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
        ...TSHARK,
        '-o',
        `qotp.keylog_file:${join(dir, 'reference', `${id}.keylog`)}`,
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
      const r = run('node', [cli, '--config', target, '--grep', '^streams\\.in-order$', '--out', dir]);
      expect(r.out, r.all).toMatch(/^next: 0 passed, 1 failed$/m);
      const t = run('tshark', [
        ...TSHARK,
        '-o',
        `qotp.keylog_file:${join(dir, 'next', 'streams.in-order.keylog')}`,
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

describe('every capture of a quick run of both bundled targets', () => {
  interface Datagram {
    direction: 'in' | 'out';
    summary: string;
    problem: string | null;
  }
  interface QuickReport {
    targets: {
      name: string;
      cases: {
        id: string;
        timeline: Datagram[];
        timelineOmitted?: number;
        artifacts: { pcap: string; keylog: string; tshark: string } | null;
      }[];
    }[];
  }
  const readUint32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
  const initSnd = String(spec.messageTypes.find((t) => t.name === 'InitSnd')?.code);
  /** A timeline summary of a datagram the runner decoded: its type and connection first. */
  const decoded = new RegExp(`^(${spec.messageTypes.map((t) => t.name).join('|')}) conn `);

  it(
    'open in tshark with no malformed packet and no Lua error, a frame per datagram, and every datagram the ' +
      'endpoint sent and the runner decoded is QOTP and authentic',
    () => {
      const out = join(dir, 'quick');
      // The Go original's expected failures do not matter here: what is read is the captures.
      const r = run('node', [cli, '--quick', '--out', out, '--json', join(out, 'report.json')]);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as QuickReport;
      expect(
        report.targets.map((t) => t.name),
        r.all,
      ).toEqual(['reference', 'go']);
      const captures = report.targets.flatMap((t) =>
        t.cases.flatMap((c) => (c.artifacts === null ? [] : [{ target: t.name, ...c, ...c.artifacts }])),
      );
      expect(captures.length).toBeGreaterThan(100);
      // The line --out writes beside the captures, pasted into a shell as a user would.
      const lines = readFileSync(join(out, 'reference', 'tshark.txt'), 'utf8').split('\n');
      const pasted = lines[lines.indexOf('# handshake.in-band: pass') + 1] ?? '';
      expect(pasted).toBe(captures.find((c) => c.id === 'handshake.in-band')?.tshark);
      const shown = run('sh', ['-c', pasted]);
      expect(shown.status, shown.all).toBe(0);
      expect(shown.out).toMatch(/QOTP.* InitSnd conn [0-9a-f]+/);
      expect(shown.out).toMatch(/QOTP.* Data conn [0-9a-f]+ sn \d+/);
      // All captures in one tshark run: their records joined end to end in one pcap (every case's
      // pcap is raw IP, as its 24-byte header says), their key logs in one. Connection ids differ
      // between captures but where two cases replay a vector's fixed keys, and then so do secrets.
      const records = (pcap: Uint8Array) => {
        let n = 0;
        for (let at = 24; at < pcap.length; at += 16 + readUint32(pcap, at + 8)) n++;
        return n;
      };
      const pcaps = captures.map((c) => new Uint8Array(readFileSync(c.pcap)));
      const joined = join(dir, 'quick.pcap');
      writeFileSync(
        joined,
        Buffer.concat([(pcaps[0] as Uint8Array).subarray(0, 24), ...pcaps.map((p) => p.subarray(24))]),
      );
      writeFileSync(join(dir, 'quick.keylog'), captures.map((c) => readFileSync(c.keylog, 'utf8')).join(''));
      const started = performance.now();
      const fields = ['qotp.type', 'qotp.authentic', '_ws.malformed', '_ws.expert.message'];
      const t = run('tshark', [
        ...[...TSHARK, '-o', `qotp.keylog_file:${join(dir, 'quick.keylog')}`, '-r', joined],
        ...['-T', 'fields', '-E', 'separator=|', ...fields.flatMap((x) => ['-e', x])],
      ]);
      expect(t.status, t.all).toBe(0);
      const rows = t.out.trimEnd().split('\n');
      console.log(
        `wireshark: ${captures.length} captures of a quick run (${rows.length} frames) read in ` +
          `${Math.round(performance.now() - started)} ms`,
      );
      const problems: string[] = [];
      let first = 0;
      let checked = 0;
      captures.forEach((c, k) => {
        const where = `${c.target} ${c.id}`;
        const count = records(pcaps[k] as Uint8Array);
        const datagrams = c.timeline.length + (c.timelineOmitted ?? 0);
        if (count !== datagrams) problems.push(`${where}: ${count} frames for ${datagrams} datagrams`);
        rows.slice(first, first + count).forEach((row, i) => {
          const [type = '', authentic = '', malformed = '', expert = ''] = row.split('|');
          // An exception in the QOTP tree, or any Lua error. (Another heuristic dissector that
          // takes a garbage datagram can find it malformed; that is not the dissector's.)
          if (expert.includes('Lua Error') || (type !== '' && expert.includes('Exception occurred')))
            problems.push(`${where} frame ${i + 1}: ${expert}`);
          const d = c.timelineOmitted === undefined ? c.timeline[i] : undefined;
          // Only what the runner read: a datagram it could not ("106 B undecodable: no connection of
          // the tester matches it", an answer to garbage) has nothing to compare with.
          if (d?.direction !== 'in' || d.problem !== null || !decoded.test(d.summary)) return;
          checked++;
          if (type === '') problems.push(`${where} frame ${i + 1}: not read as QOTP (the runner read ${d.summary})`);
          else if (malformed !== '') problems.push(`${where} frame ${i + 1}: ${expert} (the runner read ${d.summary})`);
          else if (type !== initSnd && authentic !== '1' && authentic !== 'True')
            problems.push(`${where} frame ${i + 1}: not authentic (the runner read ${d.summary})`);
        });
        first += count;
      });
      expect(first, 'every frame belongs to a capture').toBe(rows.length);
      console.log(`wireshark: ${checked} datagrams of the endpoints checked against the runner's reading`);
      expect(checked, 'the endpoints said something in most cases').toBeGreaterThan(captures.length);
      expect(problems).toEqual([]);
    },
    300_000,
  );
});

describe("the vectors' packets", () => {
  interface Vector {
    id: string;
    message: string;
    sn: number;
    epoch: number;
    sealedByInitiator: boolean;
    packet: string;
    result: string;
    damage?: unknown;
    decoded?: { payload: string; sn: number; epoch: number; fillerLength?: number };
  }
  interface Group {
    keySet: { connId: string; ephemeralSecret: string; identitySecret: string };
    tests: Vector[];
  }

  it(
    'the valid, undamaged crypto-message vectors of epochs 0 and 1, written into a pcap with their ' +
      "groups' secrets as the key log, decode to their type, sequence number, epoch, sealing side and payload",
    () => {
      const file = JSON.parse(readFileSync(join(root, 'vectors/data/crypto-messages.json'), 'utf8')) as {
        testGroups: Group[];
      };
      // The dissector tries epochs 0 and 1 (a capture starts at 0), so later epochs are left out, and
      // packets damaged after sealing (a downgraded header byte) are other messages than they name.
      const vectors = file.testGroups.flatMap((g) =>
        g.tests.filter((v) => v.result === 'valid' && v.epoch <= 1 && v.damage === undefined),
      );
      expect(vectors.length).toBeGreaterThan(60);
      const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
      const keyLog = file.testGroups.flatMap((g) => {
        const conn = readUint64(bytes(g.keySet.connId), 0).toString(16);
        return [
          `QOTP_SHARED_SECRET ${conn} ${g.keySet.ephemeralSecret}`,
          `QOTP_SHARED_SECRET_ID ${conn} ${g.keySet.identitySecret}`,
        ];
      });
      // Initiator and responder at addresses of their own, so that a Data packet's sealing side is
      // found; the initiator's port is TZSP's, which a capture's ephemeral port can be.
      const [initiator, responder] = ['127.0.0.1:37008', '127.0.0.2:40002'];
      const pcap = join(dir, 'vectors.pcap');
      writeFileSync(
        pcap,
        writePcap(
          vectors.map((v, i) => ({
            t: i,
            from: v.sealedByInitiator ? initiator : responder,
            to: v.sealedByInitiator ? responder : initiator,
            bytes: bytes(v.packet),
          })),
        ),
      );
      writeFileSync(join(dir, 'vectors.keylog'), `${keyLog.join('\n')}\n`);
      const fields = ['qotp.type', 'qotp.sn', 'qotp.epoch', 'qotp.sealed_by', 'qotp.authentic'];
      const more = ['qotp.filler_length', 'qotp.ack.stream', 'qotp.ack.offset', 'qotp.stream.id', 'qotp.data'];
      const t = run('tshark', [
        ...[...TSHARK, '-o', `qotp.keylog_file:${join(dir, 'vectors.keylog')}`, '-r', pcap],
        ...['-T', 'fields', '-E', 'separator=|', ...[...fields, ...more].flatMap((x) => ['-e', x])],
      ]);
      expect(t.status, t.all).toBe(0);
      const got = t.out.trimEnd().split('\n');
      const code = new Map<string, string>(spec.messageTypes.map((m) => [m.name, String(m.code)]));
      const expected = vectors.map((v) => {
        const payload = v.decoded?.payload ? decodePayload(bytes(v.decoded.payload)) : null;
        const encrypted = v.message !== 'InitSnd';
        return [
          `${v.id}: ${code.get(v.message)}`,
          encrypted ? String(v.sn) : '',
          encrypted ? String(v.epoch) : '',
          encrypted ? (v.sealedByInitiator ? 'initiator' : 'responder') : '',
          encrypted ? 'True' : '',
          v.decoded?.fillerLength === undefined ? '' : String(v.decoded.fillerLength),
          payload?.ack ? String(payload.ack.streamId) : '',
          payload?.ack ? String(payload.ack.offset) : '',
          payload?.stream ? String(payload.stream.streamId) : '',
          payload?.stream?.data.length ? Buffer.from(payload.stream.data).toString('hex') : '',
        ].join('|');
      });
      // tshark prints a boolean as 1 or True, by version.
      const rows = got.map((row) =>
        row
          .split('|')
          .map((x, i) => (i === 4 && x === '1' ? 'True' : x))
          .join('|'),
      );
      expect(rows.map((row, i) => `${vectors[i]?.id}: ${row}`)).toEqual(expected);
    },
  );
});
