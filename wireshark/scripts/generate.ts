// Rewrites the generated part of qotp.lua, its SPEC table made from spec/qotp.spec.json
// (message layouts, header and payload bit fields, payload types, sizes, the nonce's direction
// bit, the window code); the crypto and the dissector around it are written by hand. Run by
// `npm run spec:generate`; test/dissector.test.ts fails when the table is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderDissector } from './render.js';

const file = fileURLToPath(new URL('../qotp.lua', import.meta.url));
writeFileSync(file, renderDissector(readFileSync(file, 'utf8')));
console.log(`wireshark: wrote the SPEC table of ${file}`);
