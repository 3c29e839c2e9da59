// @ts-check
/**
 * Mutation testing of the core pure modules: `npm run mutation` (not in CI: it runs the unit tests once
 * per mutant, minutes on two cores). Reports: reports/mutation/mutation.html and the clear-text table.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  checkers: ['typescript'],
  // the mutated modules and their unit tests only: each type check of a mutant is 3× faster than the whole project
  tsconfigFile: 'tsconfig.mutation.json',
  mutate: [
    'src/main/engine/geometry.ts',
    'src/main/engine/inference/decode.ts',
    'src/shared/summary.ts',
    'src/main/engine/db/outbox.ts',
    'src/main/engine/db/queries.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // static mutants (QUEUE_ORDER, YOLOX_STRIDES: evaluated when the module loads) are few and the unit tests fast: test them too
  ignoreStatic: false,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
