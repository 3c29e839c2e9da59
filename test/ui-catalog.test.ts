/**
 * The Catalog screen in Chromium against `kliq-audit serve`: a catalog CSV picked in the page (a bad
 * line is named and nothing is imported; a good file adds its SKUs), search narrowing the list, and a
 * location's expected SKUs edited and saved, checked in the SQLite file and on the Summary's compliance.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
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
const skus = (page: Page) => page.$$eval('[data-testid=catalog-row]', (rows) => rows.map((r) => r.getAttribute('data-sku')));

describe.skipIf(!hasChromium)('Catalog screen', () => {
  let served: Served;
  let browser: Browser;
  let db: string;
  let dir: string;

  beforeAll(async () => {
    ensureRendererBuilt();
    dir = tmpDir();
    const photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(photos, 'dog.jpg'));
    db = path.join(dir, 'catalog.db');
    auditInto(db, photos, ['--location', 'Store 3', '--price-tags', 'off']);
    served = await startServe(db, 'catalog-test');
    browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('imports a CSV picked in the page (all or nothing), searches, and edits a location’s expected SKUs', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(served.url);
    await page.click('[data-testid=nav-catalog]');
    await page.waitForSelector('[data-testid=catalog-screen]');
    const count = () => new Database(db, { readonly: true }).prepare('SELECT count(*) FROM catalog').pluck().get() as number;
    const before = count();

    fs.writeFileSync(path.join(dir, 'bad.csv'), 'sku,name,expected_facings\nD1,Dog food,2\nB1,Bike bell,x\n');
    await page.setInputFiles('[data-testid=catalog-import]', path.join(dir, 'bad.csv'));
    const bad = await until('the import error', () => page.textContent('[data-testid=catalog-message]'));
    expect(bad).toContain('bad.csv');
    expect(bad).toContain('line 3');
    expect(bad).toContain('nothing was imported');
    expect(count()).toBe(before);

    fs.writeFileSync(
      path.join(dir, 'good.csv'),
      'sku,name,brand,model_label,expected_facings\nD1,Dog food,Woof,dog,2\nB1,Bike bell,Ring,bicycle,1\n',
    );
    await page.setInputFiles('[data-testid=catalog-import]', path.join(dir, 'good.csv'));
    await until('the import result', async () => /2 SKUs imported/.test((await page.textContent('[data-testid=catalog-message]')) ?? ''));
    await until('the new SKUs listed', async () => (await skus(page)).includes('D1') && (await skus(page)).includes('B1'));
    expect(count()).toBe(before + 2);

    await page.fill('[data-testid=catalog-search]', 'woof');
    await until('the search narrowed', async () => JSON.stringify(await skus(page)) === '["D1"]');
    await page.fill('[data-testid=catalog-search]', '');

    // Store 3 expects D1 (the dog is there) and B1 (a bicycle is detected too): then only D1
    await page.fill('[data-testid=planogram-location]', 'Store 3');
    await page.press('[data-testid=planogram-location]', 'Tab');
    await page.waitForSelector('[data-testid=planogram-table]');
    for (const [sku, facings] of [
      ['D1', '1'],
      ['NOPE', '1'],
    ]) {
      await page.click('[data-testid=planogram-add]');
      const row = (await page.$$('[data-testid=planogram-row]')).at(-1)!;
      await (await row.$('input[aria-label=SKU]'))!.fill(sku);
      await (await row.$('input[aria-label="Expected facings"]'))!.fill(facings);
    }
    await page.click('[data-testid=planogram-save]');
    const refused = await until('the unknown SKU refused', () => page.textContent('[data-testid=planogram-message]'));
    expect(refused).toMatch(/NOPE/);
    const planned = () =>
      new Database(db, { readonly: true })
        .prepare(
          `SELECT p.sku, p.expected_facings AS f FROM planogram p JOIN locations l ON l.id = p.location_id
           WHERE l.name = 'Store 3' ORDER BY p.sku`,
        )
        .all();
    expect(planned()).toEqual([]);
    // remove the unknown SKU and save again
    const last = (await page.$$('[data-testid=planogram-row]')).at(-1)!;
    await (await last.$('button'))!.click();
    await page.click('[data-testid=planogram-save]');
    await until('saved', async () =>
      /saved: 1 expected SKU at Store 3/.test((await page.textContent('[data-testid=planogram-message]')) ?? ''),
    );
    expect(planned()).toEqual([{ sku: 'D1', f: 1 }]);

    await page.click('[data-testid=nav-summary]');
    await page.waitForSelector('[data-testid=compliance-item]');
    expect(await page.$$eval('[data-testid=compliance-item]', (trs) => trs.map((t) => t.getAttribute('data-sku')))).toEqual(['D1']);
    await page.close();
  });
});
