// ESLint flat config. Besides the usual recommended sets, it enforces the process/layer boundaries:
//   src/shared         contracts and domain types: no electron, no Node built-ins, nothing of ours outside shared
//   src/main/engine    Electron-free engine (shared with the CLI): no electron, nothing from the shell,
//   src/main/cli.ts    headless CLI                                preload or renderer
//   src/main/**        never imports src/api-server
//   src/kliq           the KLIQ API client: runs in Node and in browsers: no Node built-ins, only src/shared
//   src/api-server     local KLIQ API server: src/kliq, src/shared, and of the engine only audit.ts (runAudit) and db (openDb)
//   src/main/electron  the Electron shell, src/main/index.ts its entry: may import electron
//   src/preload        sandboxed preload: electron only, no Node built-ins, nothing from main or renderer
//   src/renderer       React UI: no electron, no Node built-ins, nothing from main or preload
//   everything else    (test/, bin/, configs): no electron
import { builtinModules } from 'node:module';
import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ELECTRON_MESSAGE = 'Only src/main/electron/**, src/main/index.ts and src/preload/** may import electron.';
const ELECTRON = {
  paths: [{ name: 'electron', message: ELECTRON_MESSAGE }],
  patterns: [{ regex: '^electron/', caseSensitive: true, message: ELECTRON_MESSAGE }],
};

/** Every Node built-in, bare or `node:`-prefixed, with subpaths (fs, fs/promises, node:path, node:test…). */
const BUILTIN_NAMES = builtinModules.filter((m) => !m.startsWith('_')).map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
const nodeBuiltins = (why) => ({
  patterns: [
    { regex: '^node:', caseSensitive: true, message: why },
    { regex: `^(${BUILTIN_NAMES.join('|')})(/|$)`, caseSensitive: true, message: why },
  ],
});

/** A relative import that climbs out ('..') into one of the given top-level folders of src/. */
const layers = (names, message) => ({
  patterns: [{ regex: `(^|/)\\.\\.(/.*)?/(${names.join('|')})(/|$)`, caseSensitive: true, message }],
});

/** What src/main (engine, CLI, serve) never imports. */
const MAIN_LAYERS = layers(
  ['electron', 'preload', 'renderer', 'api-server'],
  'The engine, the CLI and serve run without Electron or a UI, and never use the local API server.',
);

/** Lower engine layers (db, ingest, inference, models) never reach up into the services, the host or the handlers. */
const ENGINE_UPWARD = {
  patterns: [
    {
      regex: '^(\\.\\./)+(audit|review|imports|host|rpc|sync|export|retail)(/|$)',
      message:
        'Engine layers: rpc → host → services (audit, review, imports…) → db / ingest / inference / models → ' +
        'geometry / errors. No upward imports.',
    },
  ],
};

/** Merges restriction sets into one `no-restricted-imports` setting (a later config object would replace, not merge). */
const restrict = (...sets) => [
  'error',
  {
    paths: sets.flatMap((s) => s.paths ?? []),
    patterns: sets.flatMap((s) => s.patterns ?? []),
  },
];

/** `import('electron')` and `require('electron')` slip past no-restricted-imports. */
const noDynamicElectron = [
  'error',
  {
    selector: 'ImportExpression[source.value=/^electron(\\u002F|$)/]',
    message: ELECTRON_MESSAGE,
  },
  {
    selector: "CallExpression[callee.name='require'][arguments.0.value=/^electron(\\u002F|$)/]",
    message: ELECTRON_MESSAGE,
  },
];

