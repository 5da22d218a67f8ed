// TS <-> Go interop over real UDP on loopback: every combination of client, handshake and
// load, each against a fresh server, through the conformance package's relay (here with no
// impairment; impaired.test.ts adds it). Each case checks the echo (size and SHA-256 per
// stream), that both sides sent a CLOSE on every stream (less the ones finding G3 loses), and
// decodes every datagram both sides sent with the reference and the key logs.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePayload } from '@qotp/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGoEndpoint, runClient, startServer, type Implementation } from './support/processes.js';
import { decodeCaptured, parseKeyLog, startRelay, timeline, type DecodeReport } from '@qotp/conformance';

interface Load {
  name: string;
  size: number;
  streams: number;
  /** The server discards and reports a hash instead of echoing. */
  sink?: boolean;
}

const LOADS: Load[] = [
  { name: '1 B', size: 1, streams: 1 },
  { name: '100 kB', size: 100_000, streams: 1 },
  { name: '10 MB', size: 10_000_000, streams: 1 },
  { name: '3 streams x 100 kB', size: 100_000, streams: 3 },
];
// 17 MB crosses 16 MiB, where stream offsets switch to 48 bits; both buffers are 16 MiB,
// which the echo drains as it goes.
const PAST_16_MIB: Load = { name: '17 MB (48-bit offsets)', size: 17_000_000, streams: 1 };

const PAIRS: [Implementation, Implementation][] = [
  ['ts', 'go'],
  ['go', 'ts'],
];

// Sink: the server reports what it received. 100 kB towards Go only: as a pure receiver
// qotp v0.2.18 paces its ACKs 10 ms apart, and a bulk sender gives up (finding G6).
const SINKS: { client: Implementation; server: Implementation; load: Load }[] = [
  { client: 'ts', server: 'go', load: { name: 'sink 100 kB', size: 100_000, streams: 1, sink: true } },
  { client: 'go', server: 'ts', load: { name: 'sink 10 MB', size: 10_000_000, streams: 1, sink: true } },
];

const matrix = [
  ...PAIRS.flatMap(([client, server]) =>
    [false, true].flatMap((zeroRtt) => LOADS.map((load) => ({ client, server, zeroRtt, load }))),
  ),
  ...PAIRS.map(([client, server]) => ({ client, server, zeroRtt: false, load: PAST_16_MIB })),
  ...SINKS.map((c) => ({ ...c, zeroRtt: false })),
];

// QOTP_INTEROP_REPEAT=N runs every case N times (with -t to pick cases): how a flaky
// pair is measured, e.g. `QOTP_INTEROP_REPEAT=50 npx vitest run -t "0-RTT, 1 B"`.
const repeat = Number(process.env.QOTP_INTEROP_REPEAT ?? '1');
if (!Number.isInteger(repeat) || repeat < 1)
  throw new Error(`QOTP_INTEROP_REPEAT must be a whole number of at least 1, got ${process.env.QOTP_INTEROP_REPEAT}`);
const cases = matrix.flatMap((c) => Array.from({ length: repeat }, (_, run) => ({ ...c, run })));
const caseName = (c: (typeof cases)[number]) =>
  `${c.client} client -> ${c.server} ` +
  `server, ${c.zeroRtt ? '0-RTT' : '1-RTT'}, ${c.load.name}${repeat > 1 ? ` (run ${c.run + 1} of ${repeat})` : ''}`;

/**
 * How long a case may take, ms: 20 s plus 2 s per MB moved (the slowest pair moves about
 * 2 MB/s here, so this is a 4x margin on a loaded 2-core machine). A stuck case ends in
 * seconds with its timeline, not after a fixed 180 s.
 */
const budgetMs = (load: Load): number => 20_000 + Math.ceil((load.size * load.streams) / 500);

const dir = mkdtempSync(join(tmpdir(), 'qotp-interop-'));
const inputs = new Map<number, string>();

function inputFile(size: number): string {
  let path = inputs.get(size);
  if (path === undefined) {
    path = join(dir, `input-${size}`);
    // Not all zeros: a deterministic byte pattern that a misplaced segment would break.
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 131 + (i >> 11)) & 0xff;
    writeFileSync(path, data);
    inputs.set(size, path);
  }
  return path;
}

/** Stream ids that carried a CLOSE in these datagrams, and how many used 48-bit offsets. */
function closesAndWidth(datagrams: Uint8Array[], report: DecodeReport): { closed: Set<number>; wide: number } {
  expect(report.failures).toEqual([]);
  const closed = new Set<number>();
  let wide = 0;
  for (const p of report.payloads) {
    const payload = decodePayload(p);
    if (payload.isClose && payload.stream) closed.add(payload.stream.streamId);
    if ((payload.stream?.offset ?? 0) > 0xffffff || (payload.ack?.offset ?? 0) > 0xffffff) wide++;
  }
  expect(report.decoded).toBe(datagrams.length);
  return { closed, wide };
}

