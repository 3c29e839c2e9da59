/**
 * The queue's filters and orders as SQL over `observations o` (every value bound, never interpolated):
 * the review queues, their counts and summaries, and export, select photos the same way.
 */
import type { QueueFilter, QueueSort } from '../../../shared/rpc';

export const QUEUE_ORDER: Record<QueueSort, string> = {
  uncertain: 'coalesce(o.top_confidence, 0) ASC, o.id',
  confident: 'coalesce(o.top_confidence, 0) DESC, o.id',
  newest: 'o.created_at DESC, o.id DESC',
  path: 'o.source_path, o.id',
};

/** WHERE clause and parameters for a queue filter (every value bound, never interpolated). */
export function queueWhere(f: QueueFilter): { sql: string; params: Record<string, unknown> } {
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  if (f.status) {
    parts.push('o.status = @status');
    params.status = f.status;
  }
  if (f.review) {
    parts.push('o.review_status = @review');
    params.review = f.review;
  }
  if (f.location) {
    parts.push('o.location_id = (SELECT id FROM locations WHERE name = @location)');
    params.location = f.location;
  }
  if (f.visit) {
    parts.push('o.visit_id = @visit');
    params.visit = f.visit;
  }
  if (f.model) {
    parts.push('o.model = @model');
    params.model = f.model;
  }
  if (f.label) {
    parts.push('o.current_job_id IN (SELECT d.cv_job_id FROM detections d WHERE d.object_name = @label AND d.deleted = 0)');
    params.label = f.label;
  }
  if (f.confMin !== undefined) {
    parts.push('coalesce(o.top_confidence, 0) >= @confMin');
    params.confMin = f.confMin;
  }
  if (f.confMax !== undefined) {
    parts.push('coalesce(o.top_confidence, 0) <= @confMax');
    params.confMax = f.confMax;
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}
