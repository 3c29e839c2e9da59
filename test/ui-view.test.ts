/**
 * Review shows a large photo through its screen-sized view (issue 13): at fit, the page loads
 * /view/<id> (2000 px on the long side); zoomed to 100 %, the photo itself. A photo Review prefetched is
 * drawn from pixels decoded ahead (a canvas), from /small/<id> (1280 px) where that has the pixels the
 * photo's area shows. Real 12 MP JPEGs, Chromium.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL, tmpDir } from './helpers';
import { CHROMIUM, auditInto, ensureRendererBuilt, launchChromium, startServe, type Served } from './ui-helpers';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`UI tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);

describe.skipIf(!hasChromium)('Review: the view at fit, the photo when zoomed in', () => {
  let served: Served;
  let browser: Browser;

  beforeAll(async () => {
    ensureRendererBuilt();
    const dir = tmpDir();
    const photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    // three 12 MP photos (big.jpg first in the queue's order: most boxes are the dog's)
    for (const [from, to] of [
      ['dog.jpg', 'big.jpg'],
      ['eagle.jpg', 'big2.jpg'],
      ['fruits.jpg', 'big3.jpg'],
    ])
      await sharp(path.join(GENERAL, from)).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 85 }).toFile(path.join(photos, to));
    const db = path.join(dir, 'view.db');
    auditInto(db, photos);
    served = await startServe(db, 'view-test');
    browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('loads the 2000 px view at fit, and the 12 MP photo once zoomed to 100 %', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(served.url);
    await page.waitForSelector('[data-testid=queue-row]');
    await page.keyboard.press('Enter');
    const shown = () =>
      page.$eval('[data-testid=review-image]', (img) => {
        const i = img as HTMLImageElement;
        return { path: new URL(i.src).pathname.split('/')[1], natural: i.complete ? i.naturalWidth : 0 };
      });
    // an <img>'s naturalWidth is known once the JPEG's header has arrived; `complete` once all of it has
    const loaded = (width: number) =>
      page.waitForFunction((w) => {
        const i = document.querySelector('[data-testid=review-image]') as HTMLImageElement | null;
        return !!i && i.complete && i.naturalWidth === w;
      }, width);
    await loaded(2000);
    expect(await shown()).toEqual({ path: 'view', natural: 2000 });
    // the boxes are drawn in the photo's pixels, whatever the image's
    expect(await page.$$eval('[data-testid=box]', (b) => b.length)).toBeGreaterThan(0);
    await page.keyboard.press('0');
    await page.waitForFunction(() => (document.querySelector('[data-testid=review-image]') as HTMLImageElement).src.includes('/photo/'));
    await loaded(4000);
    expect(await shown()).toEqual({ path: 'photo', natural: 4000 });
    await page.close();
  });

  it('draws the next photo from pixels decoded ahead (its small view), scaled to its area; zoomed in, the photo itself', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(String(e)));
    const workers: string[] = [];
    page.on('worker', (w) => workers.push(w.url()));
    const asked: string[] = [];
    page.on('request', (r) => asked.push(new URL(r.url()).pathname));
    await page.goto(served.url);
    await page.waitForSelector('[data-testid=queue-row]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !!document.querySelector<HTMLElement>('.canvas-wrap')?.dataset.photo);
    const first = await page.getAttribute('.canvas-wrap', 'data-photo');
    // the next photo is prefetched and decoded while this one is looked at
    await page.waitForTimeout(1500);
    await page.keyboard.press('d');
    await page.waitForFunction((f) => document.querySelector<HTMLElement>('.canvas-wrap')?.dataset.photo !== f, first);
    const next = (await page.getAttribute('.canvas-wrap', 'data-photo'))!;
    const drawn = await page.$eval('[data-testid=review-bitmap]', (c) => {
      const canvas = c as HTMLCanvasElement;
      const box = canvas.getBoundingClientRect();
      // a pixel in the middle is the photo's, not blank
      const probe = document.createElement('canvas');
      probe.width = canvas.width;
      probe.height = canvas.height;
      const ctx = probe.getContext('2d')!;
      ctx.drawImage(canvas, 0, 0);
      const px = ctx.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data;
      return {
        src: canvas.dataset.src!,
        drawn: canvas.dataset.drawn,
        width: canvas.width,
        height: canvas.height,
        shownWidth: box.width,
        px: [...px],
      };
    });
    expect(drawn.src).toContain(`/photo/${next}`);
    expect(drawn.drawn).toBe('true');
    // decoded and scaled off the page's main thread, in the decode worker
    expect(workers.filter((u) => /\/assets\/decode-worker-[\w-]+\.js$/.test(u))).toHaveLength(1);
    // scaled to the photo's area (800 × 597 of the 1280 × 800 window at 1×, beside the panels), the photo's
    // 4:3 kept: at fit, a canvas pixel is a screen pixel (not fewer, nor more decoded than shown)
    expect(drawn.width).toBeLessThanOrEqual(800);
    expect(Math.abs(drawn.width / drawn.height - 4 / 3)).toBeLessThan(0.01);
    expect(drawn.shownWidth).toBeLessThanOrEqual(drawn.width * 1.01);
    expect(drawn.width).toBeLessThanOrEqual(drawn.shownWidth * 1.01);
    // from the photo's small view (1280 px, enough for 797 px), never its 2000 px view
    expect(asked).toContain(`/small/${next}`);
    expect(asked).not.toContain(`/view/${next}`);
    expect(drawn.px[3]).toBe(255);
    expect(await page.$$eval('[data-testid=box]', (b) => b.length)).toBeGreaterThan(0);
    expect(await page.$('[data-testid=review-image]')).toBeNull();
    // and the photo after it, also decoded ahead: the canvas shows its pixels, not the ones it showed before
    await page.waitForTimeout(1500);
    await page.keyboard.press('d');
    await page.waitForFunction((f) => document.querySelector<HTMLElement>('.canvas-wrap')?.dataset.photo !== f, next);
    const third = (await page.getAttribute('.canvas-wrap', 'data-photo'))!;
    await page.waitForFunction((id) => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid=review-bitmap]');
      return !!c && c.dataset.src!.includes(`/photo/${id}`) && c.dataset.drawn === 'true';
    }, third);
    // an 8 × 8 thumbnail of what the canvas shows against those of the two photos' small views
    const diffs = await page.evaluate(
      async (ids) => {
        const sig = (src: CanvasImageSource) => {
          const p = document.createElement('canvas');
          p.width = p.height = 8;
          const ctx = p.getContext('2d')!;
          ctx.drawImage(src, 0, 0, 8, 8);
          return [...ctx.getImageData(0, 0, 8, 8).data];
        };
        const canvas = document.querySelector<HTMLCanvasElement>('[data-testid=review-bitmap]')!;
        const shown = sig(canvas);
        const token = new URL(canvas.dataset.src!, location.href).searchParams.get('token');
        const out: number[] = [];
        for (const id of ids) {
          const small = sig(await createImageBitmap(await (await fetch(`/small/${id}?token=${token}`)).blob()));
          out.push(shown.reduce((sum, v, i) => sum + Math.abs(v - small[i]), 0) / shown.length);
        }
        return out;
      },
      [third, next],
    );
    // (mean difference per channel, 0–255: the same photo scaled two ways, against another photo)
    expect(diffs[0]).toBeLessThan(8);
    expect(diffs[1]).toBeGreaterThan(diffs[0] * 3);
    // zoomed to 100 %: the photo itself, in an <img>
    await page.keyboard.press('0');
    await page.waitForFunction(
      () => (document.querySelector('[data-testid=review-image]') as HTMLImageElement | null)?.naturalWidth === 4000,
    );
    expect(await page.$('[data-testid=review-bitmap]')).toBeNull();
    expect(logs).toEqual([]);
    await page.close();
  });

  it('a photo reached before its pixels are decoded waits for them: its view is never also loaded in an <img>', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // the views (and small views) come slowly (a busy engine): the next photo is still being decoded ahead when it is reached
    await page.route(/\/(view|small)\//, async (route) => {
      await new Promise((r) => setTimeout(r, 400));
      await route.continue();
    });
    const viewImages: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/view/') && r.resourceType() === 'image') viewImages.push(r.url());
    });
    await page.goto(served.url);
    await page.waitForSelector('[data-testid=queue-row]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !!document.querySelector<HTMLElement>('.canvas-wrap')?.dataset.photo);
    const first = await page.getAttribute('.canvas-wrap', 'data-photo');
    // at once: the next photo's small view is on its way (400 ms), so its bitmap is not decoded yet
    await page.keyboard.press('d');
    await page.waitForFunction((f) => document.querySelector<HTMLElement>('.canvas-wrap')?.dataset.photo !== f, first);
    const next = (await page.getAttribute('.canvas-wrap', 'data-photo'))!;
    // its pixels are drawn from the bitmap once it is decoded, with nothing loaded for it meanwhile
    await page.waitForFunction(
      (id) => {
        const c = document.querySelector<HTMLCanvasElement>('[data-testid=review-bitmap]');
        return !!c && c.dataset.src!.includes(id) && c.dataset.drawn === 'true';
      },
      next,
      { timeout: 5000 },
    );
    expect(viewImages.filter((u) => u.includes(next))).toEqual([]);
    expect(await page.$('[data-testid=review-image]')).toBeNull();
    await page.close();
  });

  it('when the decode worker cannot load, every photo is still shown (in an <img>, then decoded on the page)', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    let refused = 0;
    await page.route('**/assets/decode-worker-*.js', (route) => {
      refused++;
      return route.abort();
    });
    await page.goto(served.url);
    await page.waitForSelector('[data-testid=queue-row]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !!document.querySelector<HTMLElement>('.canvas-wrap')?.dataset.photo);
    const shownOnce = async () => {
      const photo = await page.getAttribute('.canvas-wrap', 'data-photo');
      // its pixels: the view in an <img>, or a bitmap decoded on the page
      await page.waitForFunction(
        (id) => {
          const img = document.querySelector<HTMLImageElement>('[data-testid=review-image]');
          const c = document.querySelector<HTMLCanvasElement>('[data-testid=review-bitmap]');
          return (
            (!!img && img.src.includes(id!) && img.complete && img.naturalWidth > 0) ||
            (!!c && c.dataset.src!.includes(id!) && c.dataset.drawn === 'true')
          );
        },
        photo,
        { timeout: 5000 },
      );
      expect(await page.$$eval('[data-testid=box]', (b) => b.length)).toBeGreaterThan(0);
      return photo;
    };
    const seen = [await shownOnce()];
    // the three photos: the ones asked of the worker at the start come in <img>s; the third was also
    // among them; then back to the first, now decoded on the page
    for (const key of ['d', 'd', 'a', 'a']) {
      await page.waitForTimeout(800);
      await page.keyboard.press(key);
      await page.waitForFunction((f) => document.querySelector<HTMLElement>('.canvas-wrap')?.dataset.photo !== f, seen.at(-1));
      seen.push(await shownOnce());
    }
    expect(refused).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(3);
    expect(seen[4]).toBe(seen[0]);
    const back = await page.$eval('[data-testid=review-bitmap]', (c) => (c as HTMLCanvasElement).dataset.drawn);
    expect(back).toBe('true');
    expect(errors).toEqual([]);
    await page.close();
  });
});
