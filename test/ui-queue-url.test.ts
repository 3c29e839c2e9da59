/**
 * Reviewing at auditor speed (issue 13), in Chromium against `kliq-audit serve` and a real audit: the
 * place kept in the URL (screen, filters, sort, photo: a reload comes back, Back goes back), the queue
 * opening on Unreviewed, the file-name search, "go to photo N", rows chosen with Shift+click and
 * accepted in bulk (checked in the SQLite file), Ctrl+A sending the filter, Export and Re-audit of the
 * chosen photos, and on Import: a failed
 * file named, the form re-importing a kept folder with its location and tiles, the list beside the form.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL, tmpDir } from './helpers';
import { CHROMIUM, auditInto, ensureRendererBuilt, launchChromium, startServe, type Served, until } from './ui-helpers';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`UI tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);

/** By path: chelsea, coffee, dog, eagle, giraffe, notes (no photo: fails), person. */
const FILES = ['chelsea.png', 'coffee.png', 'dog.jpg', 'eagle.jpg', 'giraffe.jpg', 'person.jpg'];
const BY_PATH = ['chelsea.png', 'coffee.png', 'dog.jpg', 'eagle.jpg', 'giraffe.jpg', 'notes.jpg', 'person.jpg'];

const rowFiles = (page: Page) =>
  page.$$eval('[data-testid=queue-row]', (rs) =>
    rs
      .sort((a, b) => Number(a.getAttribute('data-index')) - Number(b.getAttribute('data-index')))
      .map((r) => r.querySelector('.c-file')!.firstChild!.textContent),
  );
const activeIndex = (page: Page) => page.getAttribute('[data-testid=queue-row].is-active', 'data-index');
const shownPhoto = async (page: Page) =>
  (await page.getAttribute('[data-testid=review-screen]', 'data-ready')) === 'true'
    ? page.getAttribute('[data-testid=review-screen]', 'data-observation-id')
    : null;
const hash = (page: Page) => page.evaluate(() => location.hash);

