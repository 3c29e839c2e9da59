/**
 * The review queue's counts by plain SQL over every box (not label_counts, not the facet tables, not the
 * queue cache): the oracle of test/queue-cache, queue-counts and bulk-crash, and a database to test them
 * on (generateQueue). Values are keyed as the facet tables key them (an empty visit or model is none; a
 * visit id is text).
 */
import type { Db } from '../src/main/engine/db';
import { queueKeysSql, queueWhere } from '../src/main/engine/db/queries';
import { sqlCompare } from '../src/main/engine/db/queue-cache';
import type { QueueFilter } from '../src/shared/rpc';

export function oracleCounts(db: Db, filter: QueueFilter) {
  const w = queueWhere(filter);
  const from = `FROM observations o LEFT JOIN locations l ON l.id = o.location_id ${w.sql}`;
  const group = (expr: string) =>
    (db.prepare(`SELECT ${expr} AS name, count(*) AS n ${from} GROUP BY 1`).all(w.params) as { name: string | null; n: number }[])
      .filter((r) => r.name !== null)
      .sort((a, b) => b.n - a.n || sqlCompare(a.name, b.name));
  const byReview = { unreviewed: 0, reviewed: 0, flagged: 0 };
  for (const r of group('o.review_status')) byReview[r.name as keyof typeof byReview] = r.n;
  const byStatus = { pending: 0, processing: 0, completed: 0, failed: 0 };
  for (const r of group('o.status')) byStatus[r.name as keyof typeof byStatus] = r.n;
  const labels = db
    .prepare(
      `SELECT d.object_name AS name, count(DISTINCT o.id) AS n FROM observations o
       JOIN detections d ON d.cv_job_id = o.current_job_id AND d.deleted = 0 ${w.sql} GROUP BY 1 ORDER BY 2 DESC, 1`,
    )
    .all(w.params);
  return {
    total: byReview.unreviewed + byReview.reviewed + byReview.flagged,
    byReview,
    byStatus,
    locations: group('l.name'),
    visits: group(`nullif(CAST(o.visit_id AS TEXT), '')`),
    models: group(`nullif(o.model, '')`),
    labels,
  };
}

export const QUEUE_LABELS = ['bottle', 'cup', 'dog', 'person', 'book', 'Äpfel', 'zebra'];

/**
 * A database of `n` photos written by SQL (like the review benchmark), most audited, a few failed or not
 * audited yet, `seed` for the boxes: test/queue-cache.test.ts and test/bulk-crash.test.ts.
 */
export function generateQueue(db: Db, n: number, keys = queueKeysSql('observations.current_job_id'), seed = 7) {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const t = '2026-12-01T00:00:00.000Z';
  db.transaction(() => {
    for (let i = 0; i < 4; i++)
      db.prepare('INSERT INTO locations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)').run(`loc_${i}`, `Store ${i}`, t, t);
    const obs = db.prepare(`INSERT INTO observations (id, location_id, sha256, source_path, bytes, mime_type, width, height, metadata,
        status, created_at, updated_at) VALUES (?, ?, ?, ?, 1, 'image/jpeg', 960, 1280, ?, ?, ?, ?)`);
    const job = db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, provider, summary, created_at, completed_at)
      VALUES (?, ?, 'yolox-nano-coco', 'completed', 'cpu', '{}', ?, ?)`);
    const det = db.prepare(`INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height)
      VALUES (?, ?, ?, ?, 10, 10, 50, 50)`);
    for (let i = 0; i < n; i++) {
      const id = `obs_${String(i).padStart(5, '0')}`;
      // a few photos not audited (no result) and a few failed: the queue and its counts hold them too
      const status = i % 37 === 0 ? 'failed' : i % 41 === 0 ? 'pending' : 'completed';
      obs.run(
        id,
        i % 9 === 0 ? null : `loc_${i % 4}`,
        `sha_${i}`,
        `/photos/${i % 5}/p${i}.jpg`,
        JSON.stringify(i % 3 ? { visit_id: `v${i % 6}` } : {}),
        status,
        t,
        t,
      );
      if (status !== 'completed') continue;
      job.run(`job_${i}`, id, t, t);
      const boxes = Math.floor(rnd() * 6);
      for (let k = 0; k < boxes; k++)
        det.run(`job_${i}`, id, QUEUE_LABELS[Math.floor(rnd() * QUEUE_LABELS.length)], Math.round(rnd() * 100) / 100);
      db.prepare(`UPDATE observations SET current_job_id = ?, model = 'yolox-nano-coco' WHERE id = ?`).run(`job_${i}`, id);
    }
    db.exec(`UPDATE observations SET ${keys} WHERE current_job_id IS NOT NULL`);
  })();
}
