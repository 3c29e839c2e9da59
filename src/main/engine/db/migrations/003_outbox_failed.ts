import type { Database } from 'better-sqlite3';

/**
 * 003: the outbox keeps items that failed for good (a 400, 403, 404 or 413 from the API) with their
 * reason, apart from the ones still to send: `failed_at`. Due items are found through a partial index.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE outbox ADD COLUMN failed_at TEXT;
    DROP INDEX outbox_unsent;
    CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;
  `);
}