describe.skipIf(!hasChromium)('Queue: URL state, search, jump, bulk actions', () => {
  let served: Served;
  let browser: Browser;
  let dir: string;
  let dbFile: string;
  const pages: Page[] = [];
  const read = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(dbFile, { readonly: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  const idOf = (file: string) =>
    read(
      (db) =>
        db
          .prepare('SELECT id FROM observations WHERE source_path = ?')
          .pluck()
          .get(path.join(dir, 'photos', file)) as string,
    );

  beforeAll(async () => {
    ensureRendererBuilt();
    dir = tmpDir();
    const photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    for (const f of FILES) fs.copyFileSync(path.join(GENERAL, f), path.join(photos, f));
    dbFile = path.join(dir, 'queue.db');
    auditInto(dbFile, photos);
    // a file that is no photo: a failed observation (the CLI exits non-zero for it)
    fs.writeFileSync(path.join(photos, 'notes.jpg'), 'not a photo');
    expect(() => auditInto(dbFile, path.join(photos, 'notes.jpg'))).toThrow();
    served = await startServe(dbFile, 'queue-test');
    browser = await launchChromium();
  }, 240_000);
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.close();
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  async function open(suffix = ''): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    pages.push(page);
    await page.goto(served.url + suffix);
    return page;
  }

  it('a fresh open lands on Unreviewed (shown, removable, said on Summary); All is kept in the URL', async () => {
    const page = await open();
    await until(
      'the Unreviewed tab chosen',
      async () => (await page.getAttribute('[data-testid=queue-tab-unreviewed]', 'aria-selected')) === 'true',
    );
    expect(await page.getAttribute('[data-testid=queue-tab-all]', 'aria-selected')).toBe('false');
    expect(await hash(page)).toBe('#/queue');
    await page.click('[data-testid=nav-summary]');
    await until('the summary says its filter', async () =>
      (await page.textContent('[data-testid=summary-filter]'))?.includes('unreviewed'),
    );
    await page.click('[data-testid=nav-queue]');
    await page.click('[data-testid=queue-tab-all]');
    await until('All in the URL', async () => (await hash(page)) === '#/queue?review=all');
    await page.reload();
    await until(
      'All chosen after the reload',
      async () => (await page.getAttribute('[data-testid=queue-tab-all]', 'aria-selected')) === 'true',
    );
  });

  it('a reload keeps the screen, the filters, the sort and the photo in Review; Back returns to the queue', async () => {
    const page = await open();
    await until('rows', async () => (await page.$$('[data-testid=queue-row]')).length > 0);
    await page.selectOption('[data-testid=queue-sort]', 'path');
    await page.selectOption('[data-testid=filter-status]', 'completed');
    await until('6 completed photos by path', async () => JSON.stringify(await rowFiles(page)) === JSON.stringify(FILES));
    await page.click('[data-testid=queue-row][data-index="2"]');
    await until('Review on dog.jpg', async () => (await shownPhoto(page)) === idOf('dog.jpg'));
    await page.keyboard.press('d');
    await until('Review on eagle.jpg', async () => (await shownPhoto(page)) === idOf('eagle.jpg'));
    await until('the photo in the URL', async () => (await hash(page)).includes(`photo=${idOf('eagle.jpg')}`));
    expect(await hash(page)).toBe(`#/review?status=completed&sort=path&n=4&photo=${idOf('eagle.jpg')}`);

    await page.reload();
    await until('Review on eagle.jpg again', async () => (await shownPhoto(page)) === idOf('eagle.jpg'));
    expect(await page.textContent('[data-testid=review-screen] .statusbar')).toContain('unreviewed · status completed');
    expect(await page.textContent('[data-testid=review-screen] .toolbar')).toContain('4 / 6');
    await page.keyboard.press('d');
    await until('next is giraffe.jpg, in the same queue', async () => (await shownPhoto(page)) === idOf('giraffe.jpg'));

    // the next photo replaced the step: Back goes to the queue, with its filters and the row
    await page.goBack();
    await until('the queue', async () => (await page.$('[data-testid=queue-screen]')) !== null);
    expect(await page.inputValue('[data-testid=queue-sort]')).toBe('path');
    expect(await page.inputValue('[data-testid=filter-status]')).toBe('completed');
    await until('the row of the photo left', async () => (await activeIndex(page)) === '2');
    await page.goForward();
    await until('Review again', async () => (await shownPhoto(page)) !== null);
  });

  it('photos passed straight on are written to the URL once the auditor stops, not one history write per key', async () => {
    const page = await open('#/queue?review=all&sort=path');
    await until('rows', async () => JSON.stringify(await rowFiles(page)) === JSON.stringify(BY_PATH));
    await page.click('[data-testid=queue-row][data-index="0"]');
    await until('Review on chelsea.png', async () => (await shownPhoto(page)) === idOf('chelsea.png'));
    await until('its place in the URL', async () => (await hash(page)).includes(`photo=${idOf('chelsea.png')}`));
    // every write of the history from here on
    await page.evaluate(() => {
      const w = window as unknown as { __writes: string[] };
      w.__writes = [];
      for (const k of ['replaceState', 'pushState'] as const) {
        const original = history[k].bind(history);
        history[k] = (data: unknown, unused: string, url?: string | URL | null) => {
          w.__writes.push(`${k} ${String(url)}`);
          original(data, unused, url);
        };
      }
    });
    for (let i = 0; i < 4; i++) await page.keyboard.press('d');
    await until('Review on giraffe.jpg', async () => (await shownPhoto(page)) === idOf('giraffe.jpg'));
    await until('giraffe.jpg in the URL', async () => (await hash(page)).includes(`photo=${idOf('giraffe.jpg')}`));
    await page.waitForTimeout(500);
    const writes = await page.evaluate(() => (window as unknown as { __writes: string[] }).__writes);
    // one write, of where the auditor stopped: none for the three photos passed on the way
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(new RegExp(`^replaceState .*photo=${idOf('giraffe.jpg')}$`));
    // Back still leaves Review for the queue (the moves replaced the step, they did not add any)
    await page.goBack();
    await until('the queue', async () => (await page.$('[data-testid=queue-screen]')) !== null);
  });

  it('search narrows the list by file name (/ focuses it), kept in the URL', async () => {
    const page = await open('#/queue?review=all&sort=path');
    await until('7 rows', async () => (await page.$$('[data-testid=queue-row]')).length === 7);
    await page.focus('[data-testid=queue-list]');
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('queue-search');
    await page.keyboard.type('.PNG');
    await until('chelsea.png and coffee.png', async () => JSON.stringify(await rowFiles(page)) === '["chelsea.png","coffee.png"]');
    expect(await page.textContent('[data-testid=queue-total]')).toBe('2 photos');
    await until('the search in the URL', async () => (await hash(page)) === '#/queue?review=all&name=.PNG&sort=path');
    await page.reload();
    await until('the search kept', async () => (await page.inputValue('[data-testid=queue-search]')) === '.PNG');
    expect(await rowFiles(page)).toEqual(['chelsea.png', 'coffee.png']);
  });

  it('g goes to photo N: the queue row, and in Review the photo', async () => {
    const page = await open('#/queue?review=all&sort=path');
    await until('7 rows by path', async () => JSON.stringify(await rowFiles(page)) === JSON.stringify(BY_PATH));
    await page.focus('[data-testid=queue-list]');
    await page.keyboard.press('g');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('jump-input');
    await page.keyboard.type('5');
    await page.keyboard.press('Enter');
    await until('row 5 active', async () => (await activeIndex(page)) === '4');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('queue-list');

    await page.keyboard.press('Enter');
    await until('Review on giraffe.jpg', async () => (await shownPhoto(page)) === idOf('giraffe.jpg'));
    await page.keyboard.press('g');
    await page.keyboard.type('2');
    await page.keyboard.press('Enter');
    await until('Review on coffee.png', async () => (await shownPhoto(page)) === idOf('coffee.png'));
    expect(await page.textContent('[data-testid=review-filename]')).toBe('coffee.png');
    // the review keys work at once again
    await page.keyboard.press('d');
    await until('then dog.jpg', async () => (await shownPhoto(page)) === idOf('dog.jpg'));
    await page.keyboard.press('g');
    await page.keyboard.type('99');
    await page.keyboard.press('Enter');
    expect(await page.textContent('[data-testid=jump-error]')).toBe('the queue has 7 photos');
  });

  it('Shift+click takes a range; Accept writes one correction and outbox row per photo, and names the one skipped', async () => {
    const page = await open('#/queue?review=all&sort=path');
    await until('7 rows', async () => (await page.$$('[data-testid=queue-row]')).length === 7);
    const before = read((db) => db.prepare('SELECT max(id) FROM corrections').pluck().get() as number | null) ?? 0;
    const outboxBefore = read((db) => db.prepare('SELECT max(id) FROM outbox').pluck().get() as number | null) ?? 0;
    await page.click('[data-testid=queue-row][data-index="2"] [data-testid=row-check]');
    await page.click('[data-testid=queue-row][data-index="5"]', { modifiers: ['Shift'] });
    await until('4 selected', async () => (await page.textContent('[data-testid=bulk-count]')) === '4 selected');
    const selected = await page.$$eval('[data-testid=queue-row][data-selected=true]', (rs) => rs.map((r) => r.getAttribute('data-index')));
    expect(selected).toEqual(['2', '3', '4', '5']);
    // Ctrl+click leaves one out again
    await page.click('[data-testid=queue-row][data-index="3"]', { modifiers: ['Control'] });
    await until('3 selected', async () => (await page.textContent('[data-testid=bulk-count]')) === '3 selected');
    expect(await page.$('[data-testid=review-screen]')).toBeNull(); // a click with a modifier chooses, it does not open

    await page.click('[data-testid=bulk-accept]');
    const result = await until('the result', async () => page.textContent('[data-testid=bulk-result]'));
    expect(result).toMatch(/^Accepted 2, skipped 1: notes\.jpg \(failed: .+\)\.×$/);
    const rows = read((db) =>
      db.prepare(`SELECT observation_id AS id, action, after, who FROM corrections WHERE id > ? ORDER BY observation_id`).all(before),
    );
    expect(rows).toEqual(
      [idOf('dog.jpg'), idOf('giraffe.jpg')].sort().map((id) => ({
        id,
        action: 'review',
        after: JSON.stringify({ review: 'reviewed', reason: null }),
        who: 'queue-test',
      })),
    );
    const outbox = read((db) =>
      db.prepare(`SELECT ref FROM outbox WHERE id > ? AND kind = 'labels' ORDER BY ref`).pluck().all(outboxBefore),
    );
    expect(outbox).toEqual([idOf('dog.jpg'), idOf('giraffe.jpg')].sort());
    const states = read((db) =>
      db
        .prepare('SELECT review_status FROM observations WHERE id IN (?, ?, ?) ORDER BY source_path')
        .pluck()
        .all(idOf('eagle.jpg'), idOf('notes.jpg'), idOf('person.jpg')),
    );
    expect(states).toEqual(['unreviewed', 'unreviewed', 'unreviewed']);
    await until(
      'the rows show it',
      async () => (await page.textContent('[data-testid=queue-row][data-index="2"] .c-review')) === 'reviewed',
    );
  });

  it('Ctrl+A takes every photo of the filter and sends the filter; Flag asks a reason', async () => {
    const page = await open('#/queue?review=all&sort=path&name=person');
    await until('1 row', async () => (await page.$$('[data-testid=queue-row]')).length === 1);
    const sent: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => typeof f.payload === 'string' && sent.push(f.payload)));
    await page.reload();
    await until('1 row', async () => (await page.$$('[data-testid=queue-row]')).length === 1);
    await page.focus('[data-testid=queue-list]');
    await page.keyboard.press('Control+a');
    await until('all of the filter', async () => (await page.textContent('[data-testid=bulk-count]')) === 'All 1 photo of the filter');
    await page.click('[data-testid=bulk-flag]');
    await page.fill('[data-testid=flag-reason]', 'Needs a second look');
    await page.click('[data-testid=flag-submit]');
    await until('the result', async () => (await page.textContent('[data-testid=bulk-result]'))?.startsWith('Flagged 1.'));
    const call = JSON.parse(sent.find((m) => m.includes('"bulkReview"'))!) as { params: { selection: unknown } };
    expect(call.params.selection).toEqual({ filter: { name: 'person' } });
    expect(read((db) => db.prepare('SELECT review_status, flag_reason FROM observations WHERE id = ?').get(idOf('person.jpg')))).toEqual({
      review_status: 'flagged',
      flag_reason: 'Needs a second look',
    });
  });

  it('Export… and Re-audit… act on the chosen photos only', async () => {
    const page = await open('#/queue?review=all&sort=path');
    await until('7 rows by path', async () => JSON.stringify(await rowFiles(page)) === JSON.stringify(BY_PATH));
    await page.click('[data-testid=queue-row][data-index="0"]', { modifiers: ['Control'] });
    await page.click('[data-testid=queue-row][data-index="1"]', { modifiers: ['Control'] });
    await until('2 selected', async () => (await page.textContent('[data-testid=bulk-count]')) === '2 selected');

    const out = path.join(dir, 'chosen-dataset');
    await page.click('[data-testid=bulk-export]');
    expect(await page.textContent('[data-testid=export-filter]')).toBe('2 selected photos');
    await page.fill('[data-testid=export-out]', out);
    await until('the folder checked', async () => (await page.getAttribute('[data-testid=export-check]', 'data-ok')) === 'true');
    await page.click('[data-testid=export-start]');
    await until('the export done', async () => (await page.getAttribute('[data-testid=export-status]', 'data-state')) === 'done', 60_000);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { photos: { observationId: string }[] };
    expect(manifest.photos.map((p) => p.observationId).sort()).toEqual([idOf('chelsea.png'), idOf('coffee.png')].sort());
    await page.keyboard.press('Escape');
    await until('the dialog closed', async () => (await page.$('[data-testid=export-dialog]')) === null);

    await page.click('[data-testid=bulk-reaudit]');
    await until('the settings in the dialog', async () => (await page.inputValue('[data-testid=reaudit-conf]')) === '0.25');
    await page.fill('[data-testid=reaudit-conf]', '0.6');
    await page.click('[data-testid=reaudit-start]');
    await until(
      'the re-audit done',
      async () => (await page.getAttribute('[data-testid=bulk-reaudit-state]', 'data-state')) === 'done',
      120_000,
    );
    const confs = (file: string) =>
      read((db) =>
        db
          .prepare(`SELECT json_extract(options, '$.conf') FROM cv_jobs WHERE observation_id = ? ORDER BY created_at`)
          .pluck()
          .all(idOf(file)),
      );
    expect(confs('chelsea.png')).toEqual([0.25, 0.6]);
    expect(confs('coffee.png')).toEqual([0.25, 0.6]);
    expect(confs('eagle.jpg')).toEqual([0.25]);
  }, 180_000);

  /**
   * Starts the import in the form and returns its row. The server lists every import since it started
   * (the re-audit of the test before too), so the row is found by an id it did not list before the click.
   */
  async function startImport(page: Page) {
    await page.waitForSelector('[data-testid=import-list][data-listed=true]');
    const ids = () => page.locator('[data-testid=import-item]').evaluateAll((els) => els.map((e) => e.getAttribute('data-import-id')));
    const before = await ids();
    await page.click('[data-testid=import-start]');
    let id: string | null | undefined;
    await until('the new import listed', async () => (id = (await ids()).find((x) => !before.includes(x))) !== undefined, 10_000);
    return page.locator(`[data-testid=import-item][data-import-id="${id}"]`);
  }

  it('Import: a failed file is named; the form re-imports a kept folder with its settings; the list sits beside the form', async () => {
    const folder = path.join(dir, 'visit');
    fs.mkdirSync(folder);
    fs.copyFileSync(path.join(GENERAL, 'fruits.jpg'), path.join(folder, 'fruits.jpg'));
    fs.writeFileSync(path.join(folder, 'broken.jpg'), 'not a photo either');
    const page = await open();
    await page.click('[data-testid=nav-import]');
    await page.fill('[data-testid=import-paths]', folder);
    await page.fill('[data-testid=import-location]', 'Store 9');
    await page.selectOption('[data-testid=import-tiles]', '2');
    const item = await startImport(page);
    await until('the import done', async () => (await item.getAttribute('data-state')) === 'done', 120_000);
    expect(await item.locator('[data-testid=import-failures]').textContent()).toMatch(/broken\.jpg: /);

    // the list is in the column beside the form, from its top (not below it, after a gap)
    const form = (await page.locator('.import-form').boundingBox())!;
    const list = (await page.locator('[data-testid=import-list]').boundingBox())!;
    expect(list.x).toBeGreaterThanOrEqual(form.x + form.width);
    expect(list.y).toBeLessThan(form.y + form.height);

    // a new photo in the kept folder, then a re-import from the form in a fresh page
    // (other bytes than the eagle.jpg audited before: another photo, not another source of that one)
    fs.writeFileSync(path.join(folder, 'eagle2.jpg'), Buffer.concat([fs.readFileSync(path.join(GENERAL, 'eagle.jpg')), Buffer.from('x')]));
    await page.reload();
    await until('the kept folder', async () => (await page.$(`[data-testid=import-folder][data-path="${folder}"]`)) !== null);
    await page.click(`[data-testid=import-folder][data-path="${folder}"] [data-testid=folder-use]`);
    expect(await page.inputValue('[data-testid=import-paths]')).toBe(folder);
    expect(await page.inputValue('[data-testid=import-location]')).toBe('Store 9');
    expect(await page.inputValue('[data-testid=import-tiles]')).toBe('2');
    const reimport = await startImport(page);
    await until('the re-import done', async () => (await reimport.getAttribute('data-state')) === 'done', 120_000);
    const fresh = read((db) =>
      db
        .prepare(
          `SELECT l.name AS location, json_extract(j.options, '$.tiles') AS tiles FROM observations o
           JOIN locations l ON l.id = o.location_id JOIN cv_jobs j ON j.id = o.current_job_id WHERE o.source_path = ?`,
        )
        .get(path.join(folder, 'eagle2.jpg')),
    );
    expect(fresh).toEqual({ location: 'Store 9', tiles: 2 });
  }, 240_000);
});
