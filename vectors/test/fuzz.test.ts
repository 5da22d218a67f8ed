// A bounded fuzz run in the tests (src/fuzz.ts): 200,000 inputs from mutated vectors and
// authenticated adversarial payloads; the reference must answer each with success or a
// typed QotpError. Longer runs: `npm run fuzz -- --count N --seed S`.
import { cryptoBackend, setCryptoBackend, type CryptoBackend } from '@qotp/reference';
import { nodeCryptoBackend } from '@qotp/reference/node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fuzz } from '../src/fuzz.js';

let restore: CryptoBackend;
beforeAll(() => {
  restore = cryptoBackend();
  setCryptoBackend(nodeCryptoBackend); // the receive path's AEAD dominates: the fast backend
});
afterAll(() => {
  setCryptoBackend(restore);
});

it('200,000 mutated and adversarial inputs end in success or a typed error, never a crash', () => {
  const report = fuzz({ count: 200_000, seed: 20_261_201 });
  console.log(
    `fuzz: ${report.inputs} inputs in ${(report.ms / 1000).toFixed(1)} s, ${report.accepted} accepted, ` +
      `rejected ${JSON.stringify(report.rejected)}, engine closes ${JSON.stringify(report.engineCloses)}`,
  );
  expect(report.crashes).toEqual([]);
  expect(report.inputs).toBe(200_000);
  // The fuzzer reaches past the first check: packets fail authentication, decoders reject
  // malformed payloads, and the engine takes authenticated ones.
  expect(report.rejected['authentication-failed'] ?? 0).toBeGreaterThan(1000);
  expect(report.rejected.malformed ?? 0).toBeGreaterThan(0);
  expect(report.rejected['too-short'] ?? 0).toBeGreaterThan(1000);
  expect(report.accepted).toBeGreaterThan(20_000);
}, 120_000);
