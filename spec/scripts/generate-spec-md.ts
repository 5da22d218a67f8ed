// Writes spec/SPEC.md from spec/qotp.spec.json.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spec } from '../src/index.js';
import { renderSpecMarkdown } from '../src/render-markdown.js';

const target = fileURLToPath(new URL('../SPEC.md', import.meta.url));
writeFileSync(target, renderSpecMarkdown(spec));
console.log(`spec: wrote ${target} (${spec.clauses.length} clauses, ${spec.errata.length} errata)`);