export default defineConfig(
  {
    ignores: [
      'out/**',
      'dist/**',
      'release/**',
      'node_modules/**',
      'coverage/**',
      'test-results/**',
      '.bench/**',
      'build/**',
      '.stryker-tmp/**',
      'reports/**',
    ],
  },

  js.configs.recommended,
  tseslint.configs.recommended,

  // Language options by folder.
  {
    files: ['**/*.{js,mjs,cjs,ts,mts,cts,tsx}'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
  },
  {
    files: ['src/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // The sandboxed preload has browser globals plus a restricted require(); no Node environment.
    files: ['src/preload/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Contracts: whatever runs them (Node, Electron, browser) brings the globals; none are assumed.
    files: ['src/shared/**'],
    languageOptions: { globals: { ...globals.es2021 } },
  },

  // Prettier formats (npm run format); this only keeps lines it cannot break (long strings) within 140.
  {
    files: ['**/*.{js,mjs,cjs,ts,mts,cts,tsx}'],
    rules: { 'max-len': ['error', { code: 140, ignoreUrls: true }] },
  },

  // Layer boundaries. Each block states the full list for its files: for a given rule, a later matching
  // config object replaces the options of an earlier one.
  {
    files: ['**/*.{js,mjs,cjs,ts,mts,cts,tsx}'],
    rules: { 'no-restricted-imports': restrict(ELECTRON), 'no-restricted-syntax': noDynamicElectron },
  },
  {
    files: ['src/shared/**'],
    rules: {
      'no-restricted-imports': restrict(
        ELECTRON,
        nodeBuiltins('src/shared holds contracts and domain types only: no Node built-ins (it is also read by the renderer).'),
        layers(['main', 'renderer', 'preload', 'kliq', 'api-server'], 'src/shared imports nothing of ours outside src/shared.'),
      ),
    },
  },
  {
    // The headless main process: engine, CLI, serve. Never the shell, preload, renderer or the local API server.
    files: ['src/main/**'],
    rules: { 'no-restricted-imports': restrict(ELECTRON, MAIN_LAYERS) },
  },
  {
    // Engine, lower layers (db, ingest, inference, models): nothing from the services above them.
    files: ['src/main/engine/{db,ingest,inference,models}/**'],
    rules: { 'no-restricted-imports': restrict(ELECTRON, MAIN_LAYERS, ENGINE_UPWARD) },
  },
  {
    // Engine, bottom: used by all, use nothing of the engine.
    files: ['src/main/engine/{geometry,errors,paths,service}.ts'],
    rules: {
      'no-restricted-imports': restrict(ELECTRON, MAIN_LAYERS, {
        patterns: [
          { regex: '^\\./', message: 'geometry, errors, paths and service are the bottom of the engine: they import nothing of it.' },
        ],
      }),
    },
  },
  {
    // Engine services: never the host or the handlers above them.
    files: ['src/main/engine/{audit,review,imports,watcher,buildings}.ts', 'src/main/engine/{imports,sync,export,retail,settings}/**'],
    rules: {
      'no-restricted-imports': restrict(ELECTRON, MAIN_LAYERS, {
        patterns: [
          { regex: '^(\\./|(\\.\\./)+)(host|rpc)$', message: 'Services do not import the host or the RPC handlers (they sit above).' },
        ],
      }),
    },
  },
  {
    files: ['src/main/engine/host.ts'],
    rules: {
      'no-restricted-imports': restrict(ELECTRON, MAIN_LAYERS, {
        patterns: [{ regex: '^\\./rpc$', message: 'The host does not import the RPC handlers (they sit above it).' }],
      }),
    },
  },
  {
    // The KLIQ API client: Node and browsers (fetch and Web Crypto only); imports only itself and src/shared.
    files: ['src/kliq/**'],
    languageOptions: { globals: { ...globals.es2021, ...globals.browser } },
    rules: {
      'no-restricted-imports': restrict(
        ELECTRON,
        nodeBuiltins('src/kliq runs in Node and in browsers: fetch and Web Crypto only, no Node built-ins.'),
        layers(['main', 'renderer', 'preload', 'api-server'], 'src/kliq stands alone: it imports only itself and src/shared.'),
      ),
    },
  },
  {
    // The local KLIQ API server (dev, tests, demos): its own program; reaches the engine through runAudit and openDb only.
    files: ['src/api-server/**'],
    rules: {
      'no-restricted-imports': restrict(
        ELECTRON,
        layers(['renderer', 'preload', 'electron'], 'The API server is headless: no UI, no Electron.'),
        {
          patterns: [
            {
              regex: '(^|/)\\.\\.(/.*)?/main/(?!engine/audit(\\.ts)?$|engine/db(/index)?(\\.ts)?$)',
              caseSensitive: true,
              message: 'The API server reaches the engine through src/main/engine/audit (runAudit) and src/main/engine/db (openDb) only.',
            },
          ],
        },
      ),
    },
  },
  {
    files: ['src/renderer/**'],
    rules: {
      'no-restricted-imports': restrict(
        ELECTRON,
        nodeBuiltins('The renderer is a sandboxed web page: no Node built-ins. Ask the main process through window.kliq.'),
        layers(
          ['main', 'preload', 'api-server'],
          'The renderer never imports the main process or the preload: use window.kliq and src/shared types.',
        ),
      ),
    },
  },
  {
    files: ['src/preload/**'],
    rules: {
      'no-restricted-imports': restrict(
        nodeBuiltins('Sandboxed preloads can only require electron: no Node built-ins.'),
        layers(['main', 'renderer'], 'The preload exposes one typed API; it imports nothing from main or renderer.'),
      ),
      'no-restricted-syntax': 'off',
    },
  },
  {
    // The Electron shell and its entry: may import electron; shares names with the preload through src/shared only.
    files: ['src/main/electron/**', 'src/main/index.ts'],
    rules: {
      'no-restricted-imports': restrict(
        layers(
          ['preload', 'renderer', 'api-server'],
          'The shell talks to the preload and renderer through src/shared (ipc.ts, rpc), never by import.',
        ),
      ),
      'no-restricted-syntax': 'off',
    },
  },
);
