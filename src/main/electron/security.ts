/**
 * Where the renderer lives and which URLs count as "ours". Used to refuse navigation away from the app
 * and to check IPC senders. No Electron import: the caller passes what it knows (testable in plain Node).
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type RendererTarget =
  /** `electron-vite dev`: the renderer is served by the Vite dev server. */
  | { kind: 'dev'; url: string; origin: string }
  /** Built app: the renderer is out/renderer/index.html loaded from disk (inside the asar when packaged). */
  | { kind: 'file'; file: string; url: string };

export function resolveRendererTarget(opts: { isPackaged: boolean; appPath: string; env: NodeJS.ProcessEnv }): RendererTarget {
  const devUrl = opts.env.ELECTRON_RENDERER_URL;
  if (!opts.isPackaged && devUrl) {
    const url = new URL(devUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`ELECTRON_RENDERER_URL must be http(s): ${devUrl}`);
    return { kind: 'dev', url: url.href, origin: url.origin };
  }
  const file = path.join(opts.appPath, 'out', 'renderer', 'index.html');
  return { kind: 'file', file, url: pathToFileURL(file).href };
}

/** True when `raw` is the app's own page (any hash or query), false for anything else or garbage. */
export function isAppUrl(raw: string, target: RendererTarget): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (target.kind === 'dev') return url.origin === target.origin;
  if (url.protocol !== 'file:' || (url.host !== '' && url.host !== 'localhost')) return false;
  try {
    return path.resolve(fileURLToPath(url)) === path.resolve(target.file);
  } catch {
    return false;
  }
}

/** The preload script, built as CommonJS for the sandbox (see electron.vite.config.ts). */
export function preloadPath(appPath: string): string {
  return path.join(appPath, 'out', 'preload', 'index.cjs');
}
