/**
 * Review at auditor speed (issue 13), in Chromium against `kliq-audit serve` on a real audited database
 * (dog.jpg: 11 boxes of 6 labels, several overlapping; fruits.jpg: boxes at the photo's top edge): the box
 * list and its hover, hide and lock of a label, "verified", arrow-key nudges coalesced into one edit, sticky
 * draw mode, double-click on a box's name, edge handles, and labels that are whole and never overlap.
 * What the screen does is checked in the SQLite file (better-sqlite3, read-only beside serve).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERAL, tmpDir } from './helpers';
import {
  CHROMIUM,
  auditInto,
  ensureRendererBuilt,
  launchChromium,
  PHOTO,
  photoPixelsShown,
  startServe,
  type Served,
  until,
} from './ui-helpers';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`UI tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);

const USER = 'rep_boxes';

const readDb = <T>(file: string, fn: (db: Database.Database) => T): T => {
  const db = new Database(file, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
};

interface DbBox {
  id: number;
  object_name: string;
  confidence: number;
  x: number;
  y: number;
  width: number;
  height: number;
  source: string;
  verified: number;
  version: number;
}

interface Session {
  page: Page;
  obs: string;
  /** The photo's current boxes in the database. */
  dets(): DbBox[];
  det(id: number): DbBox;
  counts(): { corrections: number; outbox: number };
  lastCorrection(): { detection_id: number; action: string; before: unknown; after: unknown };
  errors: string[];
}

