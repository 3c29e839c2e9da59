/**
 * Review you can trust (issue 11): versions, re-audits, client edit ids, "corrected" meaning "differs
 * from the model", failed photos, uncertainty, filters, limits, and our databases only. Each test
 * builds its own database from real photos.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { APPLICATION_ID, openDb, type Db } from '../src/main/engine/db';
import { runAudit } from '../src/main/engine/audit';
import { EngineHost } from '../src/main/engine/host';
import { createRpcHandler } from '../src/main/engine/rpc';
import { ConflictError, ConfigError } from '../src/main/engine/errors';
import { GENERAL, ROOT, SHELVES, tmpDir } from './helpers';

async function audited(files: string[], extra: Parameters<typeof runAudit>[0] extends infer O ? Partial<O> : never = {}) {
  const db = openDb(path.join(tmpDir(), 'trust.db'));
  await runAudit({ paths: files, db, provider: 'cpu', ...extra });
  return { db, host: new EngineHost(db, { user: 'rep_jane' }) };
}
const idOf = (db: Db, file: string) =>
  (db.prepare('SELECT id FROM observations WHERE source_path LIKE ?').get(`%/${file}`) as { id: string }).id;

describe('versions: an edit made on a stale view is refused, never applied', () => {
  it("tab B's move and undo on the version tab A already changed are refused as conflicts; A's change stays", async () => {
    const { db, host } = await audited([path.join(GENERAL, 'dog.jpg')]);
    const obs = idOf(db, 'dog.jpg');
    const shown = host.review.photo({ observationId: obs }).detections[0]; // both tabs show this
    const a = host.review.updateDetection({
      detectionId: shown.id,
      version: shown.version,
      boundingBox: { ...shown.boundingBox, x: shown.boundingBox.x + 20 },
    });
    expect(a.version).toBe(shown.version + 1);
    // tab B still shows the old version: its move, and its undo to the old box, are refused
    expect(() =>
      host.review.updateDetection({ detectionId: shown.id, version: shown.version, boundingBox: { ...shown.boundingBox, y: 1 } }),
    ).toThrow(ConflictError);
    expect(() => host.review.updateDetection({ detectionId: shown.id, version: shown.version, boundingBox: shown.boundingBox })).toThrow(
      /changed elsewhere/,
    );
    expect(() => host.review.deleteDetection({ detectionId: shown.id, version: shown.version })).toThrow(ConflictError);
    expect(host.review.photo({ observationId: obs }).detections.find((d) => d.id === shown.id)!.boundingBox).toEqual(a.boundingBox);
    expect(db.prepare('SELECT count(*) AS n FROM corrections').get()).toEqual({ n: 1 });
    // the RPC layer says 'conflict'
    const r = await createRpcHandler(host)('updateDetection', { detectionId: shown.id, version: shown.version, objectName: 'cat' });
    expect(r).toMatchObject({ ok: false, error: { code: 'conflict' } });
    db.close();
  });

  it('an edit on a box of a result a re-audit replaced is refused; the rule: a re-audit replaces only untouched photos', async () => {
    const { db, host } = await audited([path.join(GENERAL, 'eagle.jpg')]);
    const obs = idOf(db, 'eagle.jpg');
    const old = host.review.photo({ observationId: obs }).detections[0];
    await runAudit({ paths: [path.join(GENERAL, 'eagle.jpg')], db, provider: 'cpu', confThreshold: 0.1 }); // not yet touched: replaced
    const now = host.review.photo({ observationId: obs }).detections;
    expect(now.some((d) => d.id === old.id)).toBe(false);
    expect(() => host.review.updateDetection({ detectionId: old.id, version: old.version, objectName: 'kite' })).toThrow(/audited again/);
    expect(db.prepare('SELECT count(*) AS n FROM corrections').get()).toEqual({ n: 0 });
    // once corrected, a re-audit keeps the auditor's result current
    const d = now[0];
    host.review.updateDetection({ detectionId: d.id, version: d.version, objectName: 'kite' });
    await runAudit({ paths: [path.join(GENERAL, 'eagle.jpg')], db, provider: 'cpu', confThreshold: 0.2 });
    expect(host.review.photo({ observationId: obs }).detections.find((x) => x.id === d.id)?.objectName).toBe('kite');
    db.close();
  });
});

describe('saved means saved', () => {
  it('an edit retried with the same client edit id (its answer was lost) is applied once', async () => {
    const { db, host } = await audited([path.join(GENERAL, 'person.jpg')]);
    const obs = idOf(db, 'person.jpg');
    const d = host.review.photo({ observationId: obs }).detections[0];
    const clientEditId = crypto.randomUUID();
    const first = host.review.updateDetection({ detectionId: d.id, version: d.version, objectName: 'statue', clientEditId });
    const retry = host.review.updateDetection({ detectionId: d.id, version: d.version, objectName: 'statue', clientEditId });
    expect(retry).toEqual(first);
    const added = host.review.addDetection({
      observationId: obs,
      objectName: 'hat',
      boundingBox: { x: 1, y: 1, width: 9, height: 9 },
      clientEditId: 'add-1',
    });
    expect(
      host.review.addDetection({
        observationId: obs,
        objectName: 'hat',
        boundingBox: { x: 1, y: 1, width: 9, height: 9 },
        clientEditId: 'add-1',
      }),
    ).toEqual(added);
    const accepted = host.review.setReview({ observationId: obs, review: 'reviewed', clientEditId: 'acc-1' });
    expect(host.review.setReview({ observationId: obs, review: 'reviewed', clientEditId: 'acc-1' })).toEqual(accepted);
    expect(db.prepare('SELECT count(*) AS n FROM corrections').get()).toEqual({ n: 3 });
    expect(db.prepare(`SELECT count(*) AS n FROM outbox WHERE kind = 'labels'`).get()).toEqual({ n: 3 });
    expect(host.review.photo({ observationId: obs }).detections.filter((x) => x.objectName === 'hat')).toHaveLength(1);
    db.close();
  });

  it('a box is corrected exactly when it differs from what the model gave; undoing every change keeps its confidence', async () => {
    const { db, host } = await audited([path.join(GENERAL, 'dog.jpg')]);
    const obs = idOf(db, 'dog.jpg');
    const d = host.review.photo({ observationId: obs }).detections[0];
    const moved = host.review.updateDetection({
      detectionId: d.id,
      version: d.version,
      objectName: 'wolf',
      boundingBox: { ...d.boundingBox, x: d.boundingBox.x + 5 },
    });
    expect(moved.corrected).toBe(true);
    const back = host.review.updateDetection({
      detectionId: d.id,
      version: moved.version,
      objectName: d.objectName,
      boundingBox: d.boundingBox,
    });
    expect(back).toMatchObject({ corrected: false, confidence: d.confidence, objectName: d.objectName, boundingBox: d.boundingBox });
    expect(db.prepare('SELECT corrected FROM detections WHERE id = ?').get(d.id)).toEqual({ corrected: 0 });
    const drawn = host.review.addDetection({ observationId: obs, objectName: 'ball', boundingBox: { x: 5, y: 5, width: 20, height: 20 } });
    expect(drawn.corrected).toBe(true);
    db.close();
  });

  it('a failed photo (no pixels) cannot be accepted; it can be flagged as unusable with a reason', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'broken.jpg'), 'not a photo');
    const { db, host } = await audited([dir]);
    const obs = idOf(db, 'broken.jpg');
    expect(() => host.review.setReview({ observationId: obs, review: 'reviewed' })).toThrow(/cannot be accepted.*Flag it/);
    expect(host.review.setReview({ observationId: obs, review: 'flagged', reason: 'not a photo' })).toMatchObject({ review: 'flagged' });
    db.close();
  });
});

describe('uncertain first must mean uncertain', () => {
  it('a shelf with many weak boxes comes before a photo with one sure box; a drawn box changes neither', async () => {
    const { db, host } = await audited([path.join(SHELVES, 'shelf_1.jpg'), path.join(GENERAL, 'giraffe.jpg')], { tiles: 2 });
    const shelf = idOf(db, 'shelf_1.jpg');
    const giraffe = idOf(db, 'giraffe.jpg');
    const shelfDets = host.review.photo({ observationId: shelf }).detections;
    expect(shelfDets.filter((d) => d.confidence < 0.5).length).toBeGreaterThan(10);
    const order = () => host.review.queue({ filter: {}, sort: 'uncertain', offset: 0, limit: 10 }).items.map((i) => i.observationId);
    expect(order()).toEqual([shelf, giraffe]);
    // with the old rule (top confidence) the shelf, whose best box is sure, sorted last
    const top = (id: string) =>
      host.review.queue({ filter: {}, sort: 'uncertain', offset: 0, limit: 10 }).items.find((i) => i.observationId === id)!.topConfidence!;
    expect(top(shelf)).toBeGreaterThan(0.5);
    const g = host.review.photo({ observationId: giraffe });
    host.review.addDetection({ observationId: giraffe, objectName: 'tree', boundingBox: { x: 1, y: 1, width: 50, height: 50 } });
    expect(host.review.photo({ observationId: giraffe }).item.topConfidence).toBe(g.item.topConfidence);
    expect(order()).toEqual([shelf, giraffe]);
    db.close();
  });

  it('the confidence filter applies to the boxes of the filtered label', async () => {
    const { db, host } = await audited([SHELVES], { tiles: 2 });
    const q = (filter: Record<string, unknown>) =>
      host.review.queue({ filter, sort: 'path', offset: 0, limit: 10 }).items.map((i) => i.fileName);
    // every shelf has bottles under 0.3, while its best box is above it
    expect(q({ label: 'bottle', confMax: 0.3 })).toEqual(['shelf_1.jpg', 'shelf_2.jpg', 'shelf_3.jpg']);
    const weakBottles = db
      .prepare(`SELECT count(*) AS n FROM detections WHERE object_name = 'bottle' AND confidence <= 0.3 AND deleted = 0`)
      .get() as { n: number };
    expect(weakBottles.n).toBeGreaterThan(0);
    expect(q({ label: 'no-such-label', confMax: 1 })).toEqual([]);
    db.close();
  });
});

describe('limits at the contract', () => {
  it('a 900 KB label, reason or query is refused with a clear error and nothing is stored', async () => {
    const { db, host } = await audited([path.join(GENERAL, 'dog.jpg')]);
    const handle = createRpcHandler(host);
    const obs = idOf(db, 'dog.jpg');
    const d = host.review.photo({ observationId: obs }).detections[0];
    const huge = 'x'.repeat(900 * 1024);
    const r1 = await handle('updateDetection', { detectionId: d.id, version: d.version, objectName: huge });
    expect(r1).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/at most 200 characters/) } });
    expect(await handle('setReview', { observationId: obs, review: 'flagged', reason: huge })).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    });
    expect(await handle('catalog', { query: huge })).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await handle('startImport', { paths: [GENERAL], location: huge })).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await handle('updateDetection', { detectionId: d.id, version: d.version, objectName: '   ' })).toMatchObject({ ok: false });
    expect(db.prepare('SELECT count(*) AS n FROM corrections').get()).toEqual({ n: 0 });
    db.close();
  });
});

describe('our databases only', () => {
  it("another program's SQLite file is refused and left untouched; an empty one becomes ours", () => {
    const dir = tmpDir();
    const foreign = path.join(dir, 'other.sqlite');
    const o = new Database(foreign);
    o.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('hello');`);
    o.close();
    const before = fs.readFileSync(foreign);
    expect(() => openDb(foreign)).toThrow(ConfigError);
    expect(() => openDb(foreign)).toThrow(/not a KLIQ Audit database \(tables notes\)/);
    expect(fs.readFileSync(foreign).equals(before)).toBe(true);
    expect(fs.existsSync(`${foreign}-wal`)).toBe(false);

    const marked = path.join(dir, 'marked.sqlite');
    const m = new Database(marked);
    m.pragma('application_id = 1234');
    m.close();
    expect(() => openDb(marked)).toThrow(/application_id 1234/);

    const empty = path.join(dir, 'empty.db');
    fs.writeFileSync(empty, '');
    const db = openDb(empty);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    db.close();
    // the CLI says so and exits 2
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, 'bin', 'kliq-audit.mjs'), 'audit', path.join(GENERAL, 'dog.jpg'), '--db', foreign],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a KLIQ Audit database/);
  });

  it('a KLIQ database made before the mark is adopted (our tables, a schema version)', () => {
    const file = path.join(tmpDir(), 'old.db');
    const db = openDb(file);
    db.pragma('application_id = 0');
    db.close();
    const again = openDb(file);
    expect(again.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    again.close();
  });
});
