// npm run vectors:generate: rewrites every file in data/ from the reference.
// The output is deterministic; a test fails when the committed files differ.
import { writeFileSync } from 'node:fs';
import { dataPath, schemaProblems, vectorFileNames } from '../src/index.js';
import { generators, serializeVectorFile } from '../src/generators/index.js';

let total = 0;
for (const name of vectorFileNames) {
  const file = generators[name]();
  const problems = schemaProblems(name, file);
  if (problems.length > 0) {
    console.error(`vectors: ${name} does not match its schema:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  writeFileSync(dataPath(name), serializeVectorFile(file));
  total += file.numberOfTests;
  console.log(`vectors: ${name}.json  ${file.numberOfTests} tests`);
}
console.log(`vectors: ${total} tests in ${vectorFileNames.length} files`);
