import type { Database } from 'better-sqlite3';

/**
 * 009: BuildingScan and dataset export.
 * - buildings, assets (a component of one building, with the auditor's condition grade), visits
 *   (inspection rounds, named: `--visit NAME`; observations keep naming their visit in
 *   metadata.visit_id as before, so a visit row is keyed by that name).
 * - observations.asset_id: the asset a photo shows, read from metadata.asset_id (like visit_id).
 * - dataset_classes, dataset_images: the stable ids of exports (a label keeps its class id and a photo
 *   its image id from one export to the next). Class ids are 0-based (YOLO), image ids 1-based (COCO).
 * Backfill: a visit row for every visit named by an existing observation.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE buildings (
      id          TEXT PRIMARY KEY,
      remote_id   TEXT UNIQUE,
      name        TEXT NOT NULL UNIQUE,
      address     TEXT,
      metadata    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
      created_at  TEXT NOT NULL,
      updated_at  TEXT NOT NULL
    );

    CREATE TABLE assets (
      id            TEXT PRIMARY KEY,
      remote_id     TEXT UNIQUE,
      building_id   TEXT NOT NULL REFERENCES buildings(id) ON DELETE CASCADE,
      name          TEXT NOT NULL,
      kind          TEXT,
      condition     TEXT CHECK (condition IS NULL OR condition IN ('good','fair','poor','critical')),
      condition_at  TEXT,
      condition_by  TEXT,
      metadata      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
      created_at    TEXT NOT NULL,
      updated_at    TEXT NOT NULL,
      UNIQUE (building_id, name)
    );
    CREATE INDEX assets_name ON assets(name);

    CREATE TABLE visits (
      id           TEXT PRIMARY KEY,
      remote_id    TEXT UNIQUE,
      name         TEXT NOT NULL UNIQUE,
      building_id  TEXT REFERENCES buildings(id) ON DELETE SET NULL,
      metadata     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
      created_at   TEXT NOT NULL,
      updated_at   TEXT NOT NULL
    );

    ALTER TABLE observations ADD COLUMN asset_id TEXT GENERATED ALWAYS AS (json_extract(metadata, '$.asset_id')) VIRTUAL;
    CREATE INDEX observations_asset ON observations(asset_id);

    CREATE TABLE dataset_classes (
      class_id    INTEGER PRIMARY KEY,
      name        TEXT NOT NULL UNIQUE,
      created_at  TEXT NOT NULL
    );
    CREATE TABLE dataset_images (
      image_id        INTEGER PRIMARY KEY,
      observation_id  TEXT NOT NULL UNIQUE REFERENCES observations(id) ON DELETE CASCADE,
      created_at      TEXT NOT NULL
    );

    INSERT INTO visits (id, name, created_at, updated_at)
      SELECT 'vis_' || lower(hex(randomblob(12))), visit_id, min(created_at), min(created_at)
      FROM observations WHERE visit_id IS NOT NULL GROUP BY visit_id;
  `);
}
