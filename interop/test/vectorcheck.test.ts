// The Go checker must be able to fail: corrupt a copy of the vectors in three
// different ways and require it to name exactly those tests.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataDir, type PacketFile, type WindowFile } from '@qotp/vectors';
import { expect, it } from 'vitest';

const script = fileURLToPath(new URL('../go/run-vectorcheck.sh', import.meta.url));

function edit<T>(dir: string, file: string, change: (data: T) => string): string {
  const path = join(dir, file);
  const data = JSON.parse(readFileSync(path, 'utf8')) as T;
  const id = change(data);
  writeFileSync(path, JSON.stringify(data));
  return id;
}

it('reports corrupted vectors by id and exits non-zero', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'qotp-vectorcheck-'));
  cpSync(dataDir, dir, { recursive: true });

  const wrongPayload = edit<PacketFile>(dir, 'crypto-messages.json', (f) => {
    const t = f.testGroups[0]?.tests.find((x) => x.message === 'Data' && x.result === 'valid');
    if (!t?.decoded) throw new Error('no valid Data vector');
    t.decoded.payload = `ff${t.decoded.payload.slice(2)}`;
    return t.id;
  });
  const wrongWindow = edit<WindowFile>(dir, 'rcv-window.json', (f) => {
    const t = f.testGroups.find((g) => g.direction === 'decode')?.tests[100];
    if (!t) throw new Error('no decode vector');
    t.bytes = String(Number(t.bytes) + 1);
    return t.id;
  });
  const acceptedInvalid = edit<PacketFile>(dir, 'invalid-packets.json', (f) => {
    const t = f.testGroups[0]?.tests.find((x) => x.mutation?.startsWith('flip bit 3') && x.message === 'Data');
    const valid = JSON.parse(readFileSync(join(dataDir, 'crypto-messages.json'), 'utf8')) as PacketFile;
    const good = valid.testGroups[0]?.tests.find((x) => x.id === 'crypto.a.data-initiator-sn-1');
    if (!t || !good) throw new Error('vectors to swap not found');
    t.packet = good.packet; // a packet Go accepts, still marked invalid
    return t.id;
  });

  const run = spawnSync('bash', [script, dir], { encoding: 'utf8' });
  const lines = run.stdout.trim().split('\n');
  expect(run.status, run.stderr).toBe(1);
  expect(lines.filter((l) => l.startsWith('go-vectors: FAIL')).map((l) => l.split(' ')[3]?.replace(/:$/, ''))).toEqual([
    wrongPayload,
    acceptedInvalid,
    wrongWindow,
  ]);
  expect(lines.at(-1)).toMatch(/^go-vectors: \d+ checked, 3 failed$/);
});
