/**
 * Keyboard focus in Review, in Chromium (issue 13): after the confidence slider was used with the mouse
 * or its arrow keys, the review keys (x, d, Space…) work again at once; the slider keeps only its own keys.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL, tmpDir } from './helpers';
import { CHROMIUM, auditInto, ensureRendererBuilt, launchChromium, startServe, type Served } from './ui-helpers';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`UI tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeout = 15_000): Promise<T> {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!hasChromium)('Review keys after the slider', () => {
  let served: Served;
  let browser: Browser;

  beforeAll(async () => {
    ensureRendererBuilt();
    const dir = tmpDir();
    const photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(photos, 'dog.jpg'));
    const db = path.join(dir, 'keys.db');
    auditInto(db, photos);
    served = await startServe(db, 'keys-test');
    browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('the slider takes its arrow keys; x then opens the flag prompt at once', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(served.url);
    await until('the queue', async () => (await page.$$('[data-testid=queue-row]')).length === 1);
    await page.keyboard.press('Enter');
    await until('the photo with its boxes', async () => (await page.$$('[data-testid=box]')).length > 0);
    await page.click('[data-testid=conf-slider]');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('conf-slider');
    const before = Number(await page.inputValue('[data-testid=conf-slider]'));
    await page.keyboard.press('ArrowRight');
    expect(Number(await page.inputValue('[data-testid=conf-slider]'))).toBeCloseTo(before + 0.01, 5);
    await page.keyboard.press('x');
    await page.waitForSelector('[data-testid=flag-prompt]', { timeout: 5000 });
    await page.close();
  });
});
