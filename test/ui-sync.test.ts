/**
 * Sync as the auditor sees it, in Chromium against `kliq-audit serve --api … --tenant …` syncing in the
 * background to the local KLIQ API server: the header badge, the queue's synced markers, the Sync screen's
 * failed items with their reasons and a retry, and a label conflict decided on screen. What the screen
 * says is checked against what the server holds.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KliqClient, type TenantClient } from '../src/kliq';
import { startApiServer, type ApiServer } from '../src/api-server/server';
import { GENERAL, tmpDir } from './helpers';
import { CHROMIUM, auditInto, ensureRendererBuilt, launchChromium, startServe, type Served } from './ui-helpers';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`UI tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);

const TENANT = 't_ui';
const KEY = 'key_ui_0123456789';

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeout = 30_000): Promise<T> {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const marks = (page: Page) =>
  page.$$eval('[data-testid=queue-row]', (rows) =>
    rows.map((r) => r.querySelector('[data-testid=sync-mark]')?.getAttribute('data-sync') ?? null),
  );

describe.skipIf(!hasChromium)('sync in the UI', () => {
  let api: ApiServer;
  let served: Served;
  let browser: Browser;
  let tenant: TenantClient;
  let photos: string;
  let away: string;
  let gone: string;

  beforeAll(async () => {
    ensureRendererBuilt();
    const dir = tmpDir();
    photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    for (const f of ['dog.jpg', 'person.jpg', 'giraffe.jpg']) fs.copyFileSync(path.join(GENERAL, f), path.join(photos, f));
    const db = path.join(dir, 'ui-sync.db');
    auditInto(db, photos);
    // one photo is gone when sync starts: its upload must fail with the reason, the others go
    gone = path.join(photos, 'giraffe.jpg');
    away = `${gone}.away`;
    fs.renameSync(gone, away);
    api = await startApiServer({ db: path.join(dir, 'api.db'), tenants: [{ id: TENANT, apiKey: KEY }] });
    tenant = new KliqClient({ baseUrl: `${api.url}/v1`, apiKey: KEY }).forTenant(TENANT);
    process.env.KLIQ_API_KEY = KEY; // serve reads the key from its environment, never from a flag
    served = await startServe(db, 'ui-syncer', { args: ['--api', `${api.url}/v1`, '--tenant', TENANT] });
    browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    await api?.close();
    if (away && fs.existsSync(away)) fs.renameSync(away, gone);
  });

  it('badge, markers and the Sync screen say what the server holds; a retry after the fix sends the rest once', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(served.url);
    await until('the queue', async () => (await page.$$('[data-testid=queue-row]')).length === 3);
    await until('the badge with the failure', async () => /3 failed/.test((await page.textContent('[data-testid=sync-badge]')) ?? ''));
    await until('two synced rows and one failed', async () => {
      const m = await marks(page);
      return m.filter((x) => x === 'synced').length === 2 && m.filter((x) => x === 'failed').length === 1;
    });
    const onServer = async () => {
      const all = [];
      for await (const o of tenant.observations.listAll()) all.push(o);
      return all;
    };
    expect((await onServer()).map((o) => o.metadata.fileName).sort()).toEqual(['dog.jpg', 'person.jpg']);

    await page.click('[data-testid=sync-badge]');
    await until('the failed items', async () => (await page.$$('[data-testid=sync-failed-item]')).length === 3);
    const text = (await page.textContent('[data-testid=sync-failed-list]')) ?? '';
    expect(text).toContain('giraffe.jpg');
    expect(text).toContain('is gone (moved, deleted or unreadable): put it back and retry');

    fs.renameSync(away, gone);
    await page.click('[data-testid=sync-retry-all]');
    await until('no failed item', async () => (await page.$$('[data-testid=sync-failed-item]')).length === 0);
    // (right after the click the badge may still say "Synced · 3 failed": wait for the failures to be gone from it)
    await until('the badge says synced', async () =>
      /^Synced(?!.*failed)/.test((await page.textContent('[data-testid=sync-badge]')) ?? ''),
    );
    expect((await onServer()).map((o) => o.metadata.fileName).sort()).toEqual(['dog.jpg', 'giraffe.jpg', 'person.jpg']);
    await page.click('[data-testid=nav-queue]');
    await until('every row synced', async () => (await marks(page)).every((x) => x === 'synced'));
    await page.close();
  });

  it('a label conflict shows on the Sync screen; "Send mine" puts the local labels on the server', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(served.url);
    await until('the queue', async () => (await page.$$('[data-testid=queue-row]')).length === 3);
    const all = [];
    for await (const o of tenant.observations.listAll()) all.push(o);
    const dog = all.find((o) => o.metadata.fileName === 'dog.jpg')!;
    // a colleague changes the dog photo's labels on the server
    const cur = await tenant.observations.getLabels(dog.id);
    const theirs = [{ objectName: 'cat', confidence: 1, boundingBox: { x: 5, y: 5, width: 10, height: 10 }, attributes: {} }];
    await tenant.observations.putLabels(dog.id, { labels: theirs, baseVersion: cur.version, updatedBy: 'colleague@test' });
    // the auditor deletes a box of the dog photo here
    const row = await page.$(`[data-testid=queue-row][data-observation-id="${String(dog.metadata.localId)}"]`);
    await row!.click(); // opens it in Review
    await until('the dog photo with its boxes', async () => (await page.$$('[data-testid=box][data-label=dog]')).length > 0);
    const boxes = (await page.$$('[data-testid=box]')).length;
    await page.keyboard.press(']');
    await until('a box selected', async () => (await page.$$('[data-testid=box][data-selected=true]')).length === 1);
    await page.keyboard.press('Delete');
    await until('the box deleted', async () => (await page.$$('[data-testid=box]')).length === boxes - 1);
    await until(
      'the conflict in the badge',
      async () => /1 conflict/.test((await page.textContent('[data-testid=sync-badge]')) ?? ''),
      60_000,
    );
    expect((await tenant.observations.getLabels(dog.id)).labels).toEqual(theirs); // never overwritten silently
    await page.click('[data-testid=sync-badge]');
    await until('the conflict listed', async () => (await page.$$('[data-testid=sync-conflict]')).length === 1);
    expect(await page.textContent('[data-testid=sync-conflict]')).toContain('colleague@test');
    await page.click('[data-testid=sync-conflict] >> text=Send mine');
    await until('no conflict left', async () => (await page.$$('[data-testid=sync-conflict]')).length === 0);
    await until('the local labels on the server', async () => {
      const l = await tenant.observations.getLabels(dog.id);
      return l.updatedBy === 'ui-syncer' && l.labels.length === boxes - 1;
    });
    await page.close();
  });
});
