// Writes qotp.lua: a SPEC table made from spec/qotp.spec.json (message layouts, header and
// payload bit fields, payload types, sizes, the nonce's direction bit, the window code), then
// the hand-written crypto (src/crypto.lua) and dissector (src/dissector.lua). Run by
// `npm run spec:generate`; test/dissector.test.ts fails when qotp.lua is not its output.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderDissector } from './render.js';

const out = fileURLToPath(new URL('../qotp.lua', import.meta.url));
writeFileSync(out, renderDissector());
console.log(`wireshark: wrote ${out}`);
