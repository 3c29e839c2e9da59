/**
 * The Queue's grid of thumbnails and Review's filmstrip, in Chromium (issue 13, "Review at auditor
 * speed"): the thumbnails really load (the engine's JPEGs, decoded by the page), g and the toggle switch
 * views and the choice is remembered, arrows + Enter open Review on the photo the cursor is on, the
 * filmstrip shows the neighbours and a click opens one; on a queue of 1 500 photos only the rows near
 * the viewport are in the DOM, and a scroll through it keeps its frames (bench/grid-scroll.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureGridScroll } from '../bench/grid-scroll';
import { openDb } from '../src/main/engine/db';
import { GENERAL, tmpDir } from './helpers';
import { CHROMIUM, auditInto, ensureRendererBuilt, launchChromium, startServe, type Served, until } from './ui-helpers';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`UI tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);

/** The grid's thumbnails in the DOM: their observation and whether the image really decoded. */
const gridThumbs = (page: Page) =>
  page.$$eval('[data-testid=grid-cell]', (cells) =>
    cells.map((c) => {
      const img = c.querySelector('img');
      return {
        id: (c as HTMLElement).dataset.observationId!,
        loaded: !!img && img.complete && img.naturalWidth > 0,
        width: img?.naturalWidth ?? 0,
        height: img?.naturalHeight ?? 0,
      };
    }),
  );
const activeCell = (page: Page) =>
  page.$eval('[data-testid=grid-cell][aria-selected=true]', (c) => ({
    index: Number((c as HTMLElement).dataset.index),
    id: (c as HTMLElement).dataset.observationId!,
  }));
const reviewOf = (page: Page) => page.$eval('[data-testid=review-screen]', (e) => (e as HTMLElement).dataset.observationId ?? null);

describe.skipIf(!hasChromium)('Queue grid and Review filmstrip', () => {
  let served: Served;
  let browser: Browser;
  const NAMES = [
    'dog.jpg',
    'person.jpg',
    'eagle.jpg',
    'fruits.jpg',
    'giraffe.jpg',
    'astronaut.png',
    'box.png',
    'chelsea.png',
    'coffee.png',
  ];

  beforeAll(async () => {
    ensureRendererBuilt();
    const dir = tmpDir();
    const photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    for (const n of NAMES) fs.copyFileSync(path.join(GENERAL, n), path.join(photos, n));
    const db = path.join(dir, 'grid.db');
    auditInto(db, photos);
    served = await startServe(db, 'grid-test');
    browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('v shows the grid; its thumbnails load; the view is remembered; arrows + Enter open Review on that photo', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(served.url);
    await until('the list', async () => (await page.$$('[data-testid=queue-row]')).length === NAMES.length);
    await page.keyboard.press('v');
    await page.waitForSelector('[data-testid=queue-grid]', { timeout: 5000 });
    expect(await page.isVisible('[data-testid=queue-list]')).toBe(false);
    expect(await page.evaluate(() => localStorage.getItem('kliq.queue.view'))).toBe('grid');

    // every photo's thumbnail really decoded in the page: the engine's JPEG, 256 px on its long side
    const thumbs = await until('the thumbnails', async () => {
      const t = await gridThumbs(page);
      return t.length === NAMES.length && t.every((x) => x.loaded) && t;
    });
    for (const t of thumbs) expect(Math.max(t.width, t.height)).toBe(256);
    expect(new Set(thumbs.map((t) => t.id)).size).toBe(NAMES.length);
    // file name, review state and boxes in every cell
    const first = await page.$eval('[data-testid=grid-cell]', (c) => c.textContent ?? '');
    expect(first).toMatch(/unreviewed/);
    expect(first).toMatch(/\d+ box(es)?/);

    const columns = Number(await page.$eval('[data-testid=queue-grid]', (g) => (g as HTMLElement).dataset.columns));
    expect(columns).toBeGreaterThan(1);
    expect(columns).toBeLessThan(NAMES.length); // so ↓ goes to the next row of photos
    expect((await activeCell(page)).index).toBe(0);
    await page.keyboard.press('ArrowRight');
    expect((await activeCell(page)).index).toBe(1);
    await page.keyboard.press('ArrowDown');
    const target = await activeCell(page);
    expect(target.index).toBe(1 + columns);
    await page.keyboard.press('Enter');
    await until('Review on the chosen photo', async () => (await reviewOf(page)) === target.id);

    // back to the Queue: still the grid, the cursor where Review left it; the page opened again shows the grid too
    await page.keyboard.press('Alt+2');
    await until('the grid with the cursor on that photo', async () => (await activeCell(page)).id === target.id);
    await page.reload();
    // the page opened again: the grid, and the cursor where it was (the place is kept in the URL)
    await until('the grid again, its cursor on that photo', async () => (await activeCell(page)).id === target.id);

    // v again: back to the list, with the same cursor
    await page.focus('[data-testid=queue-grid]');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    const cursor = await activeCell(page);
    expect(cursor.index).toBe(target.index - 2);
    await page.keyboard.press('v');
    await page.waitForSelector('[data-testid=queue-list]', { state: 'visible', timeout: 5000 });
    expect(await page.$('[data-testid=queue-grid]')).toBeNull();
    expect(await page.evaluate(() => localStorage.getItem('kliq.queue.view'))).toBe('list');
    const row = await page.$eval('[data-testid=queue-row][aria-selected=true]', (r) => (r as HTMLElement).dataset.observationId);
    expect(row).toBe(cursor.id);
    await page.click('[data-testid=view-grid]');
    await page.waitForSelector('[data-testid=queue-grid]', { timeout: 5000 });
    await page.close();
  });

  it('Review shows a filmstrip of the neighbouring photos, the current one marked; a click opens that photo', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(served.url);
    await page.evaluate(() => localStorage.setItem('kliq.queue.view', 'list'));
    await page.reload();
    await until('the list', async () => (await page.$$('[data-testid=queue-row]')).length === NAMES.length);
    const order = await page.$$eval('[data-testid=queue-row]', (rows) => rows.map((r) => (r as HTMLElement).dataset.observationId!));
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await until('Review on the third photo', async () => (await reviewOf(page)) === order[2]);

    const strip = await until('the filmstrip with its thumbnails loaded', async () => {
      const s = await page.$$eval('[data-testid=filmstrip-thumb]', (bs) =>
        bs.map((b) => {
          const img = b.querySelector('img');
          return {
            id: (b as HTMLElement).dataset.observationId!,
            current: b.getAttribute('aria-selected') === 'true',
            loaded: !!img && img.complete && img.naturalWidth > 0,
          };
        }),
      );
      return s.length === NAMES.length && s.every((x) => x.loaded) && s;
    });
    // the queue's order, the current photo marked
    expect(strip.map((s) => s.id)).toEqual(order);
    expect(strip.filter((s) => s.current).map((s) => s.id)).toEqual([order[2]]);

    await page.click(`[data-testid=filmstrip-thumb][data-observation-id=${order[6]}]`);
    await until('Review on the clicked photo', async () => (await reviewOf(page)) === order[6]);
    await until('the photo ready', async () => (await page.getAttribute('[data-testid=review-screen]', 'data-ready')) === 'true');
    expect(await page.getAttribute(`[data-testid=filmstrip-thumb][data-observation-id=${order[6]}]`, 'aria-selected')).toBe('true');
    // next and previous still follow the queue from there
    await page.keyboard.press('d');
    await until('the next photo', async () => (await reviewOf(page)) === order[7]);
    await page.close();
  });
});

