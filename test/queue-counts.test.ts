/**
 * The review queue's facet counts after an edit (issue 13, db/queue-cache.ts): the counts kept per filter
 * are patched by each edit made through ReviewService (the edited photos' part before taken out, their
 * part after put in) instead of being counted again. The oracle: after every edit, every filter's counts
 * equal what a fresh count says (a new QueueCache, nothing kept), and at checkpoints what plain SQL over
 * the boxes says; an edit this process did not follow (another service, another connection) makes them
 * be counted again, never served stale.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/main/engine/db';
import { queueKeysSql, queueWhere } from '../src/main/engine/db/queries';
import { QueueCache } from '../src/main/engine/db/queue-cache';
import { ReviewService } from '../src/main/engine/review';
import { BuildingService } from '../src/main/engine/buildings';
import type { QueueFilter, ReviewDetection } from '../src/shared/rpc';
import { oracleCounts } from './queue-oracle';
import { tmpDir } from './tmp';

// a quote and a backslash: label_counts holds them escaped, and the counts must give them back as named
const LABELS = ['bottle', 'cup', 'dog', 'person', 'book', 'Äpfel', 'zebra', 'Zebra', 'car', 'price "tag"', 'back\\slash'];
const CONDITIONS = ['good', 'fair', 'poor', 'critical'] as const;

/**
 * `n` photos written by SQL: four locations (and none), visits named, empty and numeric, two models,
 * pending, processing and failed photos among the audited ones, some already reviewed or flagged, assets
 * of two buildings with grades, boxes with grades and drawn boxes, file names to search in.
 */
