/**
 * Smoke test of the desktop app itself: the real Electron window (built out/, node_modules' Electron),
 * driven by playwright-core's `_electron`: open the window, import ../shared/photos/general, see the queue.
 *
 * It runs wherever the Electron binary exists and reports itself skipped, with the reason, elsewhere:
 *   - no Electron binary: Electron 45 downloads it on first launch, which these machines cannot do. The
 *     path is resolved the way node_modules/electron/index.js does, without `require('electron')`,
 *     which would try that download.
 *   - better-sqlite3 built for Node rather than for Electron (what `npm ci` gives): the window would
 *     fail at its first database open. `npx electron-builder install-app-deps` rebuilds it for Electron
 *     (the Node tests then need `npm rebuild better-sqlite3`).
 * It drives the development app, not a packaged one: the packaged app's fuses turn off the inspector
 * Playwright attaches through (EnableNodeCliInspectArguments), on purpose.
 */
import fs from 'node:fs';
import path from 'node:path';
import { _electron, type ElectronApplication } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyAddon, electronModuleVersion } from '../scripts/native-abi.mjs';
import { GENERAL, ROOT, tmpDir } from './helpers';
import { ensureRendererBuilt } from './ui-helpers';

const ELECTRON_PKG = path.join(ROOT, 'node_modules', 'electron');

/** node_modules/electron/index.js's lookup (ELECTRON_OVERRIDE_DIST_PATH, dist/ + path.txt), never downloading. */
function electronBinary(): string | null {
  const pathFile = path.join(ELECTRON_PKG, 'path.txt');
  const rel = fs.existsSync(pathFile) ? fs.readFileSync(pathFile, 'utf8') : null;
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, rel ?? 'electron');
  return rel ? path.join(ELECTRON_PKG, 'dist', rel) : null;
}

function skipReason(): string | null {
  const bin = electronBinary();
  if (!bin || !fs.existsSync(bin)) return 'needs the Electron binary, not downloadable here (node_modules/electron has no dist/)';
  const version: string = JSON.parse(fs.readFileSync(path.join(ELECTRON_PKG, 'package.json'), 'utf8')).version;
  const sqlite = classifyAddon(fs.readFileSync(path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')));
  const abi = electronModuleVersion(version);
  if (sqlite.kind === 'abi' && sqlite.moduleVersion !== abi) {
    const fix = 'run npx electron-builder install-app-deps';
    return `better-sqlite3 is built for NODE_MODULE_VERSION ${sqlite.moduleVersion}, Electron ${version} needs ${abi}: ${fix}`;
  }
  return null;
}

const SKIP = skipReason();
if (SKIP) console.log(`electron-smoke: skipped, ${SKIP}`);

const PHOTO_COUNT = fs.readdirSync(GENERAL).filter((f) => /\.(jpe?g|png)$/i.test(f)).length;

describe('the desktop app (Electron window)', () => {
  let app: ElectronApplication | undefined;
  let home: string | undefined;

  afterAll(async () => {
    await app?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it.skipIf(SKIP !== null)(
    `opens the window, imports ../shared/photos/general and shows the queue${SKIP ? ` (skipped: ${SKIP})` : ''}`,
    async () => {
      ensureRendererBuilt();
      home = tmpDir('kliq-electron-');
      const args = [ROOT];
      // No display (CI): Chromium's headless Ozone backend.
      if (process.platform === 'linux' && !process.env.DISPLAY) args.unshift('--ozone-platform=headless');
      // Chromium refuses to start as root with its sandbox (CI containers).
      if (process.getuid?.() === 0) args.unshift('--no-sandbox');
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'ELECTRON_RENDERER_URL')) as Record<string, string>;
      app = await _electron.launch({
        executablePath: electronBinary()!,
        args,
        cwd: ROOT,
        env: { ...env, KLIQ_AUDIT_HOME: home },
        timeout: 60_000,
      });
      const page = await app.firstWindow();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.waitForLoadState('domcontentloaded');
      expect(await page.title()).toBe('KLIQ Audit');
      // the React app rendered (the preload's window.kliq is there, or it would show an error)
      await page.waitForSelector('[data-testid=nav-import]', { timeout: 30_000 });

      await page.click('[data-testid=nav-import]');
      await page.fill('[data-testid=import-paths]', GENERAL);
      await page.click('[data-testid=import-start]');
      const item = page.locator('[data-testid=import-item]').first();
      await expect.poll(() => item.getAttribute('data-state'), { timeout: 90_000, interval: 250 }).toBe('done');

      await page.click('[data-testid=nav-queue]');
      await expect.poll(() => page.locator('[data-testid=queue-row]').count(), { timeout: 30_000, interval: 250 }).toBe(PHOTO_COUNT);
      expect(await page.textContent('[data-testid=queue-total]')).toContain(`${PHOTO_COUNT} photos`);
      expect(errors).toEqual([]);
    },
    180_000,
  );
});
