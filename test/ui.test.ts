/**
 * The review UI end to end: the built renderer served by `kliq-audit serve` over a database filled by
 * a real audit of ../shared/photos, driven in headless Debian Chromium (playwright-core). Every edit
 * made with the mouse and the keyboard is then checked in the SQLite file itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import WebSocket from 'ws';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL, PHOTOS, ROOT, tmpDir } from './helpers';
import { auditInto, CHROMIUM, ensureRendererBuilt, launchChromium, startServe, type Served } from './ui-helpers';
import { QueueSnapshot } from '../src/renderer/src/review/navigator';
import type { QueueItem } from '../src/shared/rpc';

const USER = 'ui-tester';
const SHOTS = path.join(ROOT, 'test-results', 'screenshots');
const DOCS_SHOT = path.join(ROOT, 'docs', 'review.png');
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`ui.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium; CI installs it)`);
}

interface BoxInfo {
  id: number;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
}
interface CorrectionRow {
  id: number;
  observation_id: string;
  detection_id: number | null;
  action: string;
  before: string | null;
  after: string | null;
  who: string;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeout = 10_000,
): Promise<T> {
  const end = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The photo on the Review screen, once its detail (boxes, summary) is shown; null while it loads. */
async function reviewedId(page: Page): Promise<string | null> {
  const ready = await page.getAttribute('[data-testid=review-screen]', 'data-ready');
  return ready === 'true' ? page.getAttribute('[data-testid=review-screen]', 'data-observation-id') : null;
}
const movedOn = async (page: Page, from: string | null) => {
  const id = await reviewedId(page);
  return id !== null && id !== from;
};

async function boxes(page: Page): Promise<BoxInfo[]> {
  return page.$$eval('[data-testid=box]', (gs) =>
    gs.map((g) => {
      const r = g.querySelector('rect[data-box-id]')!;
      const n = (a: string) => Number(r.getAttribute(a));
      return {
        id: Number(g.getAttribute('data-id')),
        label: g.getAttribute('data-label')!,
        x: n('x'),
        y: n('y'),
        width: n('width'),
        height: n('height'),
      };
    }),
  );
}
const box = async (page: Page, id: number) => (await boxes(page)).find((b) => b.id === id);

/** Waits until every edit sent so far is answered and saved. */
async function saved(page: Page): Promise<void> {
  await until('the edit to be saved', async () => (await page.getAttribute('[data-testid=save-status]', 'data-state')) === 'saved');
}

