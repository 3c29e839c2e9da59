/**
 * BuildingScan and export in the UI, in headless Chromium against `kliq-audit serve` on a database
 * audited by the CLI with --building/--asset/--visit: the building → asset → visit drill-down opens the
 * visit's photos in the Queue; in Review Shift+1…4 grade the selected box, else the photo's asset
 * (Shift+0 clears), checked in the SQLite file (attributes.condition, assets.condition, a correction and
 * an outbox row each) and never taken as the 1–9 label keys; the Queue's export writes the filter's photos.
 * Moving on in Review, each photo's asset shows in the same frame as its boxes (asked for ahead), and a
 * grade made in another tab shows.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL, ROOT, tmpDir } from './helpers';
import { auditInto, CHROMIUM, ensureRendererBuilt, launchChromium, startServe, type Served } from './ui-helpers';
import { readYoloDataset } from './yolo-reader';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && !process.env.CI) console.warn(`ui-buildings.test.ts skipped: no Chromium at ${CHROMIUM}`);
const SHOTS = path.join(ROOT, 'test-results', 'screenshots');

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeout = 15_000) {
  const end = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const read = <T>(file: string, fn: (db: Database.Database) => T): T => {
  const db = new Database(file, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
};

if (!hasChromium && process.env.CI) {
  describe('BuildingScan UI in Chromium', () => {
    it('needs Chromium', () => {
      throw new Error(`no Chromium at ${CHROMIUM}: CI must install it`);
    });
  });
}

describe.skipIf(!hasChromium)('BuildingScan and export in Chromium against kliq-audit serve', () => {
  let dbFile: string;
  let served: Served;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    ensureRendererBuilt();
    const dir = tmpDir('kliq-bld-');
    dbFile = path.join(dir, 'b.db');
    auditInto(dbFile, GENERAL, ['--building', 'HQ', '--asset', 'Roof', '--visit', '2025-Q1']);
    // two more photos (other content: mirrored) of another asset of the same building, on another visit
    const more = path.join(dir, 'facade');
    fs.mkdirSync(more);
    for (const f of ['dog.jpg', 'person.jpg']) await sharp(path.join(GENERAL, f)).flop().toFile(path.join(more, f));
    auditInto(dbFile, more, ['--building', 'HQ', '--asset', 'Facade', '--visit', '2025-Q2']);
    served = await startServe(dbFile, 'inspector');
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    fs.mkdirSync(SHOTS, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  }, 60_000);

  it('drill-down, grade keys, grade filter and export from the Queue', async () => {
    await page.goto(served.url);
    await page.waitForSelector('[data-testid=queue-screen]');

    // building → asset → visit
    await page.keyboard.press('Alt+5');
    await page.click('[data-testid=building-row][data-name="HQ"]');
    await page.waitForSelector('[data-testid=asset-row][data-name="Roof"]');
    expect(await page.$$eval('[data-testid=asset-row]', (rows) => rows.map((r) => r.getAttribute('data-name')))).toEqual([
      'Facade',
      'Roof',
    ]);
    await page.click('[data-testid=asset-row][data-name="Roof"]');
    await page.waitForSelector('[data-testid=visit-row][data-name="2025-Q1"]');
    expect(await page.$$eval('[data-testid=visit-row]', (rows) => rows.map((r) => r.getAttribute('data-name')))).toEqual(['2025-Q1']);
    await page.screenshot({ path: path.join(SHOTS, 'buildings-visits.png') });
    await page.click('[data-testid=visit-open]');
    await page.waitForSelector('[data-testid=queue-screen]');
    await until('the visit’s 9 photos in the queue', async () => (await page.textContent('[data-testid=queue-total]')) === '9 photos');
    expect(await page.inputValue('[data-testid=filter-building]')).toBe('HQ');

    // Review: grade a box with Shift+3, then the asset with Shift+2 (no box selected)
    await page.focus('[data-testid=queue-list]');
    await page.keyboard.press('Enter');
    await until('review ready', async () => (await page.getAttribute('[data-testid=review-screen]', 'data-ready')) === 'true');
    await until('boxes', async () => (await page.$$('[data-testid=box]')).length > 0);
    const obs = (await page.getAttribute('[data-testid=review-screen]', 'data-observation-id'))!;
    await page.keyboard.press(']');
    const boxId = Number(await until('a selected box', () => page.getAttribute('[data-testid=box][data-selected=true]', 'data-id')));
    const labelBefore = read(dbFile, (db) => db.prepare('SELECT object_name FROM detections WHERE id = ?').pluck().get(boxId));
    const corrections = () => read(dbFile, (db) => db.prepare('SELECT count(*) FROM corrections').pluck().get() as number);
    const outbox = () => read(dbFile, (db) => db.prepare(`SELECT count(*) FROM outbox WHERE kind = 'labels'`).pluck().get() as number);
    const c0 = corrections();
    const o0 = outbox();
    await page.keyboard.press('Shift+Digit3');
    const boxCondition = () =>
      read(dbFile, (db) => db.prepare(`SELECT json_extract(attributes, '$.condition') FROM detections WHERE id = ?`).pluck().get(boxId));
    await until('the box graded poor in the database', () => boxCondition() === 'poor');
    expect(await page.getAttribute(`[data-testid=box][data-id="${boxId}"]`, 'data-condition')).toBe('poor');
    expect(await page.textContent('[data-testid=box-condition]')).toBe('poor');
    // Shift+3 is not the label key 3
    expect(read(dbFile, (db) => db.prepare('SELECT object_name FROM detections WHERE id = ?').pluck().get(boxId))).toBe(labelBefore);

    await page.keyboard.press('Escape');
    await until('no box selected', async () => (await page.$('[data-testid=box][data-selected=true]')) === null);
    await page.keyboard.press('Shift+Digit2');
    const assetCondition = (name: string) =>
      read(dbFile, (db) => db.prepare('SELECT condition, condition_by FROM assets WHERE name = ?').get(name)) as {
        condition: string | null;
        condition_by: string | null;
      };
    await until('the asset graded fair', () => assetCondition('Roof').condition === 'fair');
    expect(assetCondition('Roof').condition_by).toBe('inspector');
    expect(assetCondition('Facade').condition).toBeNull();
    await until('the panel shows it', async () => (await page.textContent('[data-testid=asset-condition]')) === 'fair');
    await until('a correction and an outbox row per grade', () => corrections() === c0 + 2 && outbox() === o0 + 2);
    const rows = read(dbFile, (db) =>
      db.prepare('SELECT observation_id, detection_id, action, after, who FROM corrections ORDER BY id DESC LIMIT 2').all(),
    ) as { observation_id: string; detection_id: number | null; action: string; after: string; who: string }[];
    expect(rows[1]).toMatchObject({ observation_id: obs, detection_id: boxId, action: 'update', who: 'inspector' });
    expect(JSON.parse(rows[1].after).attributes).toEqual({ condition: 'poor' });
    expect(rows[0]).toMatchObject({ observation_id: obs, detection_id: null, action: 'update' });
    expect(JSON.parse(rows[0].after).asset.condition).toBe('fair');
    await page.screenshot({ path: path.join(SHOTS, 'review-grades.png') });

    // Shift+0 clears the selected box's grade
    await page.keyboard.press(']');
    await until(
      'the box selected again',
      async () => Number(await page.getAttribute('[data-testid=box][data-selected=true]', 'data-id')) === boxId,
    );
    await page.keyboard.press('Shift+Digit0');
    await until('the box grade cleared', () => boxCondition() === null);

    // the drill-down shows the asset's grade; the Grade filter finds the graded photo
    await page.keyboard.press('Shift+Digit4');
    await until('the box graded critical', () => boxCondition() === 'critical');
    await page.keyboard.press('Alt+5');
    await page.click('[data-testid=building-row][data-name="HQ"]');
    await until(
      'Roof graded fair in the drill-down',
      async () => (await page.textContent('[data-testid=asset-row][data-name="Roof"] [data-testid=asset-row-condition]')) === 'fair',
    );
    await page.keyboard.press('Alt+2');
    await page.click('[data-testid=filter-clear]');
    await page.selectOption('[data-testid=filter-condition]', 'critical');
    await until('one critical photo', async () => (await page.textContent('[data-testid=queue-total]')) === '1 photo');
    await page.selectOption('[data-testid=filter-condition]', 'fair');
    await until('the Roof photos by their asset grade', async () => (await page.textContent('[data-testid=queue-total]')) === '9 photos');

    // export what the filter shows: the typed folder is checked, then written
    await page.click('[data-testid=export-open]');
    await page.fill('[data-testid=export-out]', path.join(tmpDir(), 'no', 'such', 'ds'));
    await until('the missing parent refused', async () => (await page.getAttribute('[data-testid=export-check]', 'data-ok')) === 'false');
    expect(await page.textContent('[data-testid=export-check]')).toMatch(/does not exist: create it first/);
    expect(await page.isDisabled('[data-testid=export-start]')).toBe(true);
    await page.fill('[data-testid=export-out]', 'relative/ds');
    await until('a relative path refused', async () =>
      /type the full path/.test((await page.textContent('[data-testid=export-check]')) ?? ''),
    );
    const out = path.join(tmpDir(), 'ui-export');
    await page.fill('[data-testid=export-out]', out);
    await until('the folder accepted', async () => (await page.getAttribute('[data-testid=export-check]', 'data-ok')) === 'true');
    await page.click('[data-testid=export-start]');
    await until('the export done', async () => (await page.getAttribute('[data-testid=export-status]', 'data-state')) === 'done', 60_000);
    await page.screenshot({ path: path.join(SHOTS, 'export-dialog.png') });
    const ds = await readYoloDataset(path.join(out, 'data.yaml'));
    expect(ds.splits.train.length + ds.splits.val.length).toBe(9);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.filter).toMatchObject({ condition: 'fair' });
    expect(errors).toEqual([]);
  });

  /** A new tab of the context, in Review on the queue's first photo. */
  const openReview = async (ctx: BrowserContext) => {
    const a = await ctx.newPage();
    a.on('pageerror', (e) => errors.push(e.message));
    await a.goto(served.url);
    await a.waitForSelector('[data-testid=queue-row]');
    await a.focus('[data-testid=queue-list]');
    await a.keyboard.press('Enter');
    await until('review ready', async () => (await a.getAttribute('[data-testid=review-screen]', 'data-ready')) === 'true');
    return a;
  };

  it('each photo moved to shows its own asset in the frame that shows its boxes; a grade from another tab shows', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const a = await openReview(ctx);
    // every frame: the photo whose boxes are drawn, and the asset the panel names
    await a.evaluate(() => {
      const w = window as unknown as { __frames: [string, string][] };
      w.__frames = [];
      const frame = () => {
        const photo = document.querySelector<HTMLElement>('.canvas-wrap')?.dataset.photo ?? '';
        w.__frames.push([photo, document.querySelector('[data-testid=photo-asset]')?.textContent ?? '']);
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    const assetOf = (id: string) =>
      read(dbFile, (db) =>
        db.prepare('SELECT a.name FROM observations o JOIN assets a ON a.id = o.asset_id WHERE o.id = ?').pluck().get(id),
      ) as string;
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      // a look at each photo, long enough for the ones ahead to be asked for
      await a.waitForTimeout(600);
      const from = await a.getAttribute('.canvas-wrap', 'data-photo');
      await a.keyboard.press('d');
      await until('the next photo', async () => (await a.getAttribute('.canvas-wrap', 'data-photo')) !== from);
    }
    await a.waitForTimeout(300);
    const frames = await a.evaluate(() => (window as unknown as { __frames: [string, string][] }).__frames);
    for (const [photo, asset] of frames) {
      if (!photo) continue;
      seen.add(photo);
      // never '—' (not known yet) nor the previous photo's asset
      expect({ photo, asset }).toEqual({ photo, asset: assetOf(photo) });
    }
    expect(seen.size).toBe(7);

    // another tab grades the asset of the photo on screen here: this tab's panel shows it
    const shown = (await a.getAttribute('.canvas-wrap', 'data-photo'))!;
    const b = await ctx.newPage();
    await b.goto(a.url()); // the place is kept in the URL
    await until('tab b on the photo', async () => (await b.getAttribute('[data-testid=review-screen]', 'data-ready')) === 'true');
    expect(await b.getAttribute('.canvas-wrap', 'data-photo')).toBe(shown);
    await b.keyboard.press('Escape');
    await b.keyboard.press('Shift+Digit1');
    await until('graded good in the database', () =>
      read(dbFile, (db) => db.prepare('SELECT condition FROM assets WHERE name = ?').pluck().get(assetOf(shown)) === 'good'),
    );
    await until('tab a shows it', async () => (await a.textContent('[data-testid=asset-condition]')) === 'good');
    await ctx.close();
  });

  it('a grade set by another process while the connection was down shows once it is back', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const a = await openReview(ctx);
    const shown = (await a.getAttribute('.canvas-wrap', 'data-photo'))!;
    const assetId = read(dbFile, (db) => db.prepare('SELECT asset_id FROM observations WHERE id = ?').pluck().get(shown)) as string;
    const was = read(dbFile, (db) => db.prepare('SELECT condition FROM assets WHERE id = ?').pluck().get(assetId)) as string | null;
    await until('the panel shows the grade', async () => (await a.textContent('[data-testid=asset-condition]')) === (was ?? '—'));
    const port = served.port;
    await served.stop(); // no 'changed' event can reach the page for what happens now
    await until('the page knows', async () => (await a.getAttribute('[data-testid=connection]', 'data-state')) !== 'open');
    const next = was === 'critical' ? 'poor' : 'critical';
    const db = new Database(dbFile);
    db.prepare('UPDATE assets SET condition = ? WHERE id = ?').run(next, assetId);
    db.close();
    served = await startServe(dbFile, 'inspector', { port });
    await until('the connection back', async () => (await a.getAttribute('[data-testid=connection]', 'data-state')) === 'open', 30_000);
    await until('the grade shown', async () => (await a.textContent('[data-testid=asset-condition]')) === next);
    await ctx.close();
  });
});
