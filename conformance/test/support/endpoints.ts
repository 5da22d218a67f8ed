// The test endpoints (defective-endpoint.ts, defective-client.ts, hostile-endpoint.ts) as the
// tests launch them: compiled to JavaScript once per test run (build-endpoints.ts, vitest's
// global setup) and started with plain node. Started through tsx, each launch cost about 300 ms
// of CPU more, and the soundness matrix and the defect tests launch several hundred.
import { fileURLToPath } from 'node:url';

export const TEST_ENDPOINTS = ['defective-endpoint', 'defective-client', 'hostile-endpoint'] as const;
export type TestEndpoint = (typeof TEST_ENDPOINTS)[number];

/**
 * Where the compiled endpoints go: beside test/support, at the same depth, so that the paths the
 * endpoints take relative to their own file (the reference CLI) hold there too.
 */
export const BUILT_DIR = fileURLToPath(new URL('../.built/', import.meta.url));
export const sourceOf = (name: TestEndpoint): string => fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
export const builtOf = (name: TestEndpoint): string => `${BUILT_DIR}${name}.mjs`;

/** The command that starts a test endpoint: node and its compiled file (the arguments follow). */
export const endpointCommand = (name: TestEndpoint): string[] => [process.execPath, builtOf(name)];