function generate(db: Db, n: number, seed = 11) {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)];
  const t = '2026-12-01T00:00:00.000Z';
  db.transaction(() => {
    for (const [i, name] of ['Store 1', 'Store 2', 'Äpfel Markt', 'store 1'].entries())
      db.prepare('INSERT INTO locations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)').run(`loc_${i}`, name, t, t);
    for (const b of ['North', 'South']) {
      db.prepare('INSERT INTO buildings (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)').run(`bld_${b}`, b, t, t);
      for (let a = 0; a < 3; a++)
        db.prepare('INSERT INTO assets (id, building_id, name, condition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
          `asset_${b}_${a}`,
          `bld_${b}`,
          `Asset ${a}`,
          a === 2 ? null : CONDITIONS[a + (b === 'North' ? 0 : 2)],
          t,
          t,
        );
    }
    const obs = db.prepare(`INSERT INTO observations (id, location_id, sha256, source_path, bytes, mime_type, width, height, metadata,
        status, review_status, flag_reason, created_at, updated_at) VALUES (?, ?, ?, ?, 1, 'image/jpeg', 960, 1280, ?, ?, ?, ?, ?, ?)`);
    const job = db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, provider, summary, created_at, completed_at)
      VALUES (?, ?, ?, 'completed', 'cpu', '{}', ?, ?)`);
    const det =
      db.prepare(`INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height, source, attributes)
      VALUES (?, ?, ?, ?, 10, 10, 50, 50, ?, ?)`);
    for (let i = 0; i < n; i++) {
      const id = `obs_${String(i).padStart(5, '0')}`;
      const status = i % 37 === 0 ? 'failed' : i % 41 === 0 ? 'pending' : i % 97 === 0 ? 'processing' : 'completed';
      const review = status !== 'completed' ? 'unreviewed' : pick(['unreviewed', 'unreviewed', 'unreviewed', 'reviewed', 'flagged']);
      const meta: Record<string, unknown> = {};
      const v = rnd();
      if (v < 0.6) meta.visit_id = `v${i % 7}`;
      else if (v < 0.65) meta.visit_id = '';
      else if (v < 0.7) meta.visit_id = 40 + (i % 3);
      if (rnd() < 0.4) meta.asset_id = `asset_${pick(['North', 'South'])}_${i % 3}`;
      const folder = pick(['shelves', 'shelf_day', 'street', 'C:\\scans']);
      const file = `${pick(['shelf', 'IMG', 'street_50%', 'Shelf-back', 'dsc'])}_${i}.jpg`;
      obs.run(
        id,
        i % 9 === 0 ? null : `loc_${i % 4}`,
        `sha_${i}`,
        folder.includes('\\') ? `${folder}\\${file}` : `/photos/${folder}/${file}`,
        JSON.stringify(meta),
        status,
        review,
        review === 'flagged' ? 'blurry' : null,
        t,
        t,
      );
      if (status !== 'completed') continue;
      const model = i % 5 ? 'yolox-nano-coco' : 'shelf-net';
      job.run(`job_${i}`, id, model, t, t);
      const boxes = Math.floor(rnd() * 8);
      for (let k = 0; k < boxes; k++) {
        const graded = rnd() < 0.1 ? JSON.stringify({ condition: pick(CONDITIONS) }) : '{}';
        det.run(`job_${i}`, id, pick(LABELS), Math.round(rnd() * 100) / 100, rnd() < 0.1 ? 'user' : 'model', graded);
      }
      db.prepare('UPDATE observations SET current_job_id = ?, model = ? WHERE id = ?').run(`job_${i}`, model, id);
    }
    db.exec(`UPDATE observations SET ${queueKeysSql('observations.current_job_id')} WHERE current_job_id IS NOT NULL`);
  })();
}

const FILTERS: QueueFilter[] = [
  // the facet tables answer these
  {},
  { review: 'unreviewed' },
  { review: 'flagged' },
  { label: 'dog' },
  { label: 'Äpfel', review: 'unreviewed' },
  { location: 'Store 1', label: 'cup' },
  { location: 'Äpfel Markt', visit: 'v3' },
  { model: 'shelf-net', status: 'completed' },
  // counted in SQL
  { confMin: 0.3, confMax: 0.6 },
  { confMax: 0.2, review: 'unreviewed' },
  { label: 'cup', confMin: 0.2, confMax: 0.7 },
  { label: 'zebra', confMin: 0.5, location: 'Store 2' },
  { name: 'shelf' },
  { name: '50%' },
  { name: '.' },
  { building: 'North' },
  { building: 'South', label: 'person' },
  { condition: 'poor' },
  { condition: 'good', review: 'unreviewed' },
  { asset: 'asset_North_1' },
];

describe('facet counts after an edit', () => {
  it('after 300 random edits every filter counts what a fresh count does: followed edits patched, others counted again', async () => {
    const file = path.join(tmpDir(), 'counts.db');
    const db = openDb(file);
    generate(db, 2000);
    const review = new ReviewService(db, { user: 'rep' });
    const buildings = new BuildingService(db, { user: 'rep' });
    const fresh = new QueueCache(db);
    const other = new Database(file);
    other.pragma('busy_timeout = 5000');

    // counts computed (not served from what is kept) by the service's cache
    const computed = { n: 0 };
    const count = review.queues.counts.bind(review.queues);
    review.queues.counts = (f) => {
      computed.n++;
      return count(f);
    };
    const expectFresh = (why: string) => {
      for (const filter of FILTERS)
        expect(review.queueCounts({ filter }), `${why}: ${JSON.stringify(filter)}`).toEqual(fresh.counts(filter));
    };
    const expectOracle = () => {
      for (const filter of FILTERS) expect(fresh.counts(filter), JSON.stringify(filter)).toEqual(oracleCounts(db, filter));
      // a filter counted in SQL that selects every photo counts what the facet tables say for all of them
      expect(fresh.counts({ name: '.' })).toEqual(fresh.counts({}));
    };
    expectOracle();
    expectFresh('at first');
    expect(computed.n).toBe(FILTERS.length);

    let s = 2024;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)];
    const photos = db.prepare('SELECT id FROM observations ORDER BY id').pluck().all() as string[];
    const audited = db.prepare("SELECT id FROM observations WHERE status = 'completed' ORDER BY id").pluck().all() as string[];
    const deleted: ReviewDetection[] = [];
    const done: Record<string, number> = {};
    const box = (obs: string) => pick(review.photo({ observationId: obs }).detections) as ReviewDetection | undefined;

    for (let i = 0; i < 300; i++) {
      const r = rnd();
      const obs = pick(audited);
      const d = box(obs);
      let kind: string;
      let followed = true;
      if (r < 0.12) {
        kind = 'setReview';
        review.setReview({ observationId: obs, review: pick(['reviewed', 'unreviewed', 'flagged'] as const), reason: 'glare' });
      } else if (r < 0.16) {
        kind = 'flag not audited';
        review.setReview({ observationId: pick(photos), review: 'flagged', reason: 'no result' });
      } else if (r < 0.3 && d) {
        kind = 'relabel';
        review.updateDetection({ detectionId: d.id, version: d.version, objectName: pick(LABELS) });
      } else if (r < 0.35 && d) {
        kind = 'move';
        review.updateDetection({ detectionId: d.id, version: d.version, boundingBox: { x: 2, y: 3, width: 40, height: 30 } });
      } else if (r < 0.47) {
        kind = 'add';
        review.addDetection({ observationId: obs, objectName: pick(LABELS), boundingBox: { x: 1, y: 1, width: 5, height: 5 } });
      } else if (r < 0.59 && d) {
        kind = 'delete';
        deleted.push(review.deleteDetection({ detectionId: d.id, version: d.version }));
      } else if (r < 0.69 && deleted.length) {
        kind = 'restore';
        const g = deleted.splice(Math.floor(rnd() * deleted.length), 1)[0];
        review.restoreDetection({ detectionId: g.id, version: g.version });
      } else if (r < 0.76 && d) {
        kind = 'verify';
        review.verifyDetection({ detectionId: d.id, version: d.version, verified: !d.verified });
      } else if (r < 0.86) {
        kind = 'bulkReview';
        const big = rnd() < 0.1;
        const selection = big
          ? { filter: pick(FILTERS) } // a whole queue: several transactions of BULK_BATCH photos
          : { ids: Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => pick(photos)) };
        const flag = rnd() < 0.4;
        await review.bulkReview({ selection, review: flag ? 'flagged' : 'reviewed', reason: flag ? 'bulk' : undefined, bulkId: `b${i}` });
      } else if (r < 0.92 && d) {
        kind = 'grade (BuildingService: not followed)';
        followed = false;
        buildings.setDetectionCondition({ detectionId: d.id, version: d.version, condition: pick([...CONDITIONS, null]) });
      } else if (r < 0.96) {
        kind = 'another connection: review';
        followed = false;
        other.prepare("UPDATE observations SET review_status = 'flagged', flag_reason = 'other' WHERE id = ?").run(pick(audited));
      } else {
        kind = 'another connection: box deleted';
        followed = false;
        const job = other.prepare('SELECT current_job_id FROM observations WHERE id = ?').pluck().get(obs) as string;
        other.transaction(() => {
          other
            .prepare('UPDATE detections SET deleted = 1 WHERE id = (SELECT min(id) FROM detections WHERE cv_job_id = ? AND deleted = 0)')
            .run(job);
          other.prepare(`UPDATE observations SET ${queueKeysSql('observations.current_job_id')} WHERE id = ?`).run(obs);
        })();
      }
      done[kind] = (done[kind] ?? 0) + 1;
      computed.n = 0;
      expectFresh(`after edit ${i} (${kind})`);
      // an edit made here is followed: nothing counted again; any other write: everything counted again
      expect(computed.n, `after edit ${i} (${kind})`).toBe(followed ? 0 : FILTERS.length);
      if (i % 100 === 99) expectOracle();
    }
    // every kind of edit was made, several times
    for (const kind of ['setReview', 'relabel', 'move', 'add', 'delete', 'restore', 'verify', 'bulkReview'])
      expect(done[kind]).toBeGreaterThan(5);
    expectOracle();
    other.close();
    db.close();
  }, 120_000);

  it('a confidence band or a name search counts alike directly and by its complement (the facet counts less the photos outside it)', () => {
    const db = openDb(path.join(tmpDir(), 'bands.db'));
    generate(db, 1500);
    const bands: QueueFilter[] = [
      { confMin: 0.3, confMax: 0.6 },
      { confMin: 0.05 },
      { confMax: 0.95 },
      { confMin: 0.5, confMax: 0.5 },
      { confMin: 0.99 },
      { confMin: 0.2, review: 'unreviewed' },
      { confMax: 0.8, location: 'Store 1', status: 'completed' },
      { confMin: 0.1, confMax: 0.9, location: 'Äpfel Markt', visit: 'v3' },
      { confMin: 0.1, model: 'shelf-net', review: 'flagged' },
      { confMin: 0.1, location: 'no such store' },
      // a file-name search holding most photos (every name ends in .jpg), or some of them, alone or with a band
      { name: 'jpg' },
      { name: '.JPG', review: 'unreviewed' },
      { name: 'shelf', status: 'completed' },
      { name: '_', confMin: 0.2, location: 'Store 2' },
      { name: '50%' },
    ];
    const direct = new QueueCache(db);
    direct.complementAbove = 1;
    const complement = new QueueCache(db);
    complement.complementAbove = -1;
    const chosen = new QueueCache(db);
    let outside = 0;
    for (const filter of bands) {
      const want = oracleCounts(db, filter);
      expect(direct.counts(filter), `directly: ${JSON.stringify(filter)}`).toEqual(want);
      expect(complement.counts(filter), `by complement: ${JSON.stringify(filter)}`).toEqual(want);
      expect(chosen.counts(filter), JSON.stringify(filter)).toEqual(want);
      outside += oracleCounts(db, {}).total - want.total;
    }
    // the complement of these bands was not empty: photos outside them were taken out
    expect(outside).toBeGreaterThan(1000);
    // labels with a quote and a backslash come back as named
    expect(complement.counts({ confMin: 0.05 }).labels.map((l) => l.name)).toEqual(expect.arrayContaining(['price "tag"', 'back\\slash']));
    db.close();
  });

  it("an edit after another connection's write is not patched onto counts of before it", () => {
    const file = path.join(tmpDir(), 'counts2.db');
    const db = openDb(file);
    generate(db, 400);
    const review = new ReviewService(db, { user: 'rep' });
    const filter = { confMin: 0.3, confMax: 0.6 };
    const before = review.queueCounts({ filter });
    // another process accepts a photo of the band, then this one edits another photo: its version
    // moved twice, once by a write it did not follow
    const w = queueWhere({ ...filter, review: 'unreviewed', status: 'completed' });
    const [a, b] = db.prepare(`SELECT o.id FROM observations o ${w.sql} LIMIT 2`).pluck().all(w.params) as string[];
    const other = new Database(file);
    other.prepare("UPDATE observations SET review_status = 'reviewed' WHERE id = ?").run(a);
    other.close();
    review.setReview({ observationId: b, review: 'reviewed' });
    const after = review.queueCounts({ filter });
    expect(after).toEqual(new QueueCache(db).counts(filter));
    expect(after.byReview.reviewed).toBe(before.byReview.reviewed + 2);
    db.close();
  });
});
