import type { Database } from 'better-sqlite3';

/**
 * 004: review you can trust.
 * - detections.version: bumped by every edit; an edit made on another version is refused (two tabs).
 * - detections.model_*: what the model gave, so `corrected` means "differs from the model" (undoing
 *   every change makes a box uncorrected again). Backfilled from the first correction where one exists.
 * - corrections.client_edit_id: a retried edit (answer lost, reconnect) is applied once.
 * - observations.review_priority: the uncertain-first key (see db/queries.ts), model boxes only;
 *   top_confidence is recomputed over model boxes only (a drawn box is not model confidence).
 * - observations.file_mtime_ms: the photo file's identity with `bytes`, so pixels are served only while
 *   the file is still the one audited.
 * - settings: small local key/values (the serve token of this database…).
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE detections ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE detections ADD COLUMN model_object_name TEXT;
    ALTER TABLE detections ADD COLUMN model_x REAL;
    ALTER TABLE detections ADD COLUMN model_y REAL;
    ALTER TABLE detections ADD COLUMN model_width REAL;
    ALTER TABLE detections ADD COLUMN model_height REAL;
    UPDATE detections SET model_object_name = object_name, model_x = x, model_y = y, model_width = width, model_height = height
      WHERE source = 'model';
    UPDATE detections SET (model_object_name, model_x, model_y, model_width, model_height) = (
        SELECT json_extract(c.before, '$.objectName'), json_extract(c.before, '$.boundingBox.x'), json_extract(c.before, '$.boundingBox.y'),
               json_extract(c.before, '$.boundingBox.width'), json_extract(c.before, '$.boundingBox.height')
        FROM corrections c WHERE c.detection_id = detections.id AND c.action = 'update' ORDER BY c.id LIMIT 1)
      WHERE source = 'model' AND EXISTS (SELECT 1 FROM corrections c WHERE c.detection_id = detections.id AND c.action = 'update');
    UPDATE detections SET corrected = CASE WHEN source = 'user' THEN 1
      WHEN object_name IS NOT model_object_name OR x IS NOT model_x OR y IS NOT model_y
        OR width IS NOT model_width OR height IS NOT model_height THEN 1 ELSE 0 END;

    ALTER TABLE corrections ADD COLUMN client_edit_id TEXT;
    CREATE UNIQUE INDEX corrections_client_edit ON corrections(client_edit_id) WHERE client_edit_id IS NOT NULL;

    ALTER TABLE observations ADD COLUMN review_priority REAL NOT NULL DEFAULT 1000000;
    ALTER TABLE observations ADD COLUMN file_mtime_ms INTEGER;
    DROP INDEX observations_queue_uncertain;
    DROP INDEX observations_review;
    CREATE INDEX observations_priority ON observations(review_priority, id);
    CREATE INDEX observations_review_priority ON observations(review_status, review_priority, id);

    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `);
  // the queue keys as db/queries.ts queueKeysSql computes them at this version (inlined: a migration never changes)
  db.exec(`
    UPDATE observations SET
      top_confidence = (SELECT max(confidence) FROM detections
        WHERE cv_job_id = observations.current_job_id AND deleted = 0 AND source = 'model'),
      review_priority = (SELECT CASE WHEN count(*) = 0 THEN 1000000.0 ELSE sum(confidence < 0.5) + (1 - min(confidence)) END
        FROM detections WHERE cv_job_id = observations.current_job_id AND deleted = 0 AND source = 'model')
    WHERE current_job_id IS NOT NULL;
  `);
}
