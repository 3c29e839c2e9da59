import type { Database } from 'better-sqlite3';

/**
 * 010: watched import folders and what happens to their files.
 * - import_folders: the settings a folder's photos are audited with (location_id was there; visit_id and
 *   tiles here), and `paused` (a watched folder that is kept but not watched for now).
 * - observation_sources.deleted_at: the file at that path was deleted (seen by a watcher, or missing when
 *   a watcher started); cleared when a file is imported at that path again.
 * - observations.source_state: 'present'; 'deleted' when the file at its path was deleted (its results are
 *   kept); 'changed' when the file at its path now holds other content (that content is another
 *   observation: never new pixels under old boxes). source_state_at: when it became so.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE import_folders ADD COLUMN visit_id TEXT;
    ALTER TABLE import_folders ADD COLUMN tiles TEXT CHECK (tiles IS NULL OR tiles IN ('off', 'auto', '2', '3', '4', '5', '6', '7', '8'));
    ALTER TABLE import_folders ADD COLUMN paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1));
    ALTER TABLE observation_sources ADD COLUMN deleted_at TEXT;
    ALTER TABLE observations ADD COLUMN source_state TEXT NOT NULL DEFAULT 'present'
      CHECK (source_state IN ('present', 'deleted', 'changed'));
    ALTER TABLE observations ADD COLUMN source_state_at TEXT;
    CREATE INDEX observations_source_path ON observations(source_path);
  `);
}
