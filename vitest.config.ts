import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // one temporary folder per test file, removed after it (test/setup.ts)
    setupFiles: ['test/setup.ts'],
    // native modules (onnxruntime-node, sharp, better-sqlite3) and worker_threads: one process per file
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // CI also writes a JSON report; .ci/run prints its "N passed, N failed" line
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
