// Writes spec/SPEC.md from spec/qotp.spec.json, and the copies of its findings table in the
// repository's README.md and interop/README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spec } from '../src/index.js';
import { renderSpecMarkdown, withFindingsTable } from '../src/render-markdown.js';

const target = fileURLToPath(new URL('../SPEC.md', import.meta.url));
writeFileSync(target, renderSpecMarkdown(spec));
console.log(
  `spec: wrote ${target} (${spec.clauses.length} clauses, ${spec.errata.length} ` +
    `errata, ${spec.findings.length} findings)`,
);
for (const doc of ['../../README.md', '../../interop/README.md']) {
  const path = fileURLToPath(new URL(doc, import.meta.url));
  const before = readFileSync(path, 'utf8');
  const after = withFindingsTable(before, spec);
  if (after !== before) writeFileSync(path, after);
  console.log(`spec: ${path}: findings table ${after === before ? 'already current' : 'updated'}`);
}
