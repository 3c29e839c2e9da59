import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';

const r = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * Native addons: never bundled, loaded from node_modules at run time (and unpacked from the asar by
 * electron-builder, see electron-builder.yml). `externalizeDeps` already externalizes every
 * `dependencies` entry; listing them again keeps them external even if they move to devDependencies.
 */
const NATIVE_MODULES = ['onnxruntime-node', 'sharp', 'better-sqlite3'];

/**
 * The CSP in src/renderer/index.html is the production one. The dev server needs a looser one:
 * @vitejs/plugin-react injects an inline Fast Refresh preamble, Vite injects <style> tags and talks to
 * its HMR websocket. Only applied by `electron-vite dev` (apply: 'serve'), never to the built file.
 */
function devCsp(): Plugin {
  return {
    name: 'kliq:dev-csp',
    apply: 'serve',
    transformIndexHtml(html) {
      const dev = [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: kliq-photo:",
        "font-src 'self'",
        "connect-src 'self' ws: wss: kliq-photo:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
      ].join('; ');
      return html.replace(/(<meta\s+http-equiv="Content-Security-Policy"\s+content=")[^"]*(")/, `$1${dev}$2`);
    },
  };
}

export default defineConfig({
  main: {
    build: {
      externalizeDeps: { include: NATIVE_MODULES },
      rollupOptions: {
        // Two entries, ESM (package.json "type": "module"): out/main/index.js (Electron main) and
        // out/main/worker.js (the inference worker_thread). engine/inference/client.ts resolves
        // new URL('./worker.js', import.meta.url) next to the bundle, i.e. out/main/worker.js.
        input: {
          index: r('./src/main/index.ts'),
          worker: r('./src/main/engine/inference/worker.ts'),
          'ocr-worker': r('./src/main/engine/retail/ocr-worker.ts'),
          // the engine's own thread (engine/thread/entry.ts): the Electron main thread only relays to it
          'engine-thread': r('./src/main/engine/thread/entry.ts'),
        },
        output: {
          entryFileNames: '[name].js',
          chunkFileNames: 'chunks/[name]-[hash].js',
        },
      },
    },
  },
  preload: {
    build: {
      rollupOptions: {
        input: { index: r('./src/preload/index.ts') },
        // Sandboxed preloads (sandbox: true) are run as classic scripts with a restricted require():
        // they cannot be ES modules. Hence CommonJS, with a .cjs extension since the package is ESM.
        output: {
          format: 'cjs',
          entryFileNames: '[name].cjs',
          inlineDynamicImports: true,
        },
      },
    },
  },
  renderer: {
    root: r('./src/renderer'),
    plugins: [react(), devCsp()],
    build: {
      minify: process.env.KLIQ_NO_MINIFY ? false : true,
      rollupOptions: {
        input: { index: r('./src/renderer/index.html') },
      },
    },
  },
});
