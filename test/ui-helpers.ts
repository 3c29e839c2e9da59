/**
 * Helpers for the UI test: the built renderer, a real audited database, `kliq-audit serve` as a child
 * process, and headless Debian Chromium driven by playwright-core.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { chromium, type Browser, type Page } from 'playwright-core';
import { GENERAL, ROOT, tmpDir } from './helpers';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');

/** What `npm run build` (electron-vite) writes; a missing one means out/ is absent or older than the sources' layout. */
const BUILD_OUTPUTS = [
  'main/index.js',
  'main/worker.js',
  'main/engine-thread.js',
  'preload/index.cjs',
  'renderer/index.html',
  'renderer/favicon.svg',
];

/**
 * Builds main, preload and renderer (electron-vite) when one of its outputs is missing. Test files run
 * in parallel processes: a lock directory keeps two of them from building into out/ at once.
 */
export function ensureRendererBuilt(): void {
  const built = () => BUILD_OUTPUTS.every((f) => fs.existsSync(path.join(ROOT, 'out', f)));
  if (built()) return;
  const lock = path.join(ROOT, 'test-results', '.build-lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 240_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A stale lock (a build killed mid-way) is taken over after 5 minutes.
      const held = fs.statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 300_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`another test process has been building out/ for 4 minutes (${lock})`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (built()) return;
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 240_000,
    });
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** A real audit (CPU, tiles 2 so the shelves have many boxes) into `db`. */
export function auditInto(db: string, photos: string, extra: string[] = []): void {
  execFileSync(process.execPath, [CLI, 'audit', photos, '--db', db, '--provider', 'cpu', '--tiles', '2', ...extra], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 240_000,
  });
}

/** These photos of the shared set copied into a new folder and audited (auditInto) into a new database, whose path it gives. */
export function auditedCopies(names: string[], dbName: string): string {
  const dir = tmpDir();
  const photos = path.join(dir, 'photos');
  fs.mkdirSync(photos);
  for (const n of names) fs.copyFileSync(path.join(GENERAL, n), path.join(photos, n));
  const db = path.join(dir, dbName);
  auditInto(db, photos);
  return db;
}

export interface Served {
  url: string;
  origin: string;
  port: number;
  token: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** `kliq-audit serve --port 0` (or `port`): resolves with the URL it prints as its first stdout line. */
export async function startServe(
  db: string,
  user: string,
  opts: { port?: number; args?: string[]; env?: NodeJS.ProcessEnv; uid?: number } = {},
): Promise<Served> {
  const args = ['serve', '--db', db, '--port', String(opts.port ?? 0), '--user', user, '--provider', 'cpu', ...(opts.args ?? [])];
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    // another user id (as root: permission tests; root reads any folder)
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const lines = readline.createInterface({ input: proc.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 60 s; stderr:\n${err}`)), 60_000);
    lines.once('line', (l) => {
      clearTimeout(timer);
      resolve(l.trim());
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before printing its URL; stderr:\n${err}`));
    });
  });
  const url = new URL(first);
  return {
    url: first,
    origin: url.origin,
    port: Number(url.port),
    token: url.searchParams.get('token') ?? '',
    proc,
    stderr: () => err,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Polls `fn` every 50 ms until it gives something truthy; times out naming `what` (and the last error). */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeout = 15_000): Promise<T> {
  const end = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    const v = await fn().catch((err: unknown) => ((last = err), null));
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Review's photo on screen: an <img>, or the canvas a photo decoded ahead is handed to (usePhotoCache). */
export const PHOTO = '[data-testid=review-image], [data-testid=review-bitmap]';

/** Whether Review shows its photo's pixels: the <img> loaded, or the decoded bitmap handed to its canvas. */
export async function photoPixelsShown(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const img = document.querySelector<HTMLImageElement>('[data-testid=review-image]');
    if (img) return img.complete && img.naturalWidth > 0;
    return document.querySelector<HTMLCanvasElement>('[data-testid=review-bitmap]')?.dataset.drawn === 'true';
  });
}
