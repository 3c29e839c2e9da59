import type { Database } from 'better-sqlite3';

/**
 * 012: detections.verified: the auditor checked the box (Review's `v` key, the box list's checkbox). Set
 * and cleared by an edit like any other (correction row, outbox row, version bump); 0 for every box that
 * exists already.
 */
export function up(db: Database): void {
  db.exec(`ALTER TABLE detections ADD COLUMN verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1));`);
}