beforeAll(() => buildGoEndpoint(), 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('interop over real UDP', () => {
  it.each(cases.map((c) => [caseName(c), c] as const))(
    '%s',
    { timeout: 300_000 },
    async (_, { client, server, zeroRtt, load, run: runIndex }) => {
      const serverKeys = join(
        dir,
        `${client}-${server}-${zeroRtt}-${load.size}-${load.streams}-${runIndex}-server.keylog`,
      );
      const clientKeys = serverKeys.replace('-server.', '-client.');
      const mode = load.sink ? 'sink' : 'echo';
      const srv = await startServer(server, ['--listen', '127.0.0.1:0', '--keylog', serverKeys, '--mode', mode]);
      const relay = await startRelay({ server: srv.address });
      try {
        const budget = budgetMs(load);
        const args = [
          '--to',
          relay.address,
          '--file',
          inputFile(load.size),
          '--streams',
          String(load.streams),
          '--keylog',
          clientKeys,
          '--timeout',
          String(Math.ceil(budget / 1000)),
          '--mode',
          mode,
        ];
        if (zeroRtt) args.push('--pubkey', srv.publicKey);
        const started = performance.now();
        const run = await runClient(client, args, budget + 5000);
        const keysNow = () =>
          parseKeyLog(
            [serverKeys, clientKeys]
              .filter(existsSync)
              .map((p) => readFileSync(p, 'utf8'))
              .join('\n'),
          );
        expect(
          run.status,
          `client exited with ${run.status} after ${((performance.now() - started) / 1000).toFixed(1)} s ` +
            `(budget ${budget / 1000} s):\n${run.stdout}\n${run.stderr}\nserver:\n${srv.output()}\ntimeline ` +
            `(${relay.captured.length} datagrams through the relay):\n${timeline(relay.captured, keysNow())}`,
        ).toBe(0);

        const hash = createHash('sha256')
          .update(readFileSync(inputFile(load.size)))
          .digest('hex');
        // The client may exit as soon as its side is done: give the server a second for its CLOSEs.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        // The Go client also says whether qotp confirmed the close. With several streams it may
        // not have, for a reason the capture must show (checked below): findings G3 and G4.
        const unconfirmed: number[] = [];
        for (let id = 0; id < load.streams; id++) {
          const close = client === 'go' ? ' closed' : '';
          if (load.sink) {
            expect(run.stdout).toContain(`qotp stream ${id} sent ${load.size} bytes sha256 ${hash}${close}\n`);
            expect(srv.output()).toContain(`qotp stream ${id} received ${load.size} bytes sha256 ${hash}\n`);
          } else {
            const echoed = `qotp stream ${id} echoed ${load.size} bytes sha256 ${hash} ok`;
            if (client === 'go' && load.streams > 1 && run.stdout.includes(`${echoed} close-unconfirmed\n`))
              unconfirmed.push(id);
            else expect(run.stdout).toContain(`${echoed}${close}\n`);
          }
        }

        // Both directions, decoded with the reference and the secrets either side logged.
        const keys = keysNow();
        const fromClient = relay.captured.filter((c) => c.fromClient).map((c) => c.data);
        const fromServer = relay.captured.filter((c) => !c.fromClient).map((c) => c.data);
        const serverReport = decodeCaptured(fromServer, keys, false);
        const c = closesAndWidth(fromClient, decodeCaptured(fromClient, keys, true));
        const s = closesAndWidth(fromServer, serverReport);
        const streams = [...Array(load.streams).keys()];
        const sent = (side: string, closed: Set<number>) => ({ side, closeOnStreams: [...closed].sort() });
        for (const [impl, role, closed] of [
          [client, 'client', c.closed],
          [server, 'server', s.closed],
        ] as const) {
          if (impl === 'ts') {
            // The TS client closes every stream; the TS server closes a stream when the client
            // does (echo and sink both answer the client's CLOSE), so a CLOSE the Go client never
            // sent (G3 below) is one the TS server rightly never answers.
            expect(sent(`ts ${role}`, closed)).toEqual(
              sent(`ts ${role}`, role === 'client' ? new Set(streams) : c.closed),
            );
          } else if (load.streams > 1) {
            // Known deviation of the Go original v0.2.18 (interop/README.md, finding G3): with several
            // streams, cleaning one up can rename another, whose CLOSE is then never sent, as server
            // or as client. Reported, not hidden; the echo checks above still hold.
            for (const id of closed) expect(streams).toContain(id);
            const missing = streams.filter((id) => !closed.has(id));
            if (missing.length > 0)
              console.log(`interop: finding G3: the go ${role} sent no CLOSE on stream(s) ${missing.join(', ')}`);
            if (role === 'client') {
              // A close the Go client reports unconfirmed is one it never sent (G3), or one whose
              // acknowledgement never came in a packet whose stream section is that stream's:
              // qotp v0.2.18 checks a close confirmation against the stream section (G4).
              const creditedAck = (id: number) =>
                serverReport.payloads.some((p) => {
                  const { ack, stream } = decodePayload(p);
                  return ack?.streamId === id && ack.offset === load.size && stream?.streamId === id;
                });
              const unexplained = unconfirmed.filter((id) => !missing.includes(id) && creditedAck(id));
              expect(
                unexplained,
                'streams the go client reports close-unconfirmed although it sent their CLOSE and the server ' +
                  'acknowledged it on that stream',
              ).toEqual([]);
              if (unconfirmed.length > 0)
                console.log(
                  `interop: findings G3/G4: the go client reports close-unconfirmed on ` +
                    `stream(s) ${unconfirmed.join(', ')}`,
                );
            }
          } else {
            expect(sent(`go ${role}`, closed)).toEqual(sent(`go ${role}`, new Set(streams)));
          }
        }
        if (load === PAST_16_MIB) {
          expect(c.wide).toBeGreaterThan(0);
          expect(s.wide).toBeGreaterThan(0);
        }
        console.log(
          `interop: ${client}->${server} ${zeroRtt ? '0-RTT' : '1-RTT'} ${load.name}: ${fromClient.length} ` +
            `+ ${fromServer.length} datagrams decoded by the reference`,
        );
      } finally {
        srv.stop();
        await relay.close();
      }
    },
  );
});
