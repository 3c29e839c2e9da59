import { defineConfig } from 'vitest/config';

/**
 * `npm run mutation` (Stryker) runs only these: the fast unit tests of the mutated modules (no ONNX, no
 * photos, no ../shared), so each of the hundreds of mutants is tested in milliseconds.
 */
export default defineConfig({
  test: {
    include: ['test/geometry.test.ts', 'test/decode-unit.test.ts', 'test/summary.test.ts', 'test/outbox.test.ts', 'test/queries.test.ts'],
    pool: 'forks',
  },
});