describe.skipIf(!hasChromium)('Review at auditor speed: the box list, the canvas, nudges', () => {
  let pristine: string;
  let browser: Browser;
  const served: Served[] = [];

  beforeAll(async () => {
    ensureRendererBuilt();
    const dir = tmpDir();
    const photos = path.join(dir, 'photos');
    fs.mkdirSync(photos);
    for (const f of ['dog.jpg', 'fruits.jpg']) fs.copyFileSync(path.join(GENERAL, f), path.join(photos, f));
    pristine = path.join(dir, 'pristine.db');
    auditInto(pristine, photos);
    browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    for (const s of served) await s.stop();
  });

  /** Opens the photo from the queue (the page must show the queue) and waits for its pixels and boxes. */
  async function openPhoto(page: Page, obs: string): Promise<void> {
    await until('the queue', async () => (await page.$$('[data-testid=queue-row]')).length === 2);
    await page.click(`[data-testid=queue-row][data-observation-id="${obs}"]`);
    await photoShown(page, obs);
  }

  async function photoShown(page: Page, obs: string): Promise<void> {
    await until('the photo with its boxes', async () => {
      const ready = await page.getAttribute('[data-testid=review-screen]', 'data-ready');
      const id = await page.getAttribute('[data-testid=review-screen]', 'data-observation-id');
      const img = await photoPixelsShown(page);
      return ready === 'true' && id === obs && img && (await page.$$('[data-testid=box]')).length > 0;
    });
  }

  /** A fresh copy of the audited database, served, with `photo` open in Review. */
  async function session(photo: string): Promise<Session> {
    const dbFile = path.join(tmpDir(), 'boxes.db');
    fs.copyFileSync(pristine, dbFile);
    const s = await startServe(dbFile, USER);
    served.push(s);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const obs = readDb(
      dbFile,
      (db) => db.prepare('SELECT id FROM observations WHERE source_path LIKE ?').pluck().get(`%/${photo}`) as string,
    );
    await page.goto(s.url);
    await openPhoto(page, obs);
    const dets = () =>
      readDb(
        dbFile,
        (db) =>
          db
            .prepare(
              `SELECT d.id, d.object_name, d.confidence, d.x, d.y, d.width, d.height, d.source, d.verified, d.version
               FROM detections d JOIN observations o ON d.cv_job_id = o.current_job_id WHERE o.id = ? AND d.deleted = 0`,
            )
            .all(obs) as DbBox[],
      );
    return {
      page,
      obs,
      dets,
      det: (id) => readDb(dbFile, (db) => db.prepare('SELECT * FROM detections WHERE id = ?').get(id) as DbBox),
      counts: () =>
        readDb(dbFile, (db) => ({
          corrections: db.prepare('SELECT count(*) FROM corrections').pluck().get() as number,
          outbox: db.prepare(`SELECT count(*) FROM outbox WHERE kind = 'labels'`).pluck().get() as number,
        })),
      lastCorrection: () =>
        readDb(dbFile, (db) => {
          const r = db.prepare('SELECT detection_id, action, before, after FROM corrections ORDER BY id DESC LIMIT 1').get() as {
            detection_id: number;
            action: string;
            before: string;
            after: string;
          };
          return { ...r, before: JSON.parse(r.before) as unknown, after: JSON.parse(r.after) as unknown };
        }),
      errors,
    };
  }

  const saved = (page: Page) =>
    until('the edits saved', async () => (await page.getAttribute('[data-testid=save-status]', 'data-state')) === 'saved');
  const selectedId = async (page: Page) => Number((await page.getAttribute('[data-testid=box][data-selected=true]', 'data-id')) ?? NaN);
  const hovered = (page: Page, what: 'box' | 'box-row') =>
    page.$$eval(`[data-testid=${what}][data-hovered=true]`, (es) => es.map((e) => Number(e.getAttribute('data-id'))));
  /** The photo's scale on screen and its top-left corner. */
  const imageRect = async (page: Page) => (await page.locator(PHOTO).boundingBox())!;

  /** A point of the box where the box itself is what the pointer meets (no other box or name over it). */
  const spotOf = (page: Page, id: number) =>
    page.evaluate((boxId) => {
      const g = document.querySelector(`[data-testid=box][data-id="${boxId}"]`)!;
      const r = g.querySelector('rect[data-box-id]')!.getBoundingClientRect();
      for (let i = 1; i < 8; i++)
        for (let j = 1; j < 8; j++) {
          const [x, y] = [r.left + (r.width * i) / 8, r.top + (r.height * j) / 8];
          if (document.elementFromPoint(x, y)?.closest('[data-testid=box]') === g) return { x, y };
        }
      return null;
    }, id);

  /** Selects a box with a click on the photo. */
  const clickBox = async (page: Page, id: number) => {
    const p = await spotOf(page, id);
    expect(p, `a point of box ${id} to click`).not.toBeNull();
    await page.mouse.click(p!.x, p!.y);
    await until(`box ${id} selected`, async () => (await selectedId(page)) === id);
  };

  it('lists every box with its label and score, highest first; hovering a row highlights its box and the other way round', async () => {
    const { page, dets, errors } = await session('dog.jpg');
    const db = dets().sort((a, b) => b.confidence - a.confidence || a.id - b.id);
    expect(db.length).toBeGreaterThanOrEqual(8);
    const rows = await page.$$eval('[data-testid=box-row]', (rs) =>
      rs.map((r) => [Number(r.getAttribute('data-id')), r.getAttribute('data-label'), r.querySelector('.score')!.textContent]),
    );
    expect(rows).toEqual(db.map((d) => [d.id, d.object_name, d.confidence.toFixed(2)]));

    // a row hovered: its box is highlighted on the photo, and only it
    const row = db[3];
    await page.hover(`[data-testid=box-row][data-id="${row.id}"]`);
    await until('its box highlighted', async () => (await hovered(page, 'box')).join() === String(row.id));
    expect(await hovered(page, 'box-row')).toEqual([row.id]);

    // a box hovered on the photo: its row is highlighted
    let spot: { id: number; x: number; y: number } | null = null;
    for (const d of db) {
      const p = d.id === row.id ? null : await spotOf(page, d.id);
      if (p) {
        spot = { id: d.id, ...p };
        break;
      }
    }
    expect(spot, 'a box the pointer can reach').not.toBeNull();
    await page.mouse.move(spot!.x, spot!.y, { steps: 4 });
    await until('its row highlighted', async () => (await hovered(page, 'box-row')).join() === String(spot!.id));
    expect(await hovered(page, 'box')).toEqual([spot!.id]);

    // a click on a row selects its box
    await page.click(`[data-testid=box-row][data-id="${row.id}"]`);
    await until('the box selected', async () => (await selectedId(page)) === row.id);
    expect(await page.getAttribute(`[data-testid=box-row][data-id="${row.id}"]`, 'data-selected')).toBe('true');
    expect(errors).toEqual([]);
  });

  it('hides and locks a label: hidden boxes are not drawn, locked ones cannot be selected, moved, deleted; kept per session', async () => {
    const { page, dets, obs, errors } = await session('dog.jpg');
    const db = dets();
    const n = (label: string) => db.filter((d) => d.object_name === label).length;
    const labels = await page.$$eval('[data-testid=label-row]', (rs) =>
      rs.map((r) => [r.getAttribute('data-label')!, Number(r.querySelector('.muted')!.textContent)] as const),
    );
    expect(new Map(labels)).toEqual(new Map([...new Set(db.map((d) => d.object_name))].map((l) => [l, n(l)])));
    expect(n('bicycle')).toBeGreaterThan(1);
    expect(n('car')).toBeGreaterThan(1);
    const drawn = async (label?: string) => (await page.$$(`[data-testid=box]${label ? `[data-label="${label}"]` : ''}`)).length;

    // hide the bicycles: not drawn, still listed
    await page.click('[data-testid=label-row][data-label=bicycle] [data-testid=label-hide]');
    await until('the bicycles hidden', async () => (await drawn('bicycle')) === 0);
    expect(await drawn()).toBe(db.length - n('bicycle'));
    expect(await page.$$('[data-testid=box-row]')).toHaveLength(db.length);

    // lock the cars: drawn, but a click, a drag, ] or their row never selects them, nor does Delete reach them
    await page.click('[data-testid=label-row][data-label=car] [data-testid=label-lock]');
    await until('the cars locked', async () => (await page.$$('[data-testid=box][data-label=car][data-locked=true]')).length === n('car'));
    const cars = db.filter((d) => d.object_name === 'car');
    for (const car of cars) {
      const r = (await page.locator(`[data-testid=box][data-id="${car.id}"] rect:not(.halo)`).boundingBox())!;
      await page.mouse.click(r.x + r.width / 2, r.y + r.height / 2);
      await page.mouse.move(r.x + r.width / 2, r.y + r.height / 2);
      await page.mouse.down();
      await page.mouse.move(r.x + r.width / 2 + 40, r.y + r.height / 2 + 30, { steps: 5 });
      await page.mouse.up();
      await page.click(`[data-testid=box-row][data-id="${car.id}"]`);
      expect(cars.map((c) => c.id)).not.toContain(await selectedId(page));
    }
    const seen = new Set<number>();
    for (let i = 0; i <= db.length; i++) {
      await page.keyboard.press(']');
      seen.add(await until('a box selected', async () => (await selectedId(page)) || null));
    }
    const selectable = db.filter((d) => d.object_name !== 'bicycle' && d.object_name !== 'car').map((d) => d.id);
    expect([...seen].sort()).toEqual([...selectable].sort());
    await page.keyboard.press('Delete');
    await until('the edits written', async () => (await page.getAttribute('[data-testid=save-status]', 'data-state')) !== 'saving');
    const now = dets();
    for (const car of cars) expect(now.find((d) => d.id === car.id)).toEqual(car);

    // the view is kept for the session (a reload), and undone with the same switches
    await page.reload();
    await photoShown(page, obs); // the reload comes back to Review on this photo (the place is in the URL)
    expect(await drawn('bicycle')).toBe(0);
    expect(await page.$$('[data-testid=box][data-label=car][data-locked=true]')).toHaveLength(n('car'));
    await page.click('[data-testid=label-row][data-label=bicycle] [data-testid=label-hide]');
    await page.click('[data-testid=label-row][data-label=car] [data-testid=label-lock]');
    await until('the bicycles back', async () => (await drawn('bicycle')) === n('bicycle'));
    expect(await page.$$('[data-testid=box][data-locked=true]')).toHaveLength(0);
    expect(errors).toEqual([]);
  });

  it('v and the row checkbox mark a box verified in the database (a correction and an outbox row each); Ctrl+Z takes it back', async () => {
    const { page, dets, counts, lastCorrection, errors } = await session('dog.jpg');
    const [a, b] = dets().sort((x, y) => y.confidence - x.confidence);
    const c0 = counts();
    await page.click(`[data-testid=box-row][data-id="${a.id}"]`);
    await page.keyboard.press('v');
    await until('a verified in the database', async () => dets().find((d) => d.id === a.id)!.verified === 1);
    await saved(page);
    expect(await page.isChecked(`[data-testid=box-row][data-id="${a.id}"] [data-testid=box-verified]`)).toBe(true);
    expect(counts()).toEqual({ corrections: c0.corrections + 1, outbox: c0.outbox + 1 });
    expect(lastCorrection()).toMatchObject({
      detection_id: a.id,
      action: 'update',
      before: { verified: false },
      after: { verified: true },
    });

    await page.check(`[data-testid=box-row][data-id="${b.id}"] [data-testid=box-verified]`);
    await until('b verified in the database', async () => dets().find((d) => d.id === b.id)!.verified === 1);
    await saved(page);
    expect(counts()).toEqual({ corrections: c0.corrections + 2, outbox: c0.outbox + 2 });
    // the checkbox keeps the focus, and the review keys still work: Ctrl+Z undoes that mark
    await page.keyboard.press('Control+z');
    await until('b unverified in the database', async () => dets().find((d) => d.id === b.id)!.verified === 0);
    await saved(page);
    expect(await page.isChecked(`[data-testid=box-row][data-id="${b.id}"] [data-testid=box-verified]`)).toBe(false);
    expect(dets().find((d) => d.id === a.id)!.verified).toBe(1);
    expect(errors).toEqual([]);
  });

  it('six ArrowRight presses are one edit (one correction, one outbox row); one Ctrl+Z puts the box back', async () => {
    const { page, det, dets, counts, lastCorrection, errors } = await session('dog.jpg');
    const dog = dets().find((d) => d.object_name === 'dog')!;
    await clickBox(page, dog.id);
    const onScreen = async () => Number(await page.getAttribute(`[data-testid=box][data-id="${dog.id}"] rect[data-box-id]`, 'x'));
    const c0 = counts();
    for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowRight');
    // on screen at every press; written once the presses stop
    await until('the box moved on screen', async () => (await onScreen()) === dog.x + 6);
    await saved(page);
    expect(counts()).toEqual({ corrections: c0.corrections + 1, outbox: c0.outbox + 1 });
    expect(lastCorrection()).toMatchObject({
      detection_id: dog.id,
      action: 'update',
      before: { boundingBox: { x: dog.x, y: dog.y } },
      after: { boundingBox: { x: dog.x + 6, y: dog.y } },
    });
    expect(det(dog.id)).toMatchObject({ x: dog.x + 6, y: dog.y, version: dog.version + 1 });

    // one undo step for the six presses
    await page.keyboard.press('Control+z');
    await until('back in the database', async () => det(dog.id).x === dog.x);
    await saved(page);
    expect(await onScreen()).toBe(dog.x);
    expect(counts()).toEqual({ corrections: c0.corrections + 2, outbox: c0.outbox + 2 });

    // nudges cut short by the next photo are not lost
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('a');
    await until('the nudges written', async () => det(dog.id).y === dog.y + 3);
    expect(counts()).toEqual({ corrections: c0.corrections + 3, outbox: c0.outbox + 3 });
    expect(errors).toEqual([]);
  });

  it('draws box after box in draw mode (crosshair, guide lines) until Esc', async () => {
    const { page, dets, errors } = await session('dog.jpg');
    const drawnBoxes = () => dets().filter((d) => d.source === 'user');
    const img = await imageRect(page);
    const at = (fx: number, fy: number) => [img.x + img.width * fx, img.y + img.height * fy] as const;
    const drag = async (from: readonly [number, number], to: readonly [number, number]) => {
      await page.mouse.move(...from);
      await page.mouse.down();
      await page.mouse.move(...to, { steps: 6 });
      await page.mouse.up();
    };
    await page.keyboard.press('w');
    await page.mouse.move(...at(0.05, 0.8), { steps: 3 });
    await until('the guide lines', async () => !!(await page.$('[data-testid=draw-guides]')));
    expect(await page.$eval('[data-testid=review-viewport]', (v) => getComputedStyle(v).cursor)).toBe('crosshair');
    await drag(at(0.05, 0.8), at(0.15, 0.95));
    await until('the first box', async () => drawnBoxes().length === 1);
    // no key again: the next drag draws the next box
    await drag(at(0.8, 0.8), at(0.95, 0.95));
    await until('the second box', async () => drawnBoxes().length === 2);
    await saved(page);
    expect(await page.$('.mode-hint')).not.toBeNull();

    await page.keyboard.press('Escape');
    await until('draw mode left', async () => !(await page.$('.mode-hint')));
    expect(await page.$('[data-testid=draw-guides]')).toBeNull();
    // a drag on the background now pans (the view leaves "Fit"): no box
    await drag(at(0.005, 0.005), at(0.05, 0.05));
    await until('the view panned', async () => !(await page.textContent('[data-testid=zoom-level]'))!.startsWith('Fit'));
    await saved(page);
    expect(drawnBoxes()).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it("a double-click on a box's name opens the label picker for that box", async () => {
    const { page, dets, det, errors } = await session('dog.jpg');
    const dog = dets().find((d) => d.object_name === 'dog')!;
    const name = page.locator(`[data-testid=box-name][data-id="${dog.id}"]`);
    const r = (await name.boundingBox())!;
    expect(r, "the dog's name drawn").not.toBeNull();
    await page.mouse.dblclick(r.x + r.width / 2, r.y + r.height / 2);
    await page.waitForSelector('[data-testid=catalog-picker]', { timeout: 5000 });
    expect(await selectedId(page)).toBe(dog.id);
    await page.keyboard.type('wolf');
    await page.waitForSelector('[data-testid=catalog-option][data-label=wolf][aria-selected=true]');
    await page.keyboard.press('Enter');
    await until('the dog relabelled in the database', async () => det(dog.id).object_name === 'wolf');
    expect(errors).toEqual([]);
  });

  it('an edge handle drag moves only that edge, in the database', async () => {
    const { page, dets, det, errors } = await session('dog.jpg');
    const dog = dets().find((d) => d.object_name === 'dog')!;
    await clickBox(page, dog.id);
    const scale = (await imageRect(page)).width / 768;
    const dragHandle = async (h: string, dx: number, dy: number) => {
      const b = (await page.locator(`[data-testid=handle-${h}]`).boundingBox())!;
      await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
      await page.mouse.down();
      await page.mouse.move(b.x + b.width / 2 + dx, b.y + b.height / 2 + dy, { steps: 6 });
      await page.mouse.up();
    };
    // the right edge: only the width changes (a vertical wobble of the pointer does nothing)
    await dragHandle('e', 40, 15);
    await until('the width written', async () => det(dog.id).width !== dog.width);
    const e = det(dog.id);
    expect([e.x, e.y, e.height]).toEqual([dog.x, dog.y, dog.height]);
    expect(Math.abs(e.width - (dog.width + 40 / scale))).toBeLessThan(1.5);
    // the top edge: only y and the height, the bottom stays
    await dragHandle('n', 10, -30);
    await until('the top written', async () => det(dog.id).y !== dog.y);
    const n = det(dog.id);
    expect([n.x, n.width, n.y + n.height]).toEqual([e.x, e.width, dog.y + dog.height]);
    expect(Math.abs(n.y - (dog.y - 30 / scale))).toBeLessThan(1.5);
    expect(errors).toEqual([]);
  });

  it('names on boxes are never cut off at the top edge (drawn inside the box) and never overlap', async () => {
    const { page, dets, errors } = await session('fruits.jpg');
    const check = async () => {
      const img = await imageRect(page);
      const names = await page.$$eval('[data-testid=box-name]', (ts) =>
        ts.map((t) => {
          const r = t.getBoundingClientRect();
          return { id: Number(t.getAttribute('data-id')), x0: r.left, y0: r.top, x1: r.right, y1: r.bottom };
        }),
      );
      expect(names.length).toBeGreaterThan(2);
      for (const a of names) {
        expect(a.y0, `the name of box ${a.id} within the photo`).toBeGreaterThanOrEqual(img.y - 0.5);
        for (const b of names) {
          if (a === b) continue;
          const overlap = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > 0.5 && Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > 0.5;
          expect(overlap, `names of boxes ${a.id} and ${b.id} overlap`).toBe(false);
        }
      }
      return names;
    };
    const names = await check();
    // the boxes at y = 0 whose name is drawn have it inside
    const top = dets().filter((d) => d.y === 0);
    expect(top.length).toBeGreaterThan(0);
    const inside = names.filter((n) => top.some((d) => d.id === n.id));
    expect(inside.length).toBeGreaterThan(0);
    for (const n of inside) expect(await page.getAttribute(`[data-testid=box-name][data-id="${n.id}"]`, 'data-inside')).toBe('true');

    // the dog photo: cars and a truck on top of each other
    await page.keyboard.press('Escape');
    await page.keyboard.press('d');
    await until('the dog photo', async () => (await page.$$('[data-testid=box-row]')).length === 11);
    await until('the dog photo shown', () => photoPixelsShown(page));
    await check();
    expect(errors).toEqual([]);
  });
});
