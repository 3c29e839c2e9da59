/**
 * Review you can trust, in Chromium against `kliq-audit serve`: two tabs on one photo. Tab A's change
 * shows in tab B; tab B's undo of its own older edit, made on a version A has replaced, is refused with
 * a message, and the database keeps A's change.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, auditedCopies, ensureRendererBuilt, launchChromium, startServe, type Served } from './ui-helpers';

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

const boxOf = (page: Page, id: number) =>
  page.$eval(`rect[data-box-id="${id}"]`, (r) => ({ x: Number(r.getAttribute('x')), y: Number(r.getAttribute('y')) })).catch(() => null);
const saveState = (page: Page) => page.getAttribute('[data-testid=save-status]', 'data-state');

describe.skipIf(!hasChromium)('two tabs on one photo', () => {
  let served: Served;
  let browser: Browser;
  let dbFile: string;

  beforeAll(async () => {
    ensureRendererBuilt();
    dbFile = auditedCopies(['dog.jpg'], 'tabs.db');
    served = await startServe(dbFile, 'two-tabs');
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  const open = async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(served.url);
    await until('the queue', async () => (await page.$$('[data-testid=queue-row]')).length === 1);
    await page.keyboard.press('Enter');
    await until('the photo with its boxes', async () => (await page.$$('[data-testid=box]')).length > 0);
    return page;
  };

  it("B's undo on a box A has changed since is refused; B shows A's change; the database keeps it", async () => {
    const [a, b] = [await open(), await open()];
    await b.keyboard.press(']');
    const id = Number(await until('a selected box', () => b.getAttribute('[data-testid=box][data-selected=true]', 'data-id')));
    const start = (await boxOf(b, id))!;
    const v0 = new Database(dbFile, { readonly: true });
    const version0 = (v0.prepare('SELECT version FROM detections WHERE id = ?').get(id) as { version: number }).version;
    const corrections0 = (v0.prepare('SELECT count(*) AS n FROM corrections WHERE detection_id = ?').get(id) as { n: number }).n;
    v0.close();
    await b.keyboard.press('ArrowRight'); // B: version v → v + 1
    await until('B saved', async () => (await saveState(b)) === 'saved');
    await until("B's move shown in A", async () => (await boxOf(a, id))?.x === start.x + 1);
    await a.click(`rect[data-box-id="${id}"]`);
    await a.keyboard.press('ArrowDown'); // A: version v + 1 → v + 2
    await until('A saved', async () => (await saveState(a)) === 'saved');
    await until("A's move shown in B", async () => (await boxOf(b, id))?.y === start.y + 1);

    await b.keyboard.press('Control+z'); // B's undo of its own move, made on version v: stale
    await until('B refused', async () => (await saveState(b)) === 'error');
    expect(await b.textContent('[data-testid=save-status]')).toMatch(/changed elsewhere/);
    await until('B reloaded', async () => {
      const p = await boxOf(b, id);
      return p?.x === start.x + 1 && p.y === start.y + 1;
    });
    const db = new Database(dbFile, { readonly: true });
    const row = db.prepare('SELECT x, y, version FROM detections WHERE id = ?').get(id) as { x: number; y: number; version: number };
    const n = db.prepare(`SELECT count(*) AS n FROM corrections WHERE detection_id = ?`).get(id) as { n: number };
    db.close();
    expect(row).toMatchObject({ version: version0 + 2 });
    expect(n.n).toBe(corrections0 + 2); // B's move and A's move; the refused undo left nothing
    expect(Math.round((await boxOf(a, id))!.y)).toBe(Math.round(start.y + 1));
  });

  it('a box moved by another process while the connection was down is shown as the database holds it once it is back', async () => {
    const page = await open();
    await page.keyboard.press(']');
    const id = Number(await until('a selected box', () => page.getAttribute('[data-testid=box][data-selected=true]', 'data-id')));
    const start = (await boxOf(page, id))!;
    const port = served.port;
    await served.stop(); // the connection drops: no 'changed' event can reach the page for what happens now
    await until('the page knows', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) !== 'open');
    const db = new Database(dbFile);
    db.prepare('UPDATE detections SET x = x + 7, version = version + 1 WHERE id = ?').run(id);
    const x = (db.prepare('SELECT x FROM detections WHERE id = ?').get(id) as { x: number }).x;
    db.close();
    expect(x).toBe(start.x + 7);
    served = await startServe(dbFile, 'two-tabs', { port });
    await until('the connection back', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) === 'open', 30_000);
    await until('the moved box shown', async () => (await boxOf(page, id))?.x === x, 15_000);
    await page.close();
  });

  it('an edit and an accept made while serve is down are shown as not saved, then sent once it is back, and stored once', async () => {
    const page = await open();
    await page.keyboard.press(']');
    const id = Number(await until('a selected box', () => page.getAttribute('[data-testid=box][data-selected=true]', 'data-id')));
    const start = (await boxOf(page, id))!;
    const obs = await page.getAttribute('[data-testid=review-screen]', 'data-observation-id');
    const port = served.port;
    await served.stop(); // the connection drops; the same database keeps the same token
    await until('the page knows', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) !== 'open');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Space'); // accept
    await until('not saved yet', async () => (await saveState(page)) === 'offline');
    expect(await page.textContent('[data-testid=save-status]')).toMatch(/Not saved yet: no connection/);
    const read = () => {
      const db = new Database(dbFile, { readonly: true });
      const r = {
        x: (db.prepare('SELECT x FROM detections WHERE id = ?').get(id) as { x: number }).x,
        review: (db.prepare('SELECT review_status FROM observations WHERE id = ?').get(obs) as { review_status: string }).review_status,
        corrections: (db.prepare('SELECT count(*) AS n FROM corrections WHERE observation_id = ?').get(obs) as { n: number }).n,
      };
      db.close();
      return r;
    };
    const before = read();
    expect(before.review).toBe('unreviewed'); // nothing reached the database while serve was down

    served = await startServe(dbFile, 'two-tabs', { port });
    await until('saved after the reconnect', async () => (await saveState(page)) === 'saved', 30_000);
    const after = read();
    expect(after).toEqual({ x: start.x + 1, review: 'reviewed', corrections: before.corrections + 2 });
  });
});

describe.skipIf(!hasChromium)('what was shown before the connection dropped, changed meanwhile', () => {
  let served: Served;
  let browser: Browser;
  let dbFile: string;

  beforeAll(async () => {
    ensureRendererBuilt();
    dbFile = auditedCopies(['dog.jpg', 'person.jpg'], 'ahead.db');
    served = await startServe(dbFile, 'read-ahead');
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('is shown as the database holds it once back, not as it was read before the drop', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const shownId = () => page.$eval('[data-testid=review-screen]', (e) => (e as HTMLElement).dataset.observationId ?? null);
    await page.goto(served.url);
    await until('the queue', async () => (await page.$$('[data-testid=queue-row]')).length === 2);
    await page.keyboard.press('Enter');
    const first = await until('Review on the first photo', shownId);
    // the second photo, once: its box and where it is; then back, the second one's detail kept (read ahead)
    await page.keyboard.press('d');
    const second = await until('the second photo', async () => ((await shownId()) !== first ? shownId() : null));
    await until('its boxes', async () => (await page.$$('[data-testid=box]')).length > 0);
    await page.keyboard.press(']');
    const id = Number(await until('a selected box', () => page.getAttribute('[data-testid=box][data-selected=true]', 'data-id')));
    const start = (await boxOf(page, id))!;
    await page.keyboard.press('Escape');
    await page.keyboard.press('a');
    await until('back on the first photo', async () => (await shownId()) === first);

    const port = served.port;
    await served.stop(); // no 'changed' event reaches the page for what happens now
    await until('the page knows', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) !== 'open');
    const db = new Database(dbFile);
    db.prepare('UPDATE detections SET x = x + 9, version = version + 1 WHERE id = ?').run(id);
    db.close();
    served = await startServe(dbFile, 'read-ahead', { port });
    await until('the connection back', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) === 'open', 30_000);

    await page.keyboard.press('d');
    await until('the second photo again', async () => (await shownId()) === second);
    await until('its box where the database has it', async () => (await boxOf(page, id))?.x === start.x + 9, 15_000);
    await page.close();
  });

  it("the queue's counts show a review made by another process while the connection was down, once it is back", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const count = (tab: string) => page.textContent(`[data-testid=queue-tab-${tab}] .count`);
    await page.goto(served.url);
    await until('the queue', async () => (await page.$$('[data-testid=queue-row]')).length === 2);
    await until('the counts', async () => (await count('unreviewed')) === '2' && (await count('reviewed')) === '0');
    const port = served.port;
    await served.stop(); // no 'changed' event reaches the page for what happens now
    await until('the page knows', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) !== 'open');
    const db = new Database(dbFile);
    db.prepare("UPDATE observations SET review_status = 'reviewed' WHERE id = (SELECT id FROM observations ORDER BY id LIMIT 1)").run();
    db.close();
    served = await startServe(dbFile, 'read-ahead', { port });
    await until('the connection back', async () => (await page.getAttribute('[data-testid=connection]', 'data-state')) === 'open', 30_000);
    await until('the queue without the reviewed photo', async () => (await page.$$('[data-testid=queue-row]')).length === 1);
    await until(
      'the counts as the database has them',
      async () => (await count('unreviewed')) === '1' && (await count('reviewed')) === '1',
    );
    await page.close();
  });
});
