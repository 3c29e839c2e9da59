/**
 * Watched folders on the Import screen, in headless Debian Chromium against `kliq-audit serve` (the
 * engine host's watch service): a folder added with "Keep watching" is watched with its settings, its
 * state, queue and last photo are shown live; pause, resume and remove act on the engine; a deleted photo
 * shows as such; a folder added by another process (`kliq-audit folders add`) appears, and a watched
 * folder that is deleted shows 'missing' with its reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL, ROOT, tmpDir } from './helpers';
import { CHROMIUM, ensureRendererBuilt, launchChromium, startServe } from './ui-helpers';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && !process.env.CI) console.warn(`ui-watch.test.ts skipped: no Chromium at ${CHROMIUM}`);
const SHOTS = path.join(ROOT, 'test-results', 'screenshots');

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 30_000) {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const count = (dbFile: string, sql: string) => {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.prepare(sql).pluck().get() as number;
  } finally {
    db.close();
  }
};

describe.skipIf(!hasChromium && !process.env.CI)('Import screen: watched folders (Chromium)', () => {
  let browser: Browser;
  beforeAll(async () => {
    ensureRendererBuilt();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  const row = (page: Page, folder: string) => page.locator(`[data-testid=import-folder][data-path="${folder}"]`);

  it('watch a folder with its settings; live state, queue, last photo; pause, resume, deleted photo, missing folder, remove', async () => {
    const dir = tmpDir('kliq-ui-watch-');
    const dbFile = path.join(dir, 'w.db');
    const folder = path.join(dir, 'phone-sync');
    fs.mkdirSync(folder);
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(folder, 'dog.jpg'));
    const served = await startServe(dbFile, 'ui-watch');
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    try {
      await page.goto(served.url);
      await page.click('[data-testid=nav-import]');
      await page.fill('[data-testid=import-paths]', folder);
      await page.fill('[data-testid=import-location]', 'Store W');
      await page.fill('[data-testid=import-visit]', 'v-77');
      await page.check('[data-testid=import-watch]');
      expect(await page.textContent('[data-testid=import-start]')).toBe('Watch folders');
      await page.click('[data-testid=import-start]');
      const r = row(page, folder);
      await until('watching', async () => (await r.getAttribute('data-state')) === 'watching');
      expect(await r.locator('[data-testid=folder-settings]').textContent()).toBe('Store W · visit v-77 · whole photo');
      await until('the photo already there, as last photo', async () =>
        (await r.locator('[data-testid=folder-last-photo]').textContent())?.includes('dog.jpg'),
      );
      // a photo copied in: audited, shown as the last photo, the queue back to 0
      fs.copyFileSync(path.join(GENERAL, 'giraffe.jpg'), path.join(folder, 'giraffe.jpg'));
      await until('the copied photo', async () =>
        (await r.locator('[data-testid=folder-last-photo]').textContent())?.includes('giraffe.jpg'),
      );
      await until('queue empty', async () => (await r.getAttribute('data-queued')) === '0');
      expect(await r.locator('[data-testid=folder-queue]').textContent()).toContain('0 queued');
      expect(count(dbFile, `SELECT count(*) FROM observations WHERE status = 'completed' AND visit_id = 'v-77'`)).toBe(2);
      await page.screenshot({ path: path.join(SHOTS, 'import-folders.png') });

      // paused: nothing taken; resumed: what arrived meanwhile is audited
      await r.locator('[data-testid=folder-pause]').click();
      await until('paused', async () => (await r.getAttribute('data-state')) === 'paused');
      fs.copyFileSync(path.join(GENERAL, 'eagle.jpg'), path.join(folder, 'eagle.jpg'));
      await new Promise((res) => setTimeout(res, 2000));
      expect(count(dbFile, 'SELECT count(*) FROM observations')).toBe(2);
      await r.locator('[data-testid=folder-resume]').click();
      await until('watching again', async () => (await r.getAttribute('data-state')) === 'watching');
      await until('the photo that arrived while paused', () => count(dbFile, `SELECT count(*) FROM observations`) === 3);

      // a deleted photo: counted on the folder, marked in the queue, its results kept
      fs.rmSync(path.join(folder, 'dog.jpg'));
      await until('the deletion shown', async () =>
        (
          await r
            .locator('[data-testid=folder-deleted]')
            .textContent()
            .catch(() => '')
        )?.includes('1 deleted'),
      );
      await page.click('[data-testid=nav-queue]');
      await until('the queue row marked', async () => (await page.$$('[data-testid=source-state]')).length === 1);
      expect(await page.textContent('[data-testid=source-state]')).toBe('file deleted');
      await page.click('[data-testid=nav-import]');

      // another process adds a folder: it appears; deleted, it shows missing with why
      const other = path.join(dir, 'card-reader');
      fs.mkdirSync(other);
      const add = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'kliq-audit.mjs'), 'folders', 'add', other, '--db', dbFile], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      expect(add.status, add.stderr).toBe(0);
      const o = row(page, other);
      await until('the folder added elsewhere', async () => (await o.getAttribute('data-state')) === 'watching', 30_000);
      fs.rmSync(other, { recursive: true });
      await until('missing', async () => (await o.getAttribute('data-state')) === 'missing');
      expect(await o.locator('[data-testid=folder-reason]').textContent()).toMatch(
        /the folder does not exist .*watching resumes when it is back/,
      );
      await page.screenshot({ path: path.join(SHOTS, 'import-folders-missing.png') });

      // removed: gone from the list and not watched; its photos' results stay
      await r.locator('[data-testid=folder-remove]').click();
      await until('removed', async () => (await r.count()) === 0);
      fs.copyFileSync(path.join(GENERAL, 'person.jpg'), path.join(folder, 'person.jpg'));
      await new Promise((res) => setTimeout(res, 2000));
      expect(count(dbFile, 'SELECT count(*) FROM observations')).toBe(3);
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
      await served.stop();
    }
    // serve stopped cleanly (SIGTERM): nothing left processing
    expect(count(dbFile, `SELECT count(*) FROM observations WHERE status = 'processing'`)).toBe(0);
  });

  // serve as a user id of its own (root reads any folder; the inotify limit is per user): a helper holds every
  // inotify instance that id may have, so its watched folders fall back to polling; a folder it cannot read is
  // in error. Needs root and /usr/bin/python3 (the helper).
  const isRoot = process.getuid?.() === 0;
  const otherUid = 40_000 + ((process.pid + 7) % 20_000);
  const python = '/usr/bin/python3';
  it.skipIf(!isRoot || !fs.existsSync(python))(
    'polling fallback and an unreadable folder, with their reasons (serve as another user id, out of inotify instances)',
    async () => {
      const dir = tmpDir('kliq-ui-watch-');
      fs.chmodSync(dir, 0o777);
      const env = { HOME: dir, TMPDIR: dir, KLIQ_MODELS_DIR: path.join(dir, 'models') };
      const [open, locked] = [path.join(dir, 'open'), path.join(dir, 'locked')];
      fs.mkdirSync(open);
      fs.mkdirSync(locked);
      fs.chmodSync(open, 0o777);
      fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(locked, 'dog.jpg'));
      fs.chmodSync(locked, 0o000);
      const dbFile = path.join(dir, 'w.db');
      const add = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'kliq-audit.mjs'), 'folders', 'add', open, locked, '--db', dbFile], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, ...env },
        uid: otherUid,
        gid: otherUid,
      });
      expect(add.status, add.stderr).toBe(0);
      const holder = spawnHolder(python, otherUid);
      let served: Awaited<ReturnType<typeof startServe>> | null = null;
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      try {
        expect(await holder.held).toMatch(/^\d+ 24$/); // EMFILE: no instance left for that user id
        served = await startServe(dbFile, 'ui-watch', { uid: otherUid, env });
        await page.goto(served.url);
        await page.click('[data-testid=nav-import]');
        const o = row(page, open);
        const l = row(page, locked);
        await until('polling', async () => (await o.getAttribute('data-state')) === 'polling', 60_000);
        expect(await o.locator('[data-testid=folder-reason]').textContent()).toMatch(
          /ran out of file watches \(inotify, EMFILE\).*sudo sysctl fs\.inotify\.max_user_instances=/,
        );
        await until('error', async () => (await l.getAttribute('data-state')) === 'error');
        expect(await l.locator('[data-testid=folder-reason]').textContent()).toMatch(
          /cannot read the folder \(EACCES: permission denied.*give this user read access; watching resumes by itself/,
        );
        // photos copied in are audited while polling
        fs.copyFileSync(path.join(GENERAL, 'giraffe.jpg'), path.join(open, 'giraffe.jpg'));
        await until('the photo audited while polling', async () =>
          (
            await o
              .locator('[data-testid=folder-last-photo]')
              .textContent()
              .catch(() => '')
          )?.includes('giraffe.jpg'),
        );
        await page.screenshot({ path: path.join(SHOTS, 'import-folders-polling.png') });
        // readable again: watched (by polling, inotify still exhausted) without anyone pressing a button
        fs.chmodSync(locked, 0o755);
        await until('the folder readable again', async () => (await l.getAttribute('data-state')) === 'polling', 30_000);
        await until('its photo audited', () => count(dbFile, `SELECT count(*) FROM observations WHERE status = 'completed'`) === 2, 60_000);
      } finally {
        fs.chmodSync(locked, 0o755);
        await page.close();
        await served?.stop();
        holder.proc.kill('SIGKILL');
      }
    },
  );
});

/** A helper process, as `uid`, holding every inotify instance that user id may have; `held` says how many and the errno. */
function spawnHolder(python: string, uid: number) {
  const proc = spawn(
    python,
    [
      '-c',
      [
        'import ctypes, sys, time',
        "libc = ctypes.CDLL('libc.so.6', use_errno=True)",
        'n = 0',
        'while libc.inotify_init() >= 0: n += 1',
        "sys.stdout.write('%d %d\\n' % (n, ctypes.get_errno()))",
        'sys.stdout.flush()',
        'time.sleep(600)',
      ].join('\n'),
    ],
    { uid, gid: uid, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const held = new Promise<string>((resolve) =>
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    }),
  );
  return { proc, held };
}
