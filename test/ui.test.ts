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
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL, PHOTOS, ROOT, tmpDir } from './helpers';
import { auditInto, CHROMIUM, ensureRendererBuilt, launchChromium, PHOTO, photoPixelsShown, startServe, type Served } from './ui-helpers';
import { QueueSnapshot } from '../src/renderer/src/review/navigator';
import type { QueueItem } from '../src/shared/rpc';

const USER = 'ui-tester';
const SHOTS = path.join(ROOT, 'test-results', 'screenshots');
const DOCS_SHOT = path.join(ROOT, 'docs', 'review.png');
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && !process.env.CI) {
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

/** Waits until the page has painted what it shows now (two animation frames). */
async function painted(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

async function shot(page: Page, name: string): Promise<string> {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Outbox rows read after each edit: every edit made in the UI leaves exactly one, naming its correction. */
interface OutboxPayload {
  correctionId: number;
  observationId: string;
  detectionId: number | null;
  action: string;
  before: unknown;
  after: unknown;
  who: string;
  at: string;
}
class OutboxCursor {
  private last: number;
  constructor(private readonly dbFile: string) {
    this.last = this.read((db) => db.prepare('SELECT coalesce(max(id), 0) FROM outbox').pluck().get() as number);
  }

  private read<T>(fn: (db: Database.Database) => T): T {
    const db = new Database(this.dbFile, { readonly: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }

  private since() {
    return this.read(
      (db) =>
        db
          .prepare(
            `SELECT o.id, o.kind, o.payload, c.observation_id, c.detection_id, c.action, c.before, c.after, c.who
             FROM outbox o LEFT JOIN corrections c ON c.id = json_extract(o.payload, '$.correctionId') WHERE o.id > ? ORDER BY o.id`,
          )
          .all(this.last) as (CorrectionRow & { kind: string; payload: string })[],
    );
  }

  /** Waits for the edit's outbox row; there must be exactly one, with this payload, for the correction it names. */
  async one(expected: Partial<OutboxPayload>): Promise<OutboxPayload> {
    const rows = await until('the outbox row of the edit', () => {
      const r = this.since();
      return r.length ? r : null;
    });
    expect(rows, 'outbox rows for one edit').toHaveLength(1);
    const [row] = rows;
    const payload = JSON.parse(row.payload) as OutboxPayload;
    const j = (s: string | null) => (s === null ? null : JSON.parse(s));
    expect(row.kind).toBe('labels');
    expect(payload).toMatchObject({
      observationId: row.observation_id,
      detectionId: row.detection_id,
      action: row.action,
      before: j(row.before),
      after: j(row.after),
      who: USER,
    });
    expect(payload).toMatchObject(expected);
    this.last = row.id;
    return payload;
  }

  /** No edit was written since the last one. */
  none(): void {
    expect(this.since()).toEqual([]);
  }
}

/** The queue's uncertain-first order, by the README's rule, computed here from the model boxes in the database. */
function uncertainOrder(file: string): string[] {
  return readDb(file, (db) => {
    const boxes = db
      .prepare(
        `SELECT o.id, d.confidence FROM observations o LEFT JOIN detections d
         ON d.cv_job_id = o.current_job_id AND d.deleted = 0 AND d.source = 'model'`,
      )
      .all() as { id: string; confidence: number | null }[];
    const confs = new Map<string, number[]>();
    for (const b of boxes) confs.set(b.id, [...(confs.get(b.id) ?? []), ...(b.confidence === null ? [] : [b.confidence])]);
    const priority = (c: number[]) => (c.length ? c.filter((x) => x < 0.5).length + (1 - Math.min(...c)) : 1e6);
    return [...confs].sort(([a, ca], [b, cb]) => priority(cb) - priority(ca) || (a < b ? -1 : 1)).map(([id]) => id);
  });
}

const readDb = <T>(file: string, fn: (db: Database.Database) => T): T => {
  const db = new Database(file, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
};

if (!hasChromium && process.env.CI) {
  describe('review UI in Chromium', () => {
    it('needs Chromium', () => {
      throw new Error(
        `no Chromium at ${CHROMIUM}: CI must install it (apt-get install -y chromium; .ci/run does), or the UI goes untested`,
      );
    });
  });
}

/**
 * Each test starts from its own copy of one audited database, its own `kliq-audit serve` and its own
 * browser page: no test depends on another's edits (they pass in any order, vitest --sequence.shuffle).
 */
describe.skipIf(!hasChromium)('review UI in Chromium against kliq-audit serve', () => {
  let pristine: string;
  let browser: Browser;

  beforeAll(async () => {
    ensureRendererBuilt();
    pristine = path.join(tmpDir('kliq-ui-'), 'pristine.db');
    auditInto(pristine, PHOTOS);
    browser = await launchChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
  }, 60_000);

  interface Session {
    dir: string;
    dbFile: string;
    served: Served;
    page: Page;
    pageErrors: string[];
    outbox: OutboxCursor;
    /** Observation ids in the queue's default order (uncertain first). */
    order: string[];
    idOf(file: string): string;
  }
  const sessions: Session[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) {
      await s.page.context().close();
      await s.served.stop();
    }
  }, 60_000);

  /** A fresh copy of the audited database, served, open in a new page on the queue. */
  async function session(): Promise<Session> {
    const dir = tmpDir('kliq-ui-');
    const dbFile = path.join(dir, 'ui.db');
    fs.copyFileSync(pristine, dbFile);
    const served = await startServe(dbFile, USER);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/favicon/.test(m.location().url)) pageErrors.push(`console: ${m.text()} (${m.location().url})`);
    });
    const s: Session = {
      dir,
      dbFile,
      served,
      page,
      pageErrors,
      outbox: new OutboxCursor(dbFile),
      order: uncertainOrder(dbFile),
      idOf: (file) =>
        readDb(dbFile, (db) => db.prepare('SELECT id FROM observations WHERE source_path LIKE ?').pluck().get(`%/${file}`) as string),
    };
    sessions.push(s);
    await page.goto(served.url);
    await until('12 queue rows', async () => (await page.$$('[data-testid=queue-row]')).length === 12);
    return s;
  }

  /** Opens a photo from the queue with a click on its row, and waits for its pixels and boxes. */
  async function openPhoto(page: Page, id: string): Promise<void> {
    await page.click(`[data-testid=queue-row][data-observation-id="${id}"]`);
    await until('Review of the photo', async () => (await reviewedId(page)) === id);
    await imageShown(page);
  }

  const imageShown = (page: Page) => until('the photo and its boxes', async () => photoPixelsShown(page));

  it('the queue shows the 12 photos, uncertain first (most model boxes under 0.5, then the lowest model confidence)', async () => {
    const { page, order } = await session();
    const rows = await page.$$eval('[data-testid=queue-row]', (rs) =>
      rs.map((r) => ({ id: r.getAttribute('data-observation-id')!, conf: Number(r.getAttribute('data-top-confidence') || 0) })),
    );
    expect(rows.map((r) => r.id)).toEqual(order);
    expect(await page.textContent('[data-testid=queue-total]')).toContain('12 photos');
    expect(await page.textContent('[data-testid=queue-tab-unreviewed]')).toContain('12');
    await shot(page, 'queue');
  });

  it('opens the first photo with the keyboard; moves, relabels (picker, 1–9), undoes, redoes; accepts with Space', async () => {
    const { page, order, outbox, dbFile, pageErrors } = await session();
    const [first, second] = order;
    // keyboard only: the list has the focus, its first row is active
    await page.keyboard.press('Enter');
    await until('Review of the first photo', async () => (await reviewedId(page)) === first);
    await until('the boxes', async () => (await page.$$('[data-testid=box]')).length > 0);
    await imageShown(page);
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
    const original = (await box(page, id))!;
    const close = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
      [a.x - b.x, a.y - b.y, a.width - b.width, a.height - b.height].every((d) => Math.abs(d) < 0.051);
    const edit = { observationId: first, detectionId: id, action: 'update' };

    // select by click
    await page.mouse.click(target!.cx, target!.cy);
    await until(
      'the box selected',
      async () => (await page.getAttribute(`[data-testid=box][data-id="${id}"]`, 'data-selected')) === 'true',
    );
    expect(await page.$$('[data-testid^=handle-]')).toHaveLength(8); // 4 corners, 4 edge midpoints
    outbox.none(); // selecting is no edit

    // move by dragging it
    await page.mouse.move(target!.cx, target!.cy);
    await page.mouse.down();
    await page.mouse.move(target!.cx + 30, target!.cy + 20, { steps: 6 });
    await page.mouse.move(target!.cx + 45, target!.cy + 30, { steps: 6 });
    await page.mouse.up();
    const moved = await until('the box to move', async () => {
      const b = await box(page, id);
      return b && b.x > original.x && b.y > original.y ? b : null;
    });
    expect(moved.width).toBeCloseTo(original.width, 5);
    expect(moved.height).toBeCloseTo(original.height, 5);
    await saved(page);
    const move = await outbox.one({ ...edit, before: { objectName: original.label }, after: { objectName: original.label } });
    const boxes2 = move as unknown as { before: { boundingBox: BoxInfo }; after: { boundingBox: BoxInfo } };
    expect(close(boxes2.before.boundingBox, original)).toBe(true);
    expect(close(boxes2.after.boundingBox, moved)).toBe(true);

    // relabel with the catalog picker (l, type, Enter)
    await page.keyboard.press('l');
    await page.waitForSelector('[data-testid=catalog-picker]');
    const pick = original.label === 'zebra' ? 'giraffe' : 'zebra';
    await page.keyboard.type(pick.slice(0, 4));
    await page.waitForSelector(`[data-testid=catalog-option][data-label="${pick}"][aria-selected=true]`);
    await page.keyboard.press('Enter');
    await until(`the label ${pick}`, async () => (await box(page, id))?.label === pick);
    expect(await page.$('[data-testid=catalog-picker]')).toBeNull();
    await saved(page);
    await outbox.one({ ...edit, before: { objectName: original.label }, after: { objectName: pick } });

    // relabel with a number key (1–9 = the most used labels)
    const keys = await page.$$eval('[data-testid=label-key]', (bs) => bs.map((b) => b.getAttribute('data-label')!));
    expect(keys.length).toBeGreaterThan(1);
    const k = keys.findIndex((l) => l !== pick && l !== original.label);
    const keyLabel = keys[k];
    await page.keyboard.press(String(k + 1));
    await until(`the label ${keyLabel}`, async () => (await box(page, id))?.label === keyLabel);
    await saved(page);
    await outbox.one({ ...edit, before: { objectName: pick }, after: { objectName: keyLabel } });

    // undo, redo
    await page.keyboard.press('Control+z');
    await until('undo back to the picked label', async () => (await box(page, id))?.label === pick);
    await saved(page);
    await outbox.one({ ...edit, before: { objectName: keyLabel }, after: { objectName: pick } });
    await page.keyboard.press('Control+Shift+z');
    await until('redo to the number-key label', async () => (await box(page, id))?.label === keyLabel);
    await saved(page);
    const redo = await outbox.one({ ...edit, before: { objectName: pick }, after: { objectName: keyLabel } });
    expect(close((redo.after as { boundingBox: BoxInfo }).boundingBox, moved)).toBe(true);
    const after = (await box(page, id))!;
    expect([after.x, after.y]).toEqual([moved.x, moved.y]);

    // accept with Space: reviewed, next photo
    await page.keyboard.press('Space');
    await until('the second photo', async () => (await reviewedId(page)) === second);
    await saved(page);
    await outbox.one({ observationId: first, detectionId: null, action: 'review', after: { review: 'reviewed' } });
    outbox.none();
    expect(pageErrors).toEqual([]);

    // in SQLite: the corrections (detection, before, after, who), the box and the review state
    readDb(dbFile, (db) => {
      const rows = db
        .prepare('SELECT id, observation_id, detection_id, action, before, after, who FROM corrections ORDER BY id')
        .all() as CorrectionRow[];
      expect(rows.map((r) => [r.observation_id, r.detection_id, r.action])).toEqual([
        ...Array(5).fill([first, id, 'update']),
        [first, null, 'review'],
      ]);
      expect(rows.every((r) => r.who === USER)).toBe(true);
      const obs = db.prepare('SELECT review_status, flag_reason, reviewed_by FROM observations WHERE id = ?').get(first);
      expect(obs).toEqual({ review_status: 'reviewed', flag_reason: null, reviewed_by: USER });
      const d = db.prepare('SELECT object_name, x, y, deleted, corrected FROM detections WHERE id = ?').get(id) as Record<string, number>;
      expect(d).toMatchObject({ object_name: keyLabel, deleted: 0, corrected: 1 });
      expect(Math.abs(d.x - moved.x)).toBeLessThan(0.051);
    });
  });

  it('draws (w), deletes and restores a box (undo)', async () => {
    const { page, order, outbox, dbFile } = await session();
    const obs = order[1];
    await openPhoto(page, obs);
    await page.keyboard.press('Escape');
    const before = (await boxes(page)).map((b) => b.id);
    const vp = (await page.locator(PHOTO).boundingBox())!;
    await page.keyboard.press('w');
    await page.mouse.move(vp.x + vp.width * 0.1, vp.y + vp.height * 0.1);
    await page.mouse.down();
    await page.mouse.move(vp.x + vp.width * 0.3, vp.y + vp.height * 0.25, { steps: 8 });
    await page.mouse.up();
    const added = await until('the drawn box', async () => (await boxes(page)).find((b) => !before.includes(b.id)));
    expect(await page.getAttribute(`[data-testid=box][data-id="${added.id}"]`, 'data-selected')).toBe('true');
    await saved(page);
    const add = await outbox.one({ observationId: obs, detectionId: added.id, action: 'add', before: null });
    expect((add.after as { objectName: string }).objectName).toBe(added.label);
    await page.keyboard.press('Delete');
    await until('the box deleted', async () => !(await box(page, added.id)));
    await saved(page);
    await outbox.one({ observationId: obs, detectionId: added.id, action: 'delete', after: null });
    await page.keyboard.press('Control+z');
    await until('the box restored', async () => !!(await box(page, added.id)));
    await saved(page);
    const restore = await outbox.one({ observationId: obs, detectionId: added.id, action: 'restore' });
    expect(restore.after).toEqual(add.after);
    outbox.none();
    readDb(dbFile, (db) => {
      expect(db.prepare('SELECT deleted, source FROM detections WHERE id = ?').get(added.id)).toEqual({ deleted: 0, source: 'user' });
      expect(db.prepare('SELECT review_status FROM observations WHERE id = ?').pluck().get(obs)).toBe('unreviewed');
    });
  });

  it('the remaining keys: Alt+1…4, → / ← between photos, [ / ], r, Backspace, Ctrl+Y, double-click, Enter', async () => {
    const { page, order, outbox, pageErrors } = await session();
    const [first, second] = order;
    await openPhoto(page, first);
    const screens: [string, string][] = [
      ['Alt+1', 'import-screen'],
      ['Alt+2', 'queue-screen'],
      ['Alt+4', 'summary-screen'],
      ['Alt+3', 'review-screen'],
    ];
    for (const [key, screen] of screens) {
      await page.keyboard.press(key);
      await page.waitForSelector(`[data-testid=${screen}]`);
    }
    await until('back on the same photo', async () => (await reviewedId(page)) === first);
    await imageShown(page);

    // → / ← with no box selected: next / previous photo
    await page.keyboard.press('Escape');
    await page.keyboard.press('ArrowRight');
    await until('the next photo', async () => (await reviewedId(page)) === second);
    await page.keyboard.press('ArrowLeft');
    await until('the previous photo', async () => (await reviewedId(page)) === first);
    await imageShown(page);

    // ] and [ walk the boxes
    const selected = () => page.getAttribute('[data-testid=box][data-selected=true]', 'data-id');
    await page.keyboard.press(']');
    const a = await until('a box selected', selected);
    await page.keyboard.press(']');
    const b = await until('the next box selected', async () => ((await selected()) !== a ? selected() : null));
    await page.keyboard.press('[');
    await until('the previous box selected again', async () => (await selected()) === a);
    expect(b).not.toBe(a);
    outbox.none();

    // r draws like w; Backspace deletes; Ctrl+Y redoes the undone delete
    await page.keyboard.press('Escape');
    const ids = (await boxes(page)).map((x) => x.id);
    const vp = (await page.locator(PHOTO).boundingBox())!;
    await page.keyboard.press('r');
    await page.mouse.move(vp.x + vp.width * 0.6, vp.y + vp.height * 0.6);
    await page.mouse.down();
    await page.mouse.move(vp.x + vp.width * 0.8, vp.y + vp.height * 0.8, { steps: 8 });
    await page.mouse.up();
    const drawn = await until('the box drawn with r', async () => (await boxes(page)).find((x) => !ids.includes(x.id)));
    await saved(page);
    await outbox.one({ observationId: first, detectionId: drawn.id, action: 'add' });
    await page.keyboard.press('Backspace');
    await until('deleted with Backspace', async () => !(await box(page, drawn.id)));
    await saved(page);
    await outbox.one({ detectionId: drawn.id, action: 'delete' });
    await page.keyboard.press('Control+z');
    await until('restored', async () => !!(await box(page, drawn.id)));
    await saved(page);
    await outbox.one({ detectionId: drawn.id, action: 'restore' });
    await page.keyboard.press('Control+y');
    await until('deleted again by Ctrl+Y', async () => !(await box(page, drawn.id)));
    await saved(page);
    await outbox.one({ detectionId: drawn.id, action: 'delete' });

    // double-click on a box opens the catalog picker; Escape closes it, no edit
    const target = await page.evaluate(() => {
      for (const rect of document.querySelectorAll<SVGRectElement>('[data-testid=box] rect[data-box-id]')) {
        const r = rect.getBoundingClientRect();
        const [cx, cy] = [r.left + r.width / 2, r.top + r.height / 2];
        if (r.width > 10 && r.height > 10 && document.elementFromPoint(cx, cy) === rect) return { cx, cy };
      }
      return null;
    });
    expect(target, 'a box to double-click').not.toBeNull();
    await page.mouse.dblclick(target!.cx, target!.cy);
    await page.waitForSelector('[data-testid=catalog-picker]');
    await page.keyboard.press('Escape');
    await until('the picker closed', async () => !(await page.$('[data-testid=catalog-picker]')));
    outbox.none();

    // Enter accepts, like Space
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    await until('the next photo after Enter', async () => (await reviewedId(page)) === second);
    await saved(page);
    await outbox.one({ observationId: first, detectionId: null, action: 'review', after: { review: 'reviewed' } });
    outbox.none();
    expect(pageErrors).toEqual([]);
  });

  it('screenshots Review (a shelf, a box selected) and the ? overlay; docs/review.png stays small', async () => {
    const { page, idOf } = await session();
    await openPhoto(page, idOf('shelf_3.jpg'));
    await page.keyboard.press(']');
    await until('a box selected', async () => (await page.$$('[data-testid=box][data-selected=true]')).length === 1);
    await painted(page);
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
    const { page, idOf, outbox, dbFile, pageErrors } = await session();
    const shelf = idOf('shelf_3.jpg');
    await openPhoto(page, shelf);
    const zoom = () => page.textContent('[data-testid=zoom-level]');
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
    // Space used to pan does not accept: the keys after it are handled on this photo, and nothing is saved
    await page.keyboard.press('f');
    await until('fit again', async () => (await zoom())?.startsWith('Fit'));
    expect(await reviewedId(page)).toBe(shelf);
    expect(await page.getAttribute('[data-testid=save-status]', 'data-state')).toBe('idle');
    outbox.none();

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
    const edit = { observationId: shelf, detectionId: sel, action: 'update' };
    const at = (p: OutboxPayload) => (p.after as { boundingBox: BoxInfo }).boundingBox;
    await page.keyboard.press('ArrowRight');
    await until('nudged 1 px right', async () => (await box(page, sel))?.x === b0.x + 1);
    await saved(page);
    expect(at(await outbox.one(edit))).toMatchObject({ x: b0.x + 1, y: b0.y });
    await page.keyboard.press('Shift+ArrowDown');
    await until('nudged 10 px down', async () => (await box(page, sel))?.y === b0.y + 10);
    await saved(page);
    expect(at(await outbox.one(edit))).toMatchObject({ x: b0.x + 1, y: b0.y + 10 });
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
    expect(at(await outbox.one(edit)).width).toBeCloseTo(resized.width, 5);
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Control+z');
      await saved(page);
      await outbox.one(edit);
    }
    await until('back to the original box', async () => {
      const b = await box(page, sel);
      return b && b.x === b0.x && b.y === b0.y && b.width === b0.width && b.height === b0.height;
    });
    readDb(dbFile, (db) => {
      const rows = db.prepare('SELECT action FROM corrections WHERE detection_id = ? ORDER BY id').pluck().all(sel);
      const det = db.prepare('SELECT x, y, width, height FROM detections WHERE id = ?').get(sel) as BoxInfo;
      expect(rows).toEqual(Array(6).fill('update'));
      expect(det.x).toBeCloseTo(b0.x, 5);
      expect(det.y).toBeCloseTo(b0.y, 5);
      expect(det.width).toBeCloseTo(b0.width, 5);
      expect(det.height).toBeCloseTo(b0.height, 5);
    });

    // flag with a reason, then the next photo
    await page.keyboard.press('x');
    await page.waitForSelector('[data-testid=flag-prompt]');
    await page.keyboard.type('price labels unreadable');
    await page.keyboard.press('Enter');
    await until('the next photo', () => movedOn(page, shelf));
    await saved(page);
    await outbox.one({ observationId: shelf, detectionId: null, action: 'review', after: { review: 'flagged' } });
    readDb(dbFile, (db) =>
      expect(db.prepare('SELECT review_status, flag_reason FROM observations WHERE id = ?').get(shelf)).toEqual({
        review_status: 'flagged',
        flag_reason: 'price labels unreadable',
      }),
    );
    // and back: a is the previous photo, which shows its flag
    await page.keyboard.press('a');
    await until('the flagged photo again', async () => (await reviewedId(page)) === shelf);
    await until('its flag shown', async () => (await page.textContent('[data-testid=review-state]')) === 'flagged');
    outbox.none();
    expect(pageErrors).toEqual([]);
  });

  it('an edit the engine refuses is shown, and the photo is reloaded from the engine', async () => {
    const { page, order, outbox, dbFile } = await session();
    await openPhoto(page, order[0]);
    await page.keyboard.press('Escape');
    await page.keyboard.press(']');
    const id = Number(await until('a selected box', () => page.getAttribute('[data-testid=box][data-selected=true]', 'data-id')));
    const label = (await box(page, id))!.label;
    // someone else deletes that box behind the UI's back
    const rw = new Database(dbFile);
    rw.pragma('busy_timeout = 5000');
    rw.prepare('UPDATE detections SET deleted = 1 WHERE id = ?').run(id);
    rw.close();
    // the number keys come with the catalog: wait for them (under load they may not be there yet)
    const keys = await until('the label keys', async () => {
      const k = await page.$$eval('[data-testid=label-key]', (bs) => bs.map((b) => b.getAttribute('data-label')!));
      return k.some((l) => l !== label) ? k : null;
    });
    await page.keyboard.press(String(keys.findIndex((l) => l !== label) + 1));
    await until('the error shown', async () => (await page.getAttribute('[data-testid=save-status]', 'data-state')) === 'error');
    expect(await page.textContent('[data-testid=save-status]')).toMatch(/deleted/);
    await until('the photo reloaded without the box', async () => !(await box(page, id)));
    readDb(dbFile, (db) => {
      expect(db.prepare('SELECT object_name FROM detections WHERE id = ?').pluck().get(id)).toBe(label);
      expect(db.prepare('SELECT count(*) FROM corrections').pluck().get()).toBe(0);
    });
    outbox.none(); // a refused edit sends nothing
  });

  it('Summary shows the batch of the current queue', async () => {
    const { page, dbFile } = await session();
    await page.click('[data-testid=nav-summary]');
    await page.waitForSelector('[data-testid=summary-screen]');
    const total = readDb(dbFile, (db) =>
      db
        .prepare('SELECT count(*) FROM detections d JOIN observations o ON d.cv_job_id = o.current_job_id WHERE d.deleted = 0')
        .pluck()
        .get(),
    );
    await until('the batch numbers', async () => (await page.textContent('[data-testid=batch-photos]')) === '12');
    expect(Number((await page.textContent('[data-testid=batch-total]'))!.replace(/\D/g, ''))).toBe(total);
    await shot(page, 'summary');
  });

  it('Import starts an audit and shows its live state, failures by reason', async () => {
    const { page, dir, dbFile, pageErrors } = await session();
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
    const [photos, failed] = readDb(dbFile, (db) => [
      db.prepare('SELECT count(*) FROM observations').pluck().get() as number,
      db.prepare("SELECT count(*) FROM observations WHERE status = 'failed'").pluck().get() as number,
    ]);
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

  it('Import can be cancelled: the photos not reached stay for the next import', async () => {
    const { page, dir, dbFile, pageErrors } = await session();
    const folder = path.join(dir, 'many');
    fs.mkdirSync(folder);
    // 80 new photos (other bytes each), enough that the cancel lands mid-run
    const dog = fs.readFileSync(path.join(GENERAL, 'dog.jpg'));
    for (let i = 0; i < 80; i++) fs.writeFileSync(path.join(folder, `d${i}.jpg`), Buffer.concat([dog, Buffer.from(`copy ${i}`)]));
    await page.click('[data-testid=nav-import]');
    await page.fill('[data-testid=import-paths]', folder);
    await page.click('[data-testid=import-start]');
    const item = page.locator('[data-testid=import-item]').first();
    await until('the import running', async () => (await item.getAttribute('data-state')) === 'running');
    await item.locator('[data-testid=import-cancel]').click();
    await until('the import cancelled', async () => (await item.getAttribute('data-state')) === 'cancelled', 60_000);
    const done = readDb(
      dbFile,
      (db) =>
        db
          .prepare(`SELECT count(*) FROM observations WHERE source_path LIKE ? AND status = 'completed'`)
          .pluck()
          .get(`${folder}/%`) as number,
    );
    expect(done).toBeLessThan(80);
    readDb(dbFile, (db) => expect(db.prepare(`SELECT count(*) FROM cv_jobs WHERE status = 'processing'`).pluck().get()).toBe(0));
    expect(pageErrors).toEqual([]);
  });

  it('the WebSocket gives nothing without the token or from another origin', async () => {
    const { served, order } = await session();
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
        });
        ws.on('message', () => {
          messages++;
          end(null);
        });
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
    const id = order[0];
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
    await served?.stop();
    served = await startServe(dbFile, 'ui-tester');
    await page.goto(served.url);
    await until('2 queue rows', async () => (await page.$$('[data-testid=queue-row]')).length === 2);
    await page.keyboard.press('Enter');
    const note = await until('the photo error', () => page.$('[data-testid=photo-error][data-status="409"]'));
    expect(await note.textContent()).toBe('The photo file changed since it was audited: re-import it');
  });

  /** Each test may run first (--sequence.shuffle): serve, and the page open on it, whatever ran before. */
  async function servedAndOpen(): Promise<Served> {
    if (!served) {
      served = await startServe(dbFile, 'ui-tester');
      await page.goto(served.url);
    }
    return served;
  }

  it('restarting serve keeps the URL valid: the same token, and the open page reconnects', async () => {
    const { url, port, token } = await servedAndOpen();
    await until('connected', async () => (await connection(page)) === 'open');
    await served!.stop();
    await until('reconnecting', async () => (await connection(page)) === 'reconnecting');
    served = await startServe(dbFile, 'ui-tester', { port });
    expect(served.url).toBe(url);
    expect(served.token).toBe(token);
    await until('reconnected', async () => (await connection(page)) === 'open');
  });

  it('a restart with --new-token tells the open page its address is no longer valid, and it stops retrying', async () => {
    const { port, token } = await servedAndOpen();
    await until('connected', async () => (await connection(page)) === 'open');
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

  // Review asks for the next page four photos before the end (to decode them ahead), and again at the end
  it('extending ahead while photos are accepted appends each photo once and skips none', async () => {
    const q = makeQueue(260);
    const order = q.visible().map((r) => r.id);
    // the server reads the queue when asked and answers a little later: accepts land meanwhile
    const slowFetch = async (offset: number, limit: number) => {
      const page = await q.fetchPage(offset, limit);
      await new Promise((r) => setTimeout(r, 5));
      return page;
    };
    const snap = new QueueSnapshot(slowFetch);
    let pos = await snap.init(0, order[0]);
    const seen: string[] = [];
    for (;;) {
      const cur = snap.items[pos].observationId;
      seen.push(cur);
      q.rows.find((r) => r.id === cur)!.review = 'reviewed';
      snap.markChanged(cur);
      // as ReviewScreen's prefetch: not awaited
      if (pos + 4 >= snap.items.length) void snap.extendForward();
      if (pos + 1 >= snap.items.length && !(await snap.extendForward())) break;
      pos++;
    }
    expect(new Set(snap.items.map((i) => i.observationId)).size).toBe(snap.items.length);
    expect(seen).toEqual(order);
  });
});
