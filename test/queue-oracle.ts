/**
 * The review queue's counts by plain SQL over every box (not label_counts, not the facet tables, not the
 * queue cache): the oracle of test/queue-cache.test.ts and test/queue-counts.test.ts. Values are keyed as
 * the facet tables key them (an empty visit or model is none; a visit id is text).
 */
import type { Db } from '../src/main/engine/db';
import { queueWhere } from '../src/main/engine/db/queries';
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
