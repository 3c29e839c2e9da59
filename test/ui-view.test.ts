/**
 * Review shows a large photo through its screen-sized view (issue 13): at fit, the page loads
 * /view/<id> (2000 px on the long side); zoomed to 100 %, the photo itself. Real 12 MP JPEG, Chromium.
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
    await sharp(path.join(GENERAL, 'dog.jpg'))
      .resize(4000, 3000, { fit: 'fill' })
      .jpeg({ quality: 85 })
      .toFile(path.join(photos, 'big.jpg'));
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
    await page.waitForFunction(() => (document.querySelector('[data-testid=review-image]') as HTMLImageElement | null)?.naturalWidth);
    expect(await shown()).toEqual({ path: 'view', natural: 2000 });
    // the boxes are drawn in the photo's pixels, whatever the image's
    expect(await page.$$eval('[data-testid=box]', (b) => b.length)).toBeGreaterThan(0);
    await page.keyboard.press('0');
    await page.waitForFunction(() => (document.querySelector('[data-testid=review-image]') as HTMLImageElement).src.includes('/photo/'));
    await page.waitForFunction(() => (document.querySelector('[data-testid=review-image]') as HTMLImageElement).naturalWidth === 4000);
    expect(await shown()).toEqual({ path: 'photo', natural: 4000 });
    await page.close();
  });
});
