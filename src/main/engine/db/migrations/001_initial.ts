import type { Database } from 'better-sqlite3';

/**
 * 001: the KLIQ resources the batch audit needs, close to the API (seeds): locations, observations,
 * cv_jobs, detections. Local-only columns: observations.sha256 (content identity), observation_sources
 * (every path a photo was imported from), cv_jobs.provider (execution provider used).
 * `remote_id` columns stay null until sync exists.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE locations (
      id          TEXT PRIMARY KEY,
      remote_id   TEXT UNIQUE,
      name        TEXT NOT NULL UNIQUE,
      address     TEXT,
      latitude    REAL,
      longitude   REAL,
      metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
      created_at  TEXT NOT NULL,
      updated_at  TEXT NOT NULL
    );

    CREATE TABLE observations (
      id           TEXT PRIMARY KEY,
      remote_id    TEXT UNIQUE,
      location_id  TEXT REFERENCES locations(id) ON DELETE SET NULL,
      sha256       TEXT UNIQUE,
      source_path  TEXT NOT NULL,
      bytes        INTEGER,
      mime_type    TEXT,
      width        INTEGER,
      height       INTEGER,
      latitude     REAL,
      longitude    REAL,
      captured_at  TEXT,
      metadata     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
      status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','processing','completed','failed')),
      error        TEXT,
      created_at   TEXT NOT NULL,
      updated_at   TEXT NOT NULL
    );
    CREATE INDEX observations_status ON observations(status);
    CREATE INDEX observations_location ON observations(location_id);

    CREATE TABLE observation_sources (
      path            TEXT PRIMARY KEY,
      observation_id  TEXT NOT NULL REFERENCES observations(id) ON DELETE CASCADE,
      seen_at         TEXT NOT NULL
    );
    CREATE INDEX observation_sources_observation ON observation_sources(observation_id);

    CREATE TABLE cv_jobs (
      id              TEXT PRIMARY KEY,
      remote_id       TEXT UNIQUE,
      observation_id  TEXT NOT NULL REFERENCES observations(id) ON DELETE CASCADE,
      model           TEXT NOT NULL,
      model_sha256    TEXT,
      options         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
      status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','processing','completed','failed')),
      provider        TEXT CHECK (provider IN ('cpu','cuda','dml')),
      error           TEXT,
      summary         TEXT CHECK (summary IS NULL OR json_valid(summary)),
      created_at      TEXT NOT NULL,
      started_at      TEXT,
      completed_at    TEXT
    );
    CREATE INDEX cv_jobs_observation_model ON cv_jobs(observation_id, model, status);

    CREATE TABLE detections (
      id              INTEGER PRIMARY KEY,
      cv_job_id       TEXT NOT NULL REFERENCES cv_jobs(id) ON DELETE CASCADE,
      observation_id  TEXT NOT NULL REFERENCES observations(id) ON DELETE CASCADE,
      object_name     TEXT NOT NULL,
      confidence      REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
      x               REAL NOT NULL,
      y               REAL NOT NULL,
      width           REAL NOT NULL CHECK (width >= 0),
      height          REAL NOT NULL CHECK (height >= 0),
      attributes      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attributes))
    );
    CREATE INDEX detections_job ON detections(cv_job_id);
    CREATE INDEX detections_observation ON detections(observation_id);
  `);
}