describe.skipIf(!hasChromium)('a long queue in the grid', () => {
  let served: Served;
  let browser: Browser;
  const N = 1500;

  beforeAll(async () => {
    ensureRendererBuilt();
    // 1 500 distinct real JPEG files (a colour each, 320×240) recorded as audited photos, written by SQL
    const dir = tmpDir();
    const photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    const file = path.join(dir, 'long.db');
    const db = openDb(file);
    const t = new Date().toISOString();
    const rows: unknown[][] = [];
    for (let i = 0; i < N; i++) {
      const bytes = await sharp({
        create: { width: 320, height: 240, channels: 3, background: { r: i % 256, g: Math.floor(i / 256) * 40, b: 128 } },
      })
        .withExif({ IFD0: { ImageDescription: `photo ${i}` } }) // distinct bytes even where colours round alike
        .jpeg({ quality: 80 })
        .toBuffer();
      const src = path.join(photos, `p${String(i).padStart(5, '0')}.jpg`);
      fs.writeFileSync(src, bytes);
      const sha = crypto.createHash('sha256').update(bytes).digest('hex');
      rows.push([`obs_${String(i).padStart(8, '0')}`, sha, src, bytes.length, Math.floor(fs.statSync(src).mtimeMs), t, t]);
    }
    const insert = db.prepare(`INSERT INTO observations
        (id, sha256, source_path, bytes, file_mtime_ms, mime_type, width, height, status, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, 'image/jpeg', 320, 240, 'completed', ?, ?)`);
    db.transaction(() => rows.forEach((r) => insert.run(...r)))();
    db.close();
    served = await startServe(file, 'grid-long');
    browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('only the rows near the viewport are in the DOM; scrolled far, the thumbnails there load', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(served.url);
    await page.evaluate(() => localStorage.setItem('kliq.queue.view', 'grid'));
    await page.reload();
    await until('the grid again, its cursor on the first photo', async () => (await activeCell(page)).index === 0);
    const cells = (await page.$$('[data-testid=grid-cell]')).length;
    expect(cells).toBeGreaterThan(0);
    expect(cells).toBeLessThan(150);

    const r = await measureGridScroll(page, 900);
    expect(r.frames).toBeGreaterThan(50);
    expect(r.maxFrameMs).toBeGreaterThan(0);
    expect(r.over50).toBeLessThanOrEqual(r.frames);
    console.log(`grid scroll through 900 photos: ${JSON.stringify(r)}`);

    // where it stopped: the rows there are in the DOM (and the first ones no longer), their thumbnails decode
    const shown = await until('the thumbnails where the scroll stopped', async () => {
      const t = await gridThumbs(page);
      return t.length > 0 && t.every((x) => x.loaded) && t;
    });
    const indices = await page.$$eval('[data-testid=grid-cell]', (cs) => cs.map((c) => Number((c as HTMLElement).dataset.index)));
    expect(Math.min(...indices)).toBeGreaterThan(600);
    expect(shown.length).toBeLessThan(150);
    await page.close();
  });
});