async function shot(page: Page, name: string): Promise<string> {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

describe.skipIf(!hasChromium)('review UI in Chromium against kliq-audit serve', () => {
  let dir: string;
  let dbFile: string;
  let served: Served;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  // what the UI test did, checked against the database afterwards
  const done: {
    first?: string;
    second?: string;
    det?: number;
    original?: BoxInfo;
    moved?: BoxInfo;
    pickLabel?: string;
    keyLabel?: string;
    added?: number;
  } = {};

  beforeAll(async () => {
    ensureRendererBuilt();
    dir = tmpDir('kliq-ui-');
    dbFile = path.join(dir, 'ui.db');
    auditInto(dbFile, PHOTOS);
    served = await startServe(dbFile, USER);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/favicon/.test(m.location().url)) pageErrors.push(`console: ${m.text()} (${m.location().url})`);
    });
    fs.mkdirSync(SHOTS, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the queue shows the 12 photos, uncertain first (most model boxes under 0.5, then the lowest model confidence)', async () => {
    await page.goto(served.url);
    await until('12 queue rows', async () => (await page.$$('[data-testid=queue-row]')).length === 12);
    const rows = await page.$$eval('[data-testid=queue-row]', (rs) =>
      rs.map((r) => ({ id: r.getAttribute('data-observation-id')!, conf: Number(r.getAttribute('data-top-confidence') || 0) })),
    );
    // the README's rule, computed here from the model boxes in the database
    const db = new Database(dbFile, { readonly: true });
    const boxes = db
      .prepare(
        `SELECT o.id, d.confidence FROM observations o LEFT JOIN detections d
         ON d.cv_job_id = o.current_job_id AND d.deleted = 0 AND d.source = 'model'`,
      )
      .all() as { id: string; confidence: number | null }[];
    db.close();
    const confs = new Map<string, number[]>();
    for (const b of boxes) confs.set(b.id, [...(confs.get(b.id) ?? []), ...(b.confidence === null ? [] : [b.confidence])]);
    const priority = (c: number[]) => (c.length ? c.filter((x) => x < 0.5).length + (1 - Math.min(...c)) : 1e6);
    const expected = [...confs].sort(([a, ca], [b, cb]) => priority(cb) - priority(ca) || (a < b ? -1 : 1)).map(([id]) => id);
    expect(rows.map((r) => r.id)).toEqual(expected);
    expect(await page.textContent('[data-testid=queue-total]')).toContain('12 photos');
    expect(await page.textContent('[data-testid=queue-tab-unreviewed]')).toContain('12');
    done.first = rows[0].id;
    done.second = rows[1].id;
    await shot(page, 'queue');
  });

  it('opens the first photo with the keyboard; moves, relabels (picker, 1–9), undoes, redoes; accepts with Space', async () => {
    // keyboard only: the list has the focus, its first row is active
    await page.keyboard.press('Enter');
    await until('Review of the first photo', async () => (await reviewedId(page)) === done.first);
    await until(
      'the photo and its boxes',
      async () =>
        (await page.$$('[data-testid=box]')).length > 0 &&
        page.$eval('[data-testid=review-image]', (i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0),
    );
    expect(await page.getAttribute('[data-testid=save-status]', 'data-state')).toBe('idle'); // opening Review saved nothing

    // a box that is on top at its centre and has room to move right/down
    const target = await page.evaluate(() => {
      const svg = document.querySelector('[data-testid=review-overlay]') as SVGSVGElement;
      const [, , W, H] = svg.getAttribute('viewBox')!.split(' ').map(Number);
      const cands = [...document.querySelectorAll<SVGGElement>('[data-testid=box]')]
        .map((g) => {
          const rect = g.querySelector('rect[data-box-id]')!;
          const r = rect.getBoundingClientRect();
          const cx = r.left + r.width / 2;
          const cy = r.top + r.height / 2;
          const x = Number(rect.getAttribute('x')),
            y = Number(rect.getAttribute('y'));
          const w = Number(rect.getAttribute('width')),
            h = Number(rect.getAttribute('height'));
          return {
            id: Number(g.dataset.id),
            cx,
            cy,
            size: r.width * r.height,
            topmost: document.elementFromPoint(cx, cy) === rect,
            room: x + w < W - 40 && y + h < H - 40,
          };
        })
        .filter((c) => c.topmost && c.room && c.size > 600)
        .sort((a, b) => b.size - a.size);
      return cands[0] ?? null;
    });
    expect(target, 'a box to edit').not.toBeNull();
    const id = target!.id;
    done.det = id;
    done.original = await box(page, id);

    // select by click
    await page.mouse.click(target!.cx, target!.cy);
    await until(
      'the box selected',
      async () => (await page.getAttribute(`[data-testid=box][data-id="${id}"]`, 'data-selected')) === 'true',
    );
    expect(await page.$$('[data-testid^=handle-]')).toHaveLength(4);

    // move by dragging it
    await page.mouse.move(target!.cx, target!.cy);
    await page.mouse.down();
    await page.mouse.move(target!.cx + 30, target!.cy + 20, { steps: 6 });
    await page.mouse.move(target!.cx + 45, target!.cy + 30, { steps: 6 });
    await page.mouse.up();
    const moved = await until('the box to move', async () => {
      const b = await box(page, id);
      return b && b.x > done.original!.x && b.y > done.original!.y ? b : null;
    });
    expect(moved.width).toBeCloseTo(done.original!.width, 5);
    expect(moved.height).toBeCloseTo(done.original!.height, 5);
    done.moved = moved;
    await saved(page);

    // relabel with the catalog picker (l, type, Enter)
    await page.keyboard.press('l');
    await page.waitForSelector('[data-testid=catalog-picker]');
    const pick = done.original!.label === 'zebra' ? 'giraffe' : 'zebra';
    done.pickLabel = pick;
    await page.keyboard.type(pick.slice(0, 4));
    await page.waitForSelector(`[data-testid=catalog-option][data-label="${pick}"][aria-selected=true]`);
    await page.keyboard.press('Enter');
    await until(`the label ${pick}`, async () => (await box(page, id))?.label === pick);
    expect(await page.$('[data-testid=catalog-picker]')).toBeNull();
    await saved(page);

    // relabel with a number key (1–9 = the most used labels)
    const keys = await page.$$eval('[data-testid=label-key]', (bs) => bs.map((b) => b.getAttribute('data-label')!));
    expect(keys.length).toBeGreaterThan(1);
    const k = keys.findIndex((l) => l !== pick && l !== done.original!.label);
    done.keyLabel = keys[k];
    await page.keyboard.press(String(k + 1));
    await until(`the label ${done.keyLabel}`, async () => (await box(page, id))?.label === done.keyLabel);
    await saved(page);

    // undo, redo
    await page.keyboard.press('Control+z');
    await until('undo back to the picked label', async () => (await box(page, id))?.label === pick);
    await saved(page);
    await page.keyboard.press('Control+Shift+z');
    await until('redo to the number-key label', async () => (await box(page, id))?.label === done.keyLabel);
    await saved(page);
    const after = (await box(page, id))!;
    expect([after.x, after.y]).toEqual([moved.x, moved.y]);

    // accept with Space: reviewed, next photo
    await page.keyboard.press('Space');
    await until('the second photo', async () => (await reviewedId(page)) === done.second);
    await saved(page);
    expect(pageErrors).toEqual([]);
  });

  it('draws, deletes and restores a box (undo) on the next photo', async () => {
    await until('the photo', async () =>
      page.$eval('[data-testid=review-image]', (i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0),
    );
    await page.keyboard.press('Escape');
    const before = (await boxes(page)).map((b) => b.id);
    const vp = (await page.locator('[data-testid=review-image]').boundingBox())!;
    await page.keyboard.press('w');
    await page.mouse.move(vp.x + vp.width * 0.1, vp.y + vp.height * 0.1);
    await page.mouse.down();
    await page.mouse.move(vp.x + vp.width * 0.3, vp.y + vp.height * 0.25, { steps: 8 });
    await page.mouse.up();
    const added = await until('the drawn box', async () => (await boxes(page)).find((b) => !before.includes(b.id)));
    done.added = added.id;
    expect(await page.getAttribute(`[data-testid=box][data-id="${added.id}"]`, 'data-selected')).toBe('true');
    await saved(page);
    await page.keyboard.press('Delete');
    await until('the box deleted', async () => !(await box(page, added.id)));
    await saved(page);
    await page.keyboard.press('Control+z');
    await until('the box restored', async () => !!(await box(page, added.id)));
    await saved(page);
  });

  it('wrote every edit to SQLite: corrections (detection, before, after, who) and the review state', () => {
    const db = new Database(dbFile, { readonly: true });
    try {
      const rows = db
        .prepare('SELECT id, observation_id, detection_id, action, before, after, who FROM corrections ORDER BY id')
        .all() as CorrectionRow[];
      const j = (s: string | null) => (s === null ? null : JSON.parse(s));
      const first = rows.filter((r) => r.observation_id === done.first);
      const det = first.filter((r) => r.detection_id === done.det);
      expect(det.map((r) => r.action)).toEqual(['update', 'update', 'update', 'update', 'update']);
      expect(rows.every((r) => r.who === USER)).toBe(true);
      const [move, picked, keyed, undone, redone] = det.map((r) => ({ before: j(r.before), after: j(r.after) }));
      const o = done.original!;
      const m = done.moved!;
      const close = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
        [a.x - b.x, a.y - b.y, a.width - b.width, a.height - b.height].every((d) => Math.abs(d) < 0.051);
      // the move
      expect(move.before.objectName).toBe(o.label);
      expect(move.after.objectName).toBe(o.label);
      expect(close(move.before.boundingBox, o)).toBe(true);
      expect(close(move.after.boundingBox, m)).toBe(true);
      // the picker, the number key, the undo (back), the redo (again)
      expect([picked.before.objectName, picked.after.objectName]).toEqual([o.label, done.pickLabel]);
      expect([keyed.before.objectName, keyed.after.objectName]).toEqual([done.pickLabel, done.keyLabel]);
      expect([undone.before.objectName, undone.after.objectName]).toEqual([done.keyLabel, done.pickLabel]);
      expect([redone.before.objectName, redone.after.objectName]).toEqual([done.pickLabel, done.keyLabel]);
      for (const r of [picked, keyed, undone, redone]) expect(close(r.after.boundingBox, m)).toBe(true);
      // the accept
      const review = first.filter((r) => r.action === 'review');
      expect(review).toHaveLength(1);
      expect(review[0].detection_id).toBeNull();
      expect(j(review[0].after)).toMatchObject({ review: 'reviewed' });
      const obs = db.prepare('SELECT review_status, flag_reason, reviewed_by FROM observations WHERE id = ?').get(done.first) as Record<
        string,
        unknown
      >;
      expect(obs).toEqual({ review_status: 'reviewed', flag_reason: null, reviewed_by: USER });
      const d = db.prepare('SELECT object_name, x, y, deleted, corrected FROM detections WHERE id = ?').get(done.det) as Record<
        string,
        number | string
      >;
      expect(d).toMatchObject({ object_name: done.keyLabel, deleted: 0, corrected: 1 });
      expect(Math.abs((d.x as number) - m.x)).toBeLessThan(0.051);
      // draw, delete, undo on the second photo
      const second = rows.filter((r) => r.observation_id === done.second && r.detection_id === done.added);
      expect(second.map((r) => r.action)).toEqual(['add', 'delete', 'restore']);
      expect(second[0].before).toBeNull();
      expect(second[1].after).toBeNull();
      expect(j(second[2].after)).toEqual(j(second[0].after));
      expect(db.prepare('SELECT deleted, source FROM detections WHERE id = ?').get(done.added)).toEqual({ deleted: 0, source: 'user' });
      expect(db.prepare('SELECT review_status FROM observations WHERE id = ?').pluck().get(done.second)).toBe('unreviewed');
    } finally {
      db.close();
    }
  });

  it('screenshots Review (a shelf, a box selected) and the ? overlay; docs/review.png stays small', async () => {
    // go to a shelf photo: many boxes
    const db = new Database(dbFile, { readonly: true });
    const shelf = db.prepare("SELECT id FROM observations WHERE source_path LIKE '%shelf_3.jpg'").pluck().get() as string;
    db.close();
    await until('a photo shown', () => reviewedId(page));
    for (let i = 0; i < 12 && (await reviewedId(page)) !== shelf; i++) {
      const cur = await reviewedId(page);
      await page.keyboard.press('d');
      await until('the next photo', () => movedOn(page, cur));
    }
    expect(await reviewedId(page)).toBe(shelf);
    await until('the shelf photo', async () =>
      page.$eval('[data-testid=review-image]', (i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0),
    );
    await page.keyboard.press(']');
    await until('a box selected', async () => (await page.$$('[data-testid=box][data-selected=true]')).length === 1);
    await page.waitForTimeout(200);
    const file = await shot(page, 'review');
    // a palette PNG keeps the README's screenshot small; docs/ is rewritten only when asked
    // (KLIQ_UPDATE_DOCS=1 npm test -- test/ui.test.ts), so a test run leaves the tree clean
    const small = path.join(path.dirname(file), 'review-small.png');
    for (const colours of [256, 128, 64]) {
      await sharp(file).png({ palette: true, colours, compressionLevel: 9, effort: 10 }).toFile(small);
      if (fs.statSync(small).size < 300_000) break;
    }
    expect(fs.statSync(small).size).toBeLessThan(300_000);
    if (process.env.KLIQ_UPDATE_DOCS === '1') fs.copyFileSync(small, DOCS_SHOT);

    await page.keyboard.press('?');
    await page.waitForSelector('[data-testid=shortcuts-overlay]');
    const text = await page.textContent('[data-testid=shortcuts-overlay]');
    for (const s of ['Space', 'Ctrl+Z', 'Ctrl+Shift+Z', 'Delete', 'Zoom to fit', 'Flag']) expect(text).toContain(s);
    await shot(page, 'review-shortcuts');
    await page.keyboard.press('?');
    await until('the overlay closed with ?', async () => !(await page.$('[data-testid=shortcuts-overlay]')));
    await page.keyboard.press('?');
    await page.waitForSelector('[data-testid=shortcuts-overlay]');
    await page.keyboard.press('Escape');
    await until('the overlay closed with Escape', async () => !(await page.$('[data-testid=shortcuts-overlay]')));
  });

  it('zooms (0, f, wheel), pans with Space+drag without accepting, nudges, resizes by a corner, undoes all; flags with x', async () => {
    const zoom = () => page.textContent('[data-testid=zoom-level]');
    const shelf = await until('the shelf shown', () => reviewedId(page));
    await page.keyboard.press('0');
    await until('100 %', async () => (await zoom())?.trim() === '100 %');
    await page.keyboard.press('f');
    await until('fit', async () => (await zoom())?.startsWith('Fit'));
    const vp = (await page.locator('[data-testid=review-viewport]').boundingBox())!;
    await page.mouse.move(vp.x + vp.width / 2, vp.y + vp.height / 2);
    await page.mouse.wheel(0, -300);
    await until('zoomed in by the wheel', async () => !(await zoom())?.startsWith('Fit'));
    const stage = () => page.$eval('.stage', (e) => (e as HTMLElement).style.transform);
    const t0 = await stage();
    await page.keyboard.down('Space');
    await page.mouse.down();
    await page.mouse.move(vp.x + vp.width / 2 - 80, vp.y + vp.height / 2 - 40, { steps: 5 });
    await page.mouse.up();
    await page.keyboard.up('Space');
    expect(await stage()).not.toBe(t0);
    await page.waitForTimeout(100);
    expect(await reviewedId(page)).toBe(shelf); // Space used to pan does not accept
    await page.keyboard.press('f');

    // the confidence slider hides boxes below it, live
    const all = (await boxes(page)).length;
    await page.focus('[data-testid=conf-slider]');
    await page.keyboard.press('End'); // 1.00: only drawn boxes (confidence 1) stay
    await until('boxes hidden', async () => (await boxes(page)).length < all);
    await page.keyboard.press('Home');
    await until('boxes back', async () => (await boxes(page)).length === all);
    await page.keyboard.press('Escape'); // leaves the slider
    await page.keyboard.press(']');

    const sel = await until('the selected box', async () => {
      const id = await page.getAttribute('[data-testid=box][data-selected=true]', 'data-id');
      return id ? Number(id) : null;
    });
    const b0 = (await box(page, sel))!;
    const countBefore = () => {
      const db = new Database(dbFile, { readonly: true });
      const n = (db.prepare('SELECT count(*) AS n FROM corrections WHERE detection_id = ?').get(sel) as { n: number }).n;
      db.close();
      return n;
    };
    const earlier = countBefore(); // the box may have been drawn or edited by an earlier step
    await page.keyboard.press('ArrowRight');
    await until('nudged 1 px right', async () => (await box(page, sel))?.x === b0.x + 1);
    await page.keyboard.press('Shift+ArrowDown');
    await until('nudged 10 px down', async () => (await box(page, sel))?.y === b0.y + 10);
    await saved(page);
    const h = (await page.locator('[data-testid=handle-se]').boundingBox())!;
    await page.mouse.move(h.x + h.width / 2, h.y + h.height / 2);
    await page.mouse.down();
    await page.mouse.move(h.x + h.width / 2 + 25, h.y + h.height / 2 + 25, { steps: 6 });
    await page.mouse.up();
    const resized = await until('resized', async () => {
      const b = await box(page, sel);
      return b && b.width > b0.width && b.height > b0.height ? b : null;
    });
    expect([resized.x, resized.y]).toEqual([b0.x + 1, b0.y + 10]);
    await saved(page);
    for (let i = 0; i < 3; i++) await page.keyboard.press('Control+z');
    await until('back to the original box', async () => {
      const b = await box(page, sel);
      return b && b.x === b0.x && b.y === b0.y && b.width === b0.width && b.height === b0.height;
    });
    await saved(page);
    const db = new Database(dbFile, { readonly: true });
    const rows = db.prepare('SELECT action, after FROM corrections WHERE detection_id = ? ORDER BY id').all(sel) as {
      action: string;
      after: string;
    }[];
    const det = db.prepare('SELECT x, y, width, height FROM detections WHERE id = ?').get(sel) as {
      x: number;
      y: number;
      width: number;
      height: number;
    };
    db.close();
    expect(rows.slice(earlier).map((r) => r.action)).toEqual(Array(6).fill('update'));
    expect(det.x).toBeCloseTo(b0.x, 5);
    expect(det.y).toBeCloseTo(b0.y, 5);
    expect(det.width).toBeCloseTo(b0.width, 5);
    expect(det.height).toBeCloseTo(b0.height, 5);

    // flag with a reason, then the next photo
    await page.keyboard.press('x');
    await page.waitForSelector('[data-testid=flag-prompt]');
    await page.keyboard.type('price labels unreadable');
    await page.keyboard.press('Enter');
    await until('the next photo', () => movedOn(page, shelf));
    await saved(page);
    const db2 = new Database(dbFile, { readonly: true });
    expect(db2.prepare('SELECT review_status, flag_reason FROM observations WHERE id = ?').get(shelf)).toEqual({
      review_status: 'flagged',
      flag_reason: 'price labels unreadable',
    });
    db2.close();
    // and back: a is the previous photo, which shows its flag
    await page.keyboard.press('a');
    await until('the flagged photo again', async () => (await reviewedId(page)) === shelf);
    await until('its flag shown', async () => (await page.textContent('[data-testid=review-state]')) === 'flagged');
    expect(pageErrors).toEqual([]);
  });

  it('an edit the engine refuses is shown, and the photo is reloaded from the engine', async () => {
    await until('the photo shown', () => reviewedId(page));
    await page.keyboard.press('Escape');
    await page.keyboard.press(']');
    const id = Number(await until('a selected box', () => page.getAttribute('[data-testid=box][data-selected=true]', 'data-id')));
    const label = (await box(page, id))!.label;
    // someone else deletes that box behind the UI's back
    const rw = new Database(dbFile);
    rw.pragma('busy_timeout = 5000');
    rw.prepare('UPDATE detections SET deleted = 1 WHERE id = ?').run(id);
    rw.close();
    const keys = await page.$$eval('[data-testid=label-key]', (bs) => bs.map((b) => b.getAttribute('data-label')!));
    await page.keyboard.press(String(keys.findIndex((l) => l !== label) + 1));
    await until('the error shown', async () => (await page.getAttribute('[data-testid=save-status]', 'data-state')) === 'error');
    expect(await page.textContent('[data-testid=save-status]')).toMatch(/deleted/);
    await until('the photo reloaded without the box', async () => !(await box(page, id)));
    const db = new Database(dbFile, { readonly: true });
    expect(db.prepare('SELECT object_name FROM detections WHERE id = ?').pluck().get(id)).toBe(label);
    db.close();
    await page.keyboard.press('Escape');
  });

  it('Summary shows the batch of the current queue', async () => {
    await page.click('[data-testid=nav-summary]');
    await page.waitForSelector('[data-testid=summary-screen]');
    const db = new Database(dbFile, { readonly: true });
    const total = db
      .prepare('SELECT count(*) FROM detections d JOIN observations o ON d.cv_job_id = o.current_job_id WHERE d.deleted = 0')
      .pluck()
      .get();
    db.close();
    await until('the batch numbers', async () => (await page.textContent('[data-testid=batch-photos]')) === '12');
    expect(Number((await page.textContent('[data-testid=batch-total]'))!.replace(/\D/g, ''))).toBe(total);
    await shot(page, 'summary');
  });

  it('Import starts an audit and shows its live state, failures by reason', async () => {
    const folder = path.join(dir, 'import');
    fs.mkdirSync(folder);
    // a new photo (same pixels, other bytes: another sha256) and a file that is no photo
    fs.writeFileSync(
      path.join(folder, 'dog-copy.jpg'),
      Buffer.concat([fs.readFileSync(path.join(GENERAL, 'dog.jpg')), Buffer.from('trailer')]),
    );
    fs.writeFileSync(path.join(folder, 'notes.jpg'), 'not a photo');
    await page.click('[data-testid=nav-import]');
    await page.fill('[data-testid=import-paths]', folder);
    await page.fill('[data-testid=import-location]', 'Store 12');
    await page.click('[data-testid=import-start]');
    const item = page.locator('[data-testid=import-item]').first();
    await until('the import to finish', async () => (await item.getAttribute('data-state')) === 'done', 60_000);
    expect(await item.locator('[data-testid=import-progress]').textContent()).toContain('2 / 2');
    expect(await item.locator('[data-testid=import-errors]').textContent()).toMatch(/1×/);
    await shot(page, 'import');
    const db = new Database(dbFile, { readonly: true });
    const photos = db.prepare('SELECT count(*) FROM observations').pluck().get() as number;
    const failed = db.prepare("SELECT count(*) FROM observations WHERE status = 'failed'").pluck().get() as number;
    db.close();
    // the new photo, and the failed file kept as a failed observation with its error
    expect(photos).toBe(14);
    expect(failed).toBe(1);
    expect(await page.textContent('[data-testid=import-folders]')).toContain(folder);
    expect(await page.textContent('[data-testid=import-folders]')).toContain('Store 12');
    await page.click('[data-testid=nav-queue]');
    await until(`${photos} photos in the queue`, async () =>
      (await page.textContent('[data-testid=queue-total]'))?.includes(`${photos} photos`),
    );
    await page.selectOption('[data-testid=filter-status]', 'failed');
    await until('the failed photo listed', async () => (await page.$$('[data-testid=queue-row]')).length === failed);
    expect(await page.textContent('[data-testid=queue-row] .c-status')).toBe('failed');
    await page.click('[data-testid=filter-clear]');
    expect(pageErrors).toEqual([]);
  });

  it('the WebSocket gives nothing without the token or from another origin', async () => {
    const base = `ws://127.0.0.1:${served.port}/rpc`;
    const attempt = (url: string, headers: Record<string, string> = {}) =>
      new Promise<{ opened: boolean; status: number | null; messages: number }>((resolve) => {
        const ws = new WebSocket(url, { headers });
        let messages = 0;
        let opened = false;
        const end = (status: number | null) => {
          ws.terminate();
          resolve({ opened, status, messages });
        };
        ws.on('open', () => {
          opened = true;
          ws.send(JSON.stringify({ id: 1, method: 'queue', params: {} }));
          setTimeout(() => end(null), 1500);
        });
        ws.on('message', () => messages++);
        ws.on('unexpected-response', (_req, res) => end(res.statusCode ?? null));
        ws.on('error', () => end(null));
      });
    const noToken = await attempt(base);
    expect(noToken).toMatchObject({ opened: false, messages: 0 });
    expect(noToken.status).toBe(401);
    const wrongToken = await attempt(`${base}?token=${'x'.repeat(served.token.length)}`);
    expect(wrongToken).toMatchObject({ opened: false, messages: 0, status: 401 });
    const foreign = await attempt(`${base}?token=${served.token}`, { Origin: 'http://evil.example' });
    expect(foreign).toMatchObject({ opened: false, messages: 0, status: 403 });
    // the same request from our own origin is answered
    const own = await attempt(`${base}?token=${served.token}`, { Origin: served.origin });
    expect(own.opened).toBe(true);
    expect(own.messages).toBeGreaterThan(0);
    // photo pixels need the token too
    const id = done.first!;
    expect((await fetch(`${served.origin}/photo/${id}`)).status).toBe(401);
    expect((await fetch(`${served.origin}/photo/${id}?token=${served.token}`)).status).toBe(200);
  });
});

/**
 * serve as the auditor lives it: a photo file that changed since the audit is named as such in Review,
 * the URL survives a restart of serve on the same database, and a restart with `--new-token` tells
 * open pages what happened instead of retrying forever. Its own database of copied photos (they are
 * replaced), after the describe above (one Chromium at a time).
 */
const connection = (page: Page) => page.getAttribute('[data-testid=connection]', 'data-state');

describe.skipIf(!hasChromium)('kliq-audit serve in Chromium: changed photos and tokens across restarts', () => {
  let dir: string;
  let photos: string;
  let dbFile: string;
  let served: Served | null = null;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ensureRendererBuilt();
    dir = tmpDir('kliq-ui-serve-');
    photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    for (const n of ['dog.jpg', 'person.jpg']) {
      fs.copyFileSync(path.join(GENERAL, n), path.join(photos, n));
      fs.chmodSync(path.join(photos, n), 0o644);
    }
    dbFile = path.join(dir, 'ui.db');
    auditInto(dbFile, photos);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('Review says that a photo file changed since it was audited, instead of a broken image', async () => {
    // both files swapped for the other photo before the page ever loaded them (nothing cached)
    const dog = fs.readFileSync(path.join(photos, 'dog.jpg'));
    fs.copyFileSync(path.join(photos, 'person.jpg'), path.join(photos, 'dog.jpg'));
    fs.writeFileSync(path.join(photos, 'person.jpg'), dog);
    served = await startServe(dbFile, 'ui-tester');
    await page.goto(served.url);
    await until('2 queue rows', async () => (await page.$$('[data-testid=queue-row]')).length === 2);
    await page.keyboard.press('Enter');
    const note = await until('the photo error', () => page.$('[data-testid=photo-error][data-status="409"]'));
    expect(await note.textContent()).toBe('The photo file changed since it was audited: re-import it');
  });

  it('restarting serve keeps the URL valid: the same token, and the open page reconnects', async () => {
    const { url, port, token } = served!;
    await until('connected', async () => (await connection(page)) === 'open');
    await served!.stop();
    await until('reconnecting', async () => (await connection(page)) === 'reconnecting');
    served = await startServe(dbFile, 'ui-tester', { port });
    expect(served.url).toBe(url);
    expect(served.token).toBe(token);
    await until('reconnected', async () => (await connection(page)) === 'open');
  });

  it('a restart with --new-token tells the open page its address is no longer valid, and it stops retrying', async () => {
    const { port, token } = served!;
    await served!.stop();
    served = await startServe(dbFile, 'ui-tester', { port, args: ['--new-token'] });
    expect(served.token).not.toBe(token);
    await until('bad-token', async () => (await connection(page)) === 'bad-token', 30_000);
    // no more attempts: no WebSocket opened over more than the longest backoff (4 s)
    let sockets = 0;
    const count = () => sockets++;
    page.on('websocket', count);
    await new Promise((r) => setTimeout(r, 5000));
    page.off('websocket', count);
    expect(sockets).toBe(0);
    expect(await page.textContent('[data-testid=bad-token]')).toContain(
      'This address is no longer valid (kliq-audit serve was restarted with a new token). Open the URL it printed.',
    );
    // the new URL works
    await page.goto(served.url);
    await until('connected with the new URL', async () => (await connection(page)) === 'open');
  });
});

/**
 * Review's next/previous follow a snapshot of the queue while the photos it shows leave the filtered
 * queue (accepted in the Unreviewed queue) or move in its order (edits change the top confidence).
 */
describe('Review navigation over a changing queue (QueueSnapshot)', () => {
  interface Row {
    id: string;
    conf: number;
    review: 'unreviewed' | 'reviewed';
  }
  const makeQueue = (n: number) => {
    const rows: Row[] = Array.from({ length: n }, (_, i) => ({
      id: `obs_${String(i).padStart(4, '0')}`,
      conf: i / n,
      review: 'unreviewed' as const,
    }));
    const visible = () => rows.filter((r) => r.review === 'unreviewed').sort((a, b) => a.conf - b.conf || a.id.localeCompare(b.id));
    const item = (r: Row) => ({ observationId: r.id, topConfidence: r.conf, review: r.review }) as QueueItem;
    let fetches = 0;
    const fetchPage = async (offset: number, limit: number) => {
      fetches++;
      const v = visible();
      return { total: v.length, items: v.slice(offset, offset + limit).map(item) };
    };
    return { rows, visible, fetchPage, fetches: () => fetches };
  };

  it('accepting photo after photo in the Unreviewed queue visits each one once, in order', async () => {
    const q = makeQueue(230);
    const order = q.visible().map((r) => r.id);
    const snap = new QueueSnapshot(q.fetchPage);
    let pos = await snap.init(0, order[0]);
    const seen: string[] = [];
    for (;;) {
      const cur = snap.items[pos].observationId;
      seen.push(cur);
      q.rows.find((r) => r.id === cur)!.review = 'reviewed'; // accept: it leaves the queue
      snap.markChanged(cur);
      if (pos + 1 >= snap.items.length && !(await snap.extendForward())) break;
      pos++;
    }
    expect(seen).toEqual(order);
    expect(q.fetches()).toBeLessThan(20); // a page at a time, not a call per photo
  });

  it('edits that move photos later in the order (higher confidence) neither skip nor repeat photos', async () => {
    const q = makeQueue(120);
    const order = q.visible().map((r) => r.id);
    const snap = new QueueSnapshot(q.fetchPage);
    let pos = await snap.init(10, order[10]);
    const seen: string[] = [];
    for (;;) {
      const cur = snap.items[pos].observationId;
      seen.push(cur);
      if (seen.length % 3 === 0) {
        q.rows.find((r) => r.id === cur)!.conf = 2; // a drawn box (confidence 1): to the end of "uncertain first"
        snap.markChanged(cur);
      }
      if (pos + 1 >= snap.items.length && !(await snap.extendForward())) break;
      pos++;
    }
    expect(seen).toEqual(order.slice(10));
  });

  it('walks backwards from the middle to the start of the queue', async () => {
    const q = makeQueue(180);
    const order = q.visible().map((r) => r.id);
    const snap = new QueueSnapshot(q.fetchPage);
    let pos = await snap.init(130, order[130]);
    const seen: string[] = [];
    for (;;) {
      seen.push(snap.items[pos].observationId);
      if (pos === 0) {
        const before = snap.items.length;
        if (!(await snap.extendBackward())) break;
        pos = snap.items.length - before;
      }
      pos--;
    }
    expect(seen).toEqual(order.slice(0, 131).reverse());
  });
});
