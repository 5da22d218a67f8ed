// npm run fuzz -- [--count N] [--seed S]: a long fuzz run (see src/fuzz.ts); exits 1 on a crash.
import { parseArgs } from 'node:util';
import { selectCryptoBackend } from '@qotp/reference/node';
import { fuzz } from '../src/fuzz.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
  },
});
const count = Number(values.count);
const seed = Number(values.seed);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
  process.stderr.write(
    `fuzz: --count and --seed take whole numbers (count at least 1), got '${values.count}' and '${values.seed}'\n`,
  );
  process.exit(2);
}
selectCryptoBackend();
const report = fuzz({ count, seed });
const codes = Object.entries(report.rejected)
  .sort((a, b) => b[1] - a[1])
  .map(([code, n]) => `${code} ${n}`)
  .join(', ');
process.stdout.write(
  `fuzz: seed ${seed}: ${report.inputs} inputs in ${(report.ms / 1000).toFixed(1)} s, ${report.accepted} ` +
    `accepted, rejected: ${codes}; engine connections ended: ${JSON.stringify(report.engineCloses)}\n`,
);
for (const c of report.crashes) process.stdout.write(`fuzz: CRASH in ${c.target} on ${c.input}\n${c.error}\n`);
const replay = `${report.crashes.length} crash(es); replay with --seed ${seed} --count ${count}`;
process.stdout.write(`fuzz: ${report.crashes.length === 0 ? 'no crash' : replay}\n`);
process.exit(report.crashes.length === 0 ? 0 : 1);
