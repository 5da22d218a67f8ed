// Writes conformance/CASES.md (see cases-md.ts).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCasesMarkdown } from './cases-md.js';

const target = fileURLToPath(new URL('../CASES.md', import.meta.url));
writeFileSync(target, renderCasesMarkdown());
console.log(`conformance: wrote ${target}`);
