// The reference implementation replays every vector: decoders give the stated
// results, encoders the stated bytes, and invalid inputs fail with the stated code.
import { nobleBackend, setCryptoBackend } from '@qotp/reference';
import { nodeCryptoBackend } from '@qotp/reference/node';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { vectorFileNames, type VectorFileName } from '../src/index.js';
import { reference } from './support/implementation.js';
import { replay, vectorsOf } from './support/replay.js';

const rows = (file: VectorFileName) => vectorsOf(file).map((entry) => [entry.test.id, entry] as const);
const packetFiles: VectorFileName[] = ['crypto-messages', 'invalid-packets'];

describe.each(vectorFileNames.filter((f) => !packetFiles.includes(f)))('%s.json', (file) => {
  it.each(rows(file))('%s', (_, entry) => replay(file, reference, entry));
});

// The packet vectors replay on every crypto backend: @noble and node:crypto (OpenSSL).
const packetRuns = packetFiles.flatMap((file) =>
  [nobleBackend, nodeCryptoBackend].map((b) => [file, b.name, b] as const),
);

describe.each(packetRuns)('%s.json on the %s backend', (file, _, backend) => {
  beforeAll(() => setCryptoBackend(backend));
  afterAll(() => setCryptoBackend(nobleBackend));
  it.each(rows(file))('%s', (_, entry) => replay(file, reference, entry));
});
