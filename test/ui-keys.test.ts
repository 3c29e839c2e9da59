/**
 * Keyboard focus in Review, in Chromium (issue 13): after the confidence slider was used with the mouse
 * or its arrow keys, the review keys (x, d, Space…) work again at once; the slider keeps only its own keys.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL, tmpDir } from './helpers';
import { CHROMIUM, auditInto, ensureRendererBuilt, launchChromium, startServe, type Served, until } from './ui-helpers';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`UI tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);

describe.skipIf(!hasChromium)('Review keys after the slider', () => {
  let served: Served;
  let browser: Browser;
  let dbFile: string;

  beforeAll(async () => {
    ensureRendererBuilt();
    const dir = tmpDir();
    const photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(photos, 'dog.jpg'));
    dbFile = path.join(dir, 'keys.db');
    auditInto(dbFile, photos);
    served = await startServe(dbFile, 'keys-test');
    browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('the number keys are the set the auditor keeps: edited in the label bar, saved, still there after a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(served.url);
    await until('the queue', async () => (await page.$$('[data-testid=queue-row]')).length === 1);
    await page.keyboard.press('Enter');
    await until('the photo with its boxes', async () => (await page.$$('[data-testid=box]')).length > 0);
    const keys = () => page.$$eval('[data-testid=label-key]', (bs) => bs.map((b) => b.getAttribute('data-label')));
    await until('the keys', async () => (await keys()).length > 0);
    await page.click('[data-testid=edit-label-keys]');
    await page.waitForSelector('[data-testid=label-keys-editor]');
    const inputs = await page.$$('[data-testid=label-key-input]');
    await inputs[0].fill('zebra crossing');
    await page.click('[data-testid=label-keys-save]');
    await until('the new key 1', async () => (await keys())[0] === 'zebra crossing');
    // key 1 now relabels the selected box with it, in the database
    await page.keyboard.press(']');
    const id = Number(await until('a selected box', () => page.getAttribute('[data-testid=box][data-selected=true]', 'data-id')));
    await page.keyboard.press('1');
    await until('the relabel saved', async () => {
      const db = new Database(dbFile, { readonly: true });
      try {
        return db.prepare('SELECT object_name FROM detections WHERE id = ?').pluck().get(id) === 'zebra crossing';
      } finally {
        db.close();
      }
    });
    await page.reload();
    // the reload comes back to Review on this photo (the place is in the URL), with the kept keys
    await until('the kept key 1', async () => (await keys())[0] === 'zebra crossing');
    await page.close();
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
