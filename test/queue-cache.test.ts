/**
 * The review queue's kept orders and facet tables (issue 13, db/queue-cache.ts, migration 011) against
 * an oracle: after every edit, another connection's write and a migration, each page and each count must
 * equal what the plain SQL of before (ORDER BY over the whole queue, GROUP BY over every box) says.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDb, migrate, type Db } from '../src/main/engine/db';
import { migrations } from '../src/main/engine/db/migrations';
import { QUEUE_ORDER, queueKeysSql, queueWhere } from '../src/main/engine/db/queries';
import { ReviewService } from '../src/main/engine/review';
import { sqlCompare } from '../src/main/engine/db/queue-cache';
import type { QueueFilter, QueueSort } from '../src/shared/rpc';
import { generateQueue as generate, oracleCounts, QUEUE_LABELS as LABELS } from './queue-oracle';
import { tmpDir } from './tmp';

/** What the queue is by plain SQL over the whole table. */
function oracleOrder(db: Db, filter: QueueFilter, sort: QueueSort): string[] {
  const w = queueWhere(filter);
  return db.prepare(`SELECT o.id FROM observations o ${w.sql} ORDER BY ${QUEUE_ORDER[sort]}`).pluck().all(w.params) as string[];
}

const FILTERS: QueueFilter[] = [
  {},
  { review: 'unreviewed' },
  { review: 'reviewed' },
  { label: 'dog' },
  { review: 'unreviewed', label: 'Äpfel', location: 'Store 2' },
  { location: 'Store 1', visit: 'v1' },
  { status: 'failed' },
  { confMin: 0.2, confMax: 0.6 },
  { label: 'cup', confMax: 0.5 },
];
const SORTS: QueueSort[] = ['uncertain', 'confident', 'newest', 'path'];

/** Every page the screen could ask for (first ones and deep ones) against the oracle, and every count. */
function expectMatchesOracle(review: ReviewService, db: Db) {
  for (const filter of FILTERS) {
    expect(review.queueCounts({ filter })).toEqual(oracleCounts(db, filter));
    for (const sort of SORTS) {
      const want = oracleOrder(db, filter, sort);
      const first = review.queue({ filter, sort, offset: 0, limit: 50 });
      expect(first.total).toBe(want.length);
      expect(first.items.map((i) => i.observationId)).toEqual(want.slice(0, 50));
      // a page beyond the direct ones: the whole order is computed and kept
      const all = review.queue({ filter, sort, offset: 0, limit: 100_000 });
      expect(all.items.map((i) => i.observationId)).toEqual(want);
    }
  }
}

describe('queue orders and facet counts', () => {
  it('every page and count equals the plain SQL after 150 random edits, each answered from the kept orders', () => {
    const db = openDb(path.join(tmpDir(), 'q.db'));
    generate(db, 600);
    const review = new ReviewService(db, { user: 'rep' });
    expectMatchesOracle(review, db);
    const photos = db.prepare("SELECT id FROM observations WHERE status = 'completed' ORDER BY id").pluck().all() as string[];
    let s = 99;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
    for (const sort of ['uncertain', 'path'] as const) review.queue({ filter: { review: 'unreviewed' }, sort, offset: 0, limit: 100_000 });
    const computed = { n: 0 };
    const orig = (review.queues as unknown as { computeOrder: (...a: unknown[]) => string[] }).computeOrder.bind(review.queues);
    (review.queues as unknown as { computeOrder: (...a: unknown[]) => string[] }).computeOrder = (...a) => {
      computed.n++;
      return orig(...a);
    };
    for (let i = 0; i < 150; i++) {
      const obs = pick(photos);
      const boxes = review.photo({ observationId: obs }).detections;
      const r = rnd();
      if (r < 0.3) review.setReview({ observationId: obs, review: pick(['reviewed', 'unreviewed', 'flagged'] as const), reason: 'blurry' });
      else if (r < 0.55 && boxes.length) {
        const d = pick(boxes);
        review.updateDetection({ detectionId: d.id, version: d.version, objectName: pick(LABELS) });
      } else if (r < 0.75 && boxes.length) {
        const d = pick(boxes);
        review.deleteDetection({ detectionId: d.id, version: d.version });
      } else review.addDetection({ observationId: obs, objectName: pick(LABELS), boundingBox: { x: 1, y: 1, width: 5, height: 5 } });
      // the kept order of the default queue (the one the auditor works in) after the edit
      for (const sort of ['uncertain', 'path'] as const) {
        const got = review.queue({ filter: { review: 'unreviewed' }, sort, offset: 0, limit: 100_000 });
        expect(got.items.map((x) => x.observationId)).toEqual(oracleOrder(db, { review: 'unreviewed' }, sort));
      }
    }
    // the orders were moved by the edits, not computed again after each one
    expect(computed.n).toBe(0);
    expectMatchesOracle(review, db);
    db.close();
  });

  it("another connection's write (a CLI audit, another window) is seen: nothing stale is served", () => {
    const file = path.join(tmpDir(), 'q2.db');
    const db = openDb(file);
    generate(db, 300);
    const review = new ReviewService(db, { user: 'rep' });
    expectMatchesOracle(review, db);
    const other = new Database(file);
    other.prepare("UPDATE observations SET review_status = 'reviewed' WHERE id IN ('obs_00001', 'obs_00002', 'obs_00003')").run();
    other.prepare("UPDATE detections SET deleted = 1 WHERE object_name = 'dog'").run();
    other.exec(`UPDATE observations SET ${queueKeysSql('observations.current_job_id')} WHERE current_job_id IS NOT NULL`);
    other.prepare("DELETE FROM observations WHERE id = 'obs_00004'").run();
    other.close();
    expectMatchesOracle(review, db);
    expect(review.queueCounts({ filter: {} }).labels.find((l) => l.name === 'dog')).toBeUndefined();
    db.close();
  });

  it('migration 011 builds the facet tables from a database of version 10 with its photos', () => {
    const file = path.join(tmpDir(), 'q3.db');
    const db = new Database(file) as unknown as Db;
    db.pragma('journal_mode = WAL');
    migrate(db, migrations, 10);
    // version 10's queue keys: without label_counts
    generate(db, 400, queueKeysSql('observations.current_job_id').replace(/,\s*label_counts = [\s\S]*$/, ''));
    db.close();
    const upgraded = openDb(file);
    expect(upgraded.pragma('user_version', { simple: true })).toBe(migrations.at(-1)!.version);
    expectMatchesOracle(new ReviewService(upgraded, { user: 'rep' }), upgraded);
    upgraded.close();
  });

  it('compares like SQLite: NULL first, numbers, then text by UTF-8 bytes', () => {
    const values = ['b', 'a', null, 2, 'é', 'z', 1.5, '\u{1F600}', '\uFFFD'];
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (v)');
    for (const v of values) db.prepare('INSERT INTO t VALUES (?)').run(v);
    const sqlite = db.prepare('SELECT v FROM t ORDER BY v').pluck().all();
    expect([...values].sort(sqlCompare)).toEqual(sqlite);
    db.close();
  });
});
