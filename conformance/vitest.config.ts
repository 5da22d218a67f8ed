import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Cases talk UDP to child processes: keep files apart so they do not starve each other on 2 cores.
    fileParallelism: false,
    testTimeout: 30_000,
    // The test endpoints, compiled once so that each launch is plain node (test/support/endpoints.ts).
    globalSetup: ['./test/support/build-endpoints.ts'],
  },
});
