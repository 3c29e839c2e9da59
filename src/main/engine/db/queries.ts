/**
 * The queue's filters and orders as SQL over `observations o` (every value bound, never interpolated):
 * the review queues, their counts and summaries, and export, select photos the same way.
 */
import type { QueueFilter, QueueSort } from '../../../shared/rpc';

/** Each order's columns of `observations`, most significant first (the last one, id, makes it total). */
export const QUEUE_ORDER_KEYS: Record<QueueSort, { col: string; desc: boolean }[]> = {
  uncertain: [
    { col: 'review_priority', desc: true },
    { col: 'id', desc: false },
  ],
  confident: [
    { col: 'review_priority', desc: false },
    { col: 'id', desc: false },
  ],
  newest: [
    { col: 'created_at', desc: true },
    { col: 'id', desc: true },
  ],
  path: [
    { col: 'source_path', desc: false },
    { col: 'id', desc: false },
  ],
};

export const QUEUE_ORDER = Object.fromEntries(
  Object.entries(QUEUE_ORDER_KEYS).map(([sort, keys]) => [sort, keys.map((k) => `o.${k.col}${k.desc ? ' DESC' : ''}`).join(', ')]),
) as Record<QueueSort, string>;

/** The file name of a photo: its path after the last `/` or `\` (rtrim strips the name's characters, leaving the folder). */
const FILE_NAME = `substr(o.source_path, length(rtrim(o.source_path, replace(replace(o.source_path, '/', ''), '\\', ''))) + 1)`;

/** A LIKE pattern matching `text` anywhere, its `%`, `_` and `\` taken literally (with ESCAPE '\'). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * WHERE clause and parameters for a queue filter (every value bound, never interpolated).
 *
 * `perRow`: the same filter for a few given rows (an edited photo's membership), its sets written as
 * subqueries correlated to the row (`EXISTS (SELECT … WHERE c = o.x)`) instead of `o.x IN (SELECT c …)`.
 * For a whole queue the set is computed once and probed (or drives the search); for one row, computing
 * it reads every box with the label (10 ms for a common label at 100 000 photos, per filter and edit).
 * Both forms select the same rows: `x IN (SELECT c …)` is true exactly when a row of the subquery has
 * c = x, and when x is NULL it is NULL where EXISTS is false, which WHERE treats alike (also under OR).
 */
export function queueWhere(f: QueueFilter, { perRow = false } = {}): { sql: string; params: Record<string, unknown> } {
  /** `o.<col> IN (SELECT <key> FROM <from> WHERE <where>)`, or its form correlated to the row. */
  const inSet = (col: string, key: string, from: string, where: string) =>
    perRow
      ? `EXISTS (SELECT 1 FROM ${from} WHERE ${where} AND ${key} = o.${col})`
      : `o.${col} IN (SELECT ${key} FROM ${from} WHERE ${where})`;
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
    parts.push(inSet('current_job_id', 'd.cv_job_id', 'detections d', 'd.object_name = @label AND d.deleted = 0'));
    params.label = f.label;
  }
  if (f.building) {
    parts.push(inSet('asset_id', 'a.id', 'assets a JOIN buildings b ON b.id = a.building_id', 'b.name = @building'));
    params.building = f.building;
  }
  // the file name holds the text (LIKE: case-insensitive for ASCII); the whole path is tried first, which is cheap
  if (f.name) {
    parts.push(`o.source_path LIKE @name ESCAPE '\\' AND ${FILE_NAME} LIKE @name ESCAPE '\\'`);
    params.name = containsPattern(f.name);
  }
  if (f.asset) {
    parts.push('o.asset_id = @asset');
    params.asset = f.asset;
  }
  // a grade: a current box graded so, or the photo's asset graded so
  if (f.condition) {
    parts.push(`(EXISTS (SELECT 1 FROM detections d WHERE d.cv_job_id = o.current_job_id AND d.deleted = 0
      AND json_extract(d.attributes, '$.condition') = @condition)
      OR ${inSet('asset_id', 'a.id', 'assets a', 'a.condition = @condition')})`);
    params.condition = f.condition;
  }
  // the confidence band applies to the model's boxes (of the label, when one is filtered): "bottle under
  // 0.3" is a photo with a bottle under 0.3, whatever else it has; a drawn box is not model confidence
  if (f.confMin !== undefined || f.confMax !== undefined) {
    const band = [`d.cv_job_id = o.current_job_id`, `d.deleted = 0`, `d.source = 'model'`];
    if (f.label) band.push('d.object_name = @label');
    if (f.confMin !== undefined) {
      band.push('d.confidence >= @confMin');
      params.confMin = f.confMin;
    }
    if (f.confMax !== undefined) {
      band.push('d.confidence <= @confMax');
      params.confMax = f.confMax;
    }
    // one seek per photo in detections_job_band (migration 013), never a box's row
    parts.push(`EXISTS (SELECT 1 FROM detections d WHERE ${band.join(' AND ')})`);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/** Model confidence below this is "uncertain" (the band the review queue brings forward). */
export const UNCERTAIN_BELOW = 0.5;

/**
 * The queue keys of a photo, from the model's boxes of its current job (`job`: an SQL expression for
 * the job id), kept up to date on every result and edit:
 * - detection_count: current boxes (model and drawn, not deleted);
 * - top_confidence: the highest model confidence (a drawn box is the auditor's, not the model's);
 * - review_priority, the uncertain-first key (higher first): the number of model boxes below
 *   UNCERTAIN_BELOW, plus (1 − the lowest model confidence) to order photos with as many; a photo
 *   without any model box (nothing found, failed, not audited yet) comes first (1 000 000).
 *   So a shelf with 68 boxes, most of them weak, comes before a street scene with one sure car.
 * - label_counts: JSON object label → current boxes (model and drawn), which the queue's facet tables
 *   (migration 011) are kept from.
 */
export function queueKeysSql(job: string): string {
  const model = `FROM detections WHERE cv_job_id = ${job} AND deleted = 0 AND source = 'model'`;
  return `detection_count = (SELECT count(*) FROM detections WHERE cv_job_id = ${job} AND deleted = 0),
    top_confidence = (SELECT max(confidence) ${model}),
    review_priority = (SELECT CASE WHEN count(*) = 0 THEN 1000000.0
      ELSE sum(confidence < ${UNCERTAIN_BELOW}) + (1 - min(confidence)) END ${model}),
    label_counts = coalesce((SELECT json_group_object(object_name, n) FROM (SELECT object_name, count(*) AS n
      FROM detections WHERE cv_job_id = ${job} AND deleted = 0 GROUP BY object_name ORDER BY object_name)), '{}')`;
}
