// Vitest's global setup: compiles the test endpoints (support/endpoints.ts) before any test
// file runs. Each is bundled with what it imports from this package; the packages it imports
// (@qotp/*, Node's) stay imports, resolved from the output folder as from the source.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { BUILT_DIR, builtOf, sourceOf, TEST_ENDPOINTS } from './endpoints.js';

export default async function setup(): Promise<void> {
  rmSync(BUILT_DIR, { recursive: true, force: true });
  await Promise.all(
    TEST_ENDPOINTS.map((name) =>
      build({
        entryPoints: [sourceOf(name)],
        outfile: builtOf(name),
        bundle: true,
        packages: 'external',
        platform: 'node',
        format: 'esm',
        target: 'node20',
        logLevel: 'warning',
      }),
    ),
  );
}
