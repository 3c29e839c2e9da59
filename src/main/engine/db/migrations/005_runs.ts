import type { Database } from 'better-sqlite3';

/**
 * 005: several processes on one database (the app or serve, a watcher, a CLI audit).
 * - runs: each audit run, with its owner (host, pid) and a lease it renews (heartbeat); a run whose lease
 *   expired, or whose process is gone from this host, is dead, and only its work is taken over.
 * - photo_claims: the photo a live run is inferring right now: no other run infers it at the same time.
 * - cv_jobs.run_id: the run that made the job.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE runs (
      id            TEXT PRIMARY KEY,
      host          TEXT NOT NULL,
      pid           INTEGER NOT NULL,
      started_at    TEXT NOT NULL,
      heartbeat_at  TEXT NOT NULL,
      expires_at    TEXT NOT NULL
    );
    CREATE TABLE photo_claims (
      observation_id  TEXT PRIMARY KEY REFERENCES observations(id) ON DELETE CASCADE,
      run_id          TEXT NOT NULL,
      claimed_at      TEXT NOT NULL
    );
    CREATE INDEX photo_claims_run ON photo_claims(run_id);
    ALTER TABLE cv_jobs ADD COLUMN run_id TEXT;
    CREATE INDEX cv_jobs_run ON cv_jobs(run_id) WHERE status IN ('queued', 'processing');
  `);
}
