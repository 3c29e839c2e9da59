import type { Database } from 'better-sqlite3';

/**
 * 006: sync to the KLIQ API.
 * - outbox.depends_on: an item is sent only after the item it depends on (upload → observation → CV
 *   result; labels after the observation). Outbox kinds are now what is sent: upload, observation, cvJob, labels (the
 *   'correction' items of 002 become 'labels' items of their observation: sync sends the current
 *   corrected label set, so one PUT covers every edit made before it).
 * - outbox.claimed_by: the run (see 005) that leased the item; a dead run's items are taken over at once.
 * - observations.upload_pending: the signed upload in progress (uploadUrl, imageUrl, expiresAt);
 *   image_url: its result, once the bytes are on the server;
 *   labels_version: the version of the label set the server holds as far as we know (the base of the next PUT).
 * - sync_ids: local things that map to a remote id without a table of their own (the default location,
 *   visits); sync_conflicts: label sets the server kept over ours (or ours sent over the server's), shown
 *   on the Sync screen.
 * - every completed photo gets its upload, observation and CV-result items (databases audited before sync existed).
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE outbox ADD COLUMN depends_on INTEGER REFERENCES outbox(id);
    CREATE INDEX outbox_ref ON outbox(ref, kind);
    CREATE INDEX outbox_depends ON outbox(depends_on) WHERE depends_on IS NOT NULL;
    ALTER TABLE observations ADD COLUMN image_url TEXT;
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    ALTER TABLE observations ADD COLUMN upload_pending TEXT CHECK (upload_pending IS NULL OR json_valid(upload_pending));
    ALTER TABLE observations ADD COLUMN labels_version INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE sync_ids (
      kind       TEXT NOT NULL,
      local_key  TEXT NOT NULL,
      remote_id  TEXT NOT NULL,
      PRIMARY KEY (kind, local_key)
    );
    CREATE TABLE sync_conflicts (
      id              INTEGER PRIMARY KEY,
      observation_id  TEXT NOT NULL REFERENCES observations(id) ON DELETE CASCADE,
      local_labels    TEXT NOT NULL CHECK (json_valid(local_labels)),
      remote_labels   TEXT NOT NULL CHECK (json_valid(remote_labels)),
      remote_version  INTEGER NOT NULL,
      remote_by       TEXT,
      remote_at       TEXT,
      created_at      TEXT NOT NULL,
      resolved_at     TEXT,
      resolution      TEXT CHECK (resolution IS NULL OR resolution IN ('kept-server', 'sent-mine'))
    );
    CREATE INDEX sync_conflicts_open ON sync_conflicts(observation_id) WHERE resolved_at IS NULL;

    UPDATE outbox SET kind = 'labels', payload = json_set(payload, '$.correctionId', CAST(ref AS INTEGER)),
      ref = coalesce((SELECT c.observation_id FROM corrections c WHERE c.id = CAST(outbox.ref AS INTEGER)), ref)
      WHERE kind = 'correction';
  `);
  const t = new Date().toISOString();
  const insert = db.prepare(
    `INSERT OR IGNORE INTO outbox (kind, ref, payload, idempotency_key, created_at, depends_on)
     VALUES (?, ?, '{}', ?, ?, (SELECT id FROM outbox WHERE idempotency_key = ?))`,
  );
  const done = db
    .prepare(
      `SELECT id, current_job_id FROM observations WHERE status = 'completed' AND current_job_id IS NOT NULL ORDER BY created_at, id`,
    )
    .all() as { id: string; current_job_id: string }[];
  for (const o of done) {
    insert.run('upload', o.id, `upload:${o.id}`, t, null);
    insert.run('observation', o.id, `observation:${o.id}`, t, `upload:${o.id}`);
    insert.run('cvJob', o.current_job_id, `cvJob:${o.current_job_id}`, t, `observation:${o.id}`);
  }
  // labels items wait for their observation
  db.exec(`
    UPDATE outbox SET depends_on = (SELECT d.id FROM outbox d WHERE d.kind = 'observation' AND d.ref = outbox.ref)
      WHERE kind = 'labels' AND depends_on IS NULL;
  `);
}
