/**
 * Where the renderer lives and which URLs count as "ours". Used to refuse navigation away from the app
 * and to check IPC senders. No Electron import: the caller passes what it knows (testable in plain Node).
 */
import path from 'node:path';
import { PHOTO_SCHEME } from '../../shared/ipc';

/**
 * The built renderer is loaded from this privileged custom scheme, not from file://, so that 'self' in
 * its Content-Security-Policy means the app alone (with file://, 'self' is every local file).
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'kliq';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/**
 * The app's custom schemes and their privileges (passed to protocol.registerSchemesAsPrivileged before
 * `ready`). standard: parsed like http; secure: not mixed content.
 * - app://kliq serves the built renderer; the page fetches its own files (supportFetchAPI).
 * - kliq-photo:// serves the open database's photos: to <img>, and to `fetch` from the page (a failed
 *   photo's status, HEAD) and the decode worker (the small views). A page on app://kliq fetching
 *   kliq-photo:// is a cross-origin fetch of a custom scheme, which Electron refuses unless the scheme has
 *   both supportFetchAPI and corsEnabled. The page's CSP must also name it in connect-src (index.html).
 */
export const PRIVILEGED_SCHEMES = [
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: PHOTO_SCHEME, privileges: { standard: true, secure: true, stream: true, supportFetchAPI: true, corsEnabled: true } },
];

export type RendererTarget =
  /** `electron-vite dev`: the renderer is served by the Vite dev server. */
  | { kind: 'dev'; url: string; origin: string }
  /** Built app: out/renderer (inside the asar when packaged), served as app://kliq/. */
  | { kind: 'app'; dir: string; url: string; origin: string };

export function resolveRendererTarget(opts: { isPackaged: boolean; appPath: string; env: NodeJS.ProcessEnv }): RendererTarget {
  const devUrl = opts.env.ELECTRON_RENDERER_URL;
  if (!opts.isPackaged && devUrl) {
    const url = new URL(devUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`ELECTRON_RENDERER_URL must be http(s): ${devUrl}`);
    return { kind: 'dev', url: url.href, origin: url.origin };
  }
  return { kind: 'app', dir: path.join(opts.appPath, 'out', 'renderer'), url: `${APP_ORIGIN}/index.html`, origin: APP_ORIGIN };
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
  return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST && (url.pathname === '/' || url.pathname === '/index.html');
}

/**
 * The file of the built renderer that an app:// request names, or null: only app://kliq/…, only files
 * inside the renderer folder (no `..`, no encoded separators, no NUL), `/` is index.html.
 */
export function appFileFor(raw: string, target: RendererTarget): string | null {
  if (target.kind !== 'app') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return null;
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (rel.includes('\0') || rel.includes('\\') || rel.split('/').some((seg) => seg === '..')) return null;
  rel = rel.replace(/^\/+/, '') || 'index.html';
  const root = path.resolve(target.dir);
  const file = path.resolve(root, rel);
  return file.startsWith(root + path.sep) ? file : null;
}

/** The preload script, built as CommonJS for the sandbox (see electron.vite.config.ts). */
export function preloadPath(appPath: string): string {
  return path.join(appPath, 'out', 'preload', 'index.cjs');
}
