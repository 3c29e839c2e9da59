/**
 * The Summary screen in Chromium against `kliq-audit serve`: out of stock and compliance with their
 * parts (per expected SKU: facings found/expected, row found/expected, the three checks), for shelf
 * photos audited by the real model with a catalog and a planogram imported by the CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SHELVES, tmpDir } from './helpers';
import { CHROMIUM, auditInto, ensureRendererBuilt, launchChromium, startServe, type Served } from './ui-helpers';
import { EngineHost } from '../src/main/engine/host';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`UI tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);
const BIN = path.join(ROOT, 'bin', 'kliq-audit.mjs');

describe.skipIf(!hasChromium)('Summary: compliance and its parts', () => {
  let served: Served;
  let browser: Browser;
  let db: string;

  beforeAll(async () => {
    ensureRendererBuilt();
    const dir = tmpDir();
    db = path.join(dir, 'summary.db');
    fs.writeFileSync(path.join(dir, 'cat.csv'), 'name,sku,model label\nCreamer bottle,CB1,bottle\nCoffee bag,CF1,\nTea tin,TT1,\n');
    execFileSync(process.execPath, [BIN, 'catalog', 'import', path.join(dir, 'cat.csv'), '--db', db], { cwd: ROOT, stdio: 'ignore' });
    // CB1: bottles, 3 facings, any row (met); CF1: never detected (out of stock); TT1: never detected
    fs.writeFileSync(path.join(dir, 'plan.csv'), 'location,sku,facings,row\nStore 7,CB1,3,\nStore 7,CF1,2,3\nStore 7,TT1,1,\n');
    execFileSync(process.execPath, [BIN, 'planogram', 'import', path.join(dir, 'plan.csv'), '--db', db], { cwd: ROOT, stdio: 'ignore' });
    auditInto(db, SHELVES, ['--location', 'Store 7', '--price-tags', 'off']);
    served = await startServe(db, 'summary-test');
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('shows the score, the formula with its counts, each SKU with its checks, and out of stock', async () => {
    const host = EngineHost.open(db, { user: 'check' });
    const expected = host.review.compliance({ filter: {} }).locations;
    await host.close();
    expect(expected).toHaveLength(1);
    expect(expected[0].score).toBeCloseTo(1 / 3, 4);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(served.url);
    await page.click('[data-testid=nav-summary]');
    await page.waitForSelector('[data-testid=compliance-item]');
    expect(await page.textContent('[data-testid=batch-compliance]')).toBe('0.33');
    expect(await page.textContent('[data-testid=compliance-score]')).toBe('0.33');
    expect(await page.textContent('[data-testid=compliance-formula]')).toMatch(/= 1 compliant of 3 expected SKUs \(33 %\), 3 photos/);
    const rows = await page.$$eval('[data-testid=compliance-item]', (trs) =>
      trs.map((tr) => ({
        sku: tr.getAttribute('data-sku'),
        compliant: tr.getAttribute('data-compliant'),
        cells: [...tr.querySelectorAll('td')].map((td) => td.textContent),
      })),
    );
    const bottles = expected[0].items.find((i) => i.sku === 'CB1')!.foundFacings;
    expect(bottles).toBeGreaterThanOrEqual(3);
    // by name: Coffee bag, Creamer bottle, Tea tin
    expect(rows).toEqual([
      { sku: 'CF1', compliant: 'false', cells: ['CF1', 'Coffee bag', '0 / 2', '— / 3', '✗', '✗', '✗', '✗'] },
      {
        sku: 'CB1',
        compliant: 'true',
        cells: ['CB1', 'Creamer bottle', `${bottles} / 3`, expect.stringMatching(/^[\d, ]+ \/ any$/), '✓', '✓', '✓', '✓'],
      },
      { sku: 'TT1', compliant: 'false', cells: ['TT1', 'Tea tin', '0 / 1', '— / any', '✗', '✗', '✗', '✗'] },
    ]);
    expect(await page.textContent('[data-testid=batch-oos]')).toBe('Out of stock: Coffee bag, Tea tin');
    fs.mkdirSync(path.join(ROOT, 'test-results', 'screenshots'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'summary-compliance.png'), fullPage: true });
    await page.close();
  });
});
