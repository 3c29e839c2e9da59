import type { Database } from 'better-sqlite3';

/**
 * 002: review queues and corrections.
 * - observations: review state (unreviewed → reviewed | flagged), the current CV job and model, and the
 *   queue's sort keys kept up to date on every change (detection_count, top_confidence), visit_id
 *   indexed out of the metadata JSON.
 * - detections: source (model | user), soft delete (so undo restores the same row), corrected flag.
 * - corrections: every edit, before/after, who and when (feeds retraining).
 * - outbox: what sync must send, written in the same transaction as the change.
 * - catalog (imported SKUs), import_folders.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE observations ADD COLUMN review_status TEXT NOT NULL DEFAULT 'unreviewed'
      CHECK (review_status IN ('unreviewed','reviewed','flagged'));
    ALTER TABLE observations ADD COLUMN flag_reason TEXT;
    ALTER TABLE observations ADD COLUMN reviewed_at TEXT;
    ALTER TABLE observations ADD COLUMN reviewed_by TEXT;
    ALTER TABLE observations ADD COLUMN current_job_id TEXT REFERENCES cv_jobs(id) ON DELETE SET NULL;
    ALTER TABLE observations ADD COLUMN model TEXT;
    ALTER TABLE observations ADD COLUMN detection_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE observations ADD COLUMN top_confidence REAL;
    ALTER TABLE observations ADD COLUMN visit_id TEXT GENERATED ALWAYS AS (json_extract(metadata, '$.visit_id')) VIRTUAL;

    ALTER TABLE detections ADD COLUMN source TEXT NOT NULL DEFAULT 'model' CHECK (source IN ('model','user'));
    ALTER TABLE detections ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0,1));
    ALTER TABLE detections ADD COLUMN corrected INTEGER NOT NULL DEFAULT 0 CHECK (corrected IN (0,1));
    ALTER TABLE detections ADD COLUMN updated_at TEXT;

    CREATE TABLE corrections (
      id              INTEGER PRIMARY KEY,
      observation_id  TEXT NOT NULL REFERENCES observations(id) ON DELETE CASCADE,
      detection_id    INTEGER REFERENCES detections(id) ON DELETE SET NULL,
      action          TEXT NOT NULL CHECK (action IN ('update','add','delete','restore','review')),
      before          TEXT CHECK (before IS NULL OR json_valid(before)),
      after           TEXT CHECK (after IS NULL OR json_valid(after)),
      who             TEXT NOT NULL,
      created_at      TEXT NOT NULL
    );
    CREATE INDEX corrections_observation ON corrections(observation_id);

    CREATE TABLE outbox (
      id               INTEGER PRIMARY KEY,
      kind             TEXT NOT NULL,
      ref              TEXT NOT NULL,
      payload          TEXT NOT NULL CHECK (json_valid(payload)),
      idempotency_key  TEXT NOT NULL UNIQUE,
      created_at       TEXT NOT NULL,
      attempts         INTEGER NOT NULL DEFAULT 0,
      next_attempt_at  TEXT,
      last_error       TEXT,
      sent_at          TEXT
    );
    CREATE INDEX outbox_unsent ON outbox(sent_at, next_attempt_at);

    CREATE TABLE catalog (
      id          TEXT PRIMARY KEY,
      remote_id   TEXT UNIQUE,
      sku         TEXT UNIQUE,
      name        TEXT NOT NULL,
      created_at  TEXT NOT NULL
    );

    CREATE TABLE import_folders (
      path         TEXT PRIMARY KEY,
      location_id  TEXT REFERENCES locations(id) ON DELETE SET NULL,
      watch        INTEGER NOT NULL DEFAULT 0 CHECK (watch IN (0,1)),
      added_at     TEXT NOT NULL,
      last_import_at TEXT NOT NULL
    );

    -- backfill: the latest completed job is current
    UPDATE observations SET current_job_id = (
      SELECT j.id FROM cv_jobs j WHERE j.observation_id = observations.id AND j.status = 'completed'
      ORDER BY j.completed_at DESC LIMIT 1);
    UPDATE observations SET
      model = (SELECT j.model FROM cv_jobs j WHERE j.id = observations.current_job_id),
      detection_count = (SELECT count(*) FROM detections d WHERE d.cv_job_id = observations.current_job_id),
      top_confidence = (SELECT max(d.confidence) FROM detections d WHERE d.cv_job_id = observations.current_job_id)
    WHERE current_job_id IS NOT NULL;

    CREATE INDEX observations_queue_uncertain ON observations(coalesce(top_confidence, 0), id);
    CREATE INDEX observations_review ON observations(review_status, coalesce(top_confidence, 0), id);
    CREATE INDEX observations_visit ON observations(visit_id);
    CREATE INDEX observations_created ON observations(created_at, id);
    CREATE INDEX observations_current_job ON observations(current_job_id);
    CREATE INDEX detections_label_job ON detections(object_name, cv_job_id) WHERE deleted = 0;
  `);
}
