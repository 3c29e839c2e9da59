/**
 * The outbox: what sync must send to the KLIQ API, written in the same transaction as the local
 * change it reports (a completed photo, an edit), so nothing is lost and nothing is sent that did not
 * happen. Every writer enqueues through here; the sync engine (../sync) claims, then acks or fails.
 *
 * Items and their order: a completed photo enqueues `upload` (its bytes) → `observation` → `cvJob` (its
 * result); each edit enqueues `labels` (the observation's corrected label set), after the photo's
 * result. An item is due when it is neither sent nor failed for good, its next attempt time has come,
 * and the item it depends on was sent. claim() leases items by pushing their next attempt forward, so
 * two drainers never take the same item at once, and an item whose drainer died is taken again when
 * its lease runs out. Idempotency keys are stored with the item: a retry, even after a restart, sends
 * the same key, so the API never creates twice.
 */
import crypto from 'node:crypto';
import { immediate, type Db } from './index';

export const OUTBOX_KINDS = ['upload', 'observation', 'cvJob', 'labels'] as const;
export type OutboxKind = (typeof OUTBOX_KINDS)[number];

export interface OutboxItem {
  id: number;
  kind: OutboxKind;
  /** What the item is about: an observation id (upload, observation, labels) or a CV job id (cvJob). */
  ref: string;
  payload: unknown;
  /** Sent with the request: a retried item never creates twice. Stable across restarts. */
  idempotencyKey: string;
  /** Claims so far, this one included. */
  attempts: number;
  createdAt: string;
}

/** An item that failed for good, with what blocked it. */
export interface FailedItem {
  id: number;
  kind: OutboxKind;
  ref: string;
  error: string;
  attempts: number;
  failedAt: string;
}

export interface OutboxCounts {
  /** Neither sent nor failed (due now, waiting for a retry, or waiting for the item before it). */
  pending: number;
  sent: number;
  failed: number;
}

interface Row {
  id: number;
  kind: OutboxKind;
  ref: string;
  payload: string;
  idempotency_key: string;
  attempts: number;
  created_at: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Errors of items whose failure was the connection (no answer): made due again when it comes back. */
export const OFFLINE_PREFIX = 'offline: ';

export class Outbox {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO outbox (kind, ref, payload, idempotency_key, created_at, depends_on) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(idempotency_key) DO NOTHING`,
      ),
      sent: db.prepare<[number], { sent: number }>('SELECT sent_at IS NOT NULL AS sent FROM outbox WHERE id = ?'),
      byKey: db.prepare<[string], { id: number }>('SELECT id FROM outbox WHERE idempotency_key = ?'),
      lastOf: db.prepare<[string, string], { id: number }>('SELECT id FROM outbox WHERE ref = ? AND kind = ? ORDER BY id DESC LIMIT 1'),
      due: db.prepare<[string, number], Row>(
        `SELECT o.id, o.kind, o.ref, o.payload, o.idempotency_key, o.attempts, o.created_at FROM outbox o
         WHERE o.sent_at IS NULL AND o.failed_at IS NULL AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)
           AND (o.depends_on IS NULL OR EXISTS (SELECT 1 FROM outbox d WHERE d.id = o.depends_on AND d.sent_at IS NOT NULL))
         ORDER BY o.id LIMIT ?`,
      ),
      lease: db.prepare('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, claimed_by = ? WHERE id = ?'),
      ack: db.prepare('UPDATE outbox SET sent_at = ?, last_error = NULL, claimed_by = NULL WHERE id = ? AND sent_at IS NULL'),
      ackLabelsUpTo: db.prepare(
        `UPDATE outbox SET sent_at = ?, last_error = NULL, claimed_by = NULL
         WHERE kind = 'labels' AND ref = ? AND id <= ? AND sent_at IS NULL AND failed_at IS NULL`,
      ),
      retry: db.prepare('UPDATE outbox SET last_error = ?, next_attempt_at = ?, claimed_by = NULL WHERE id = ? AND sent_at IS NULL'),
      owners: db.prepare<[], { claimed_by: string }>(
        'SELECT DISTINCT claimed_by FROM outbox WHERE claimed_by IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL',
      ),
      releaseOwner: db.prepare(
        'UPDATE outbox SET next_attempt_at = NULL, claimed_by = NULL WHERE claimed_by = ? AND sent_at IS NULL AND failed_at IS NULL',
      ),
      // the item and every item that waits on it (directly or not) stop with the reason
      giveUp: db.prepare(
        `WITH RECURSIVE blocked(id) AS (SELECT ? UNION ALL SELECT o.id FROM outbox o JOIN blocked b ON o.depends_on = b.id)
         UPDATE outbox SET failed_at = ?, claimed_by = NULL, last_error = CASE WHEN id = ? THEN ? ELSE ? END
         WHERE id IN (SELECT id FROM blocked) AND sent_at IS NULL AND failed_at IS NULL`,
      ),
      retryFailed: db.prepare(
        `WITH RECURSIVE again(id) AS (SELECT ? UNION ALL SELECT o.id FROM outbox o JOIN again a ON o.depends_on = a.id)
         UPDATE outbox SET failed_at = NULL, next_attempt_at = NULL, last_error = NULL
         WHERE id IN (SELECT id FROM again) AND sent_at IS NULL AND failed_at IS NOT NULL`,
      ),
      retryAllFailed: db.prepare(
        'UPDATE outbox SET failed_at = NULL, next_attempt_at = NULL, last_error = NULL WHERE failed_at IS NOT NULL',
      ),
      wakeOffline: db.prepare(
        `UPDATE outbox SET next_attempt_at = NULL WHERE sent_at IS NULL AND failed_at IS NULL AND last_error LIKE '${OFFLINE_PREFIX}%'`,
      ),
      failed: db.prepare<[number], { id: number; kind: OutboxKind; ref: string; last_error: string; attempts: number; failed_at: string }>(
        `SELECT id, kind, ref, last_error, attempts, failed_at FROM outbox WHERE failed_at IS NOT NULL ORDER BY id LIMIT ?`,
      ),
      counts: db.prepare<[], OutboxCounts>(
        `SELECT coalesce(sum(sent_at IS NULL AND failed_at IS NULL), 0) AS pending, coalesce(sum(sent_at IS NOT NULL), 0) AS sent,
           coalesce(sum(failed_at IS NOT NULL), 0) AS failed FROM outbox`,
      ),
      nextDue: db.prepare<[], { at: string | null }>(
        `SELECT min(coalesce(next_attempt_at, '')) AS at FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`,
      ),
    };
  }

  /**
   * Adds an item; call it inside the transaction of the change it reports. The key defaults to a random
   * one; pass a deterministic key when the same change could be enqueued twice (then the second enqueue
   * is a no-op returning the first item's id).
   */
  enqueue(kind: OutboxKind, ref: string, payload: unknown, opts: { idempotencyKey?: string; dependsOn?: number | null } = {}): number {
    const key = opts.idempotencyKey ?? `${kind}-${crypto.randomUUID()}`;
    const info = this.s.insert.run(kind, ref, JSON.stringify(payload), key, new Date().toISOString(), opts.dependsOn ?? null);
    return info.changes > 0 ? Number(info.lastInsertRowid) : this.s.byKey.get(key)!.id;
  }

  /**
   * A completed photo: its upload, observation and CV result, in that order (keys derived from the local
   * ids: a photo is enqueued once, and a re-audit adds only its new result). Call it in the transaction
   * that completes the job.
   */
  enqueueAudited(observationId: string, jobId: string): void {
    const upload = this.enqueue('upload', observationId, {}, { idempotencyKey: `upload:${observationId}` });
    const observation = this.enqueue(
      'observation',
      observationId,
      {},
      { idempotencyKey: `observation:${observationId}`, dependsOn: upload },
    );
    this.enqueue('cvJob', jobId, { observationId }, { idempotencyKey: `cvJob:${jobId}`, dependsOn: observation });
  }

  /** An edit of an observation's labels: sent after the photo's latest result (or its observation). */
  enqueueLabels(observationId: string, payload: unknown): number {
    const before = this.s.lastOf.get(observationId, 'observation')?.id ?? null;
    return this.enqueue('labels', observationId, payload, { dependsOn: before });
  }

  /** Takes up to `limit` due items, oldest first, leased for `leaseMs` (an immediate transaction: one claimer at a time). */
  claim(limit: number, opts: { now?: number; leaseMs?: number; owner?: string } = {}): OutboxItem[] {
    const now = opts.now ?? Date.now();
    const until = iso(now + (opts.leaseMs ?? 60_000));
    return immediate(this.db, () => {
      const rows = this.s.due.all(iso(now), limit);
      for (const r of rows) this.s.lease.run(until, opts.owner ?? null, r.id);
      return rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        ref: r.ref,
        payload: JSON.parse(r.payload) as unknown,
        idempotencyKey: r.idempotency_key,
        attempts: r.attempts + 1,
        createdAt: r.created_at,
      }));
    });
  }

  /** Whether the item was sent (a labels item is also sent when a later PUT of its observation covered it). */
  isSent(id: number): boolean {
    return this.s.sent.get(id)?.sent === 1;
  }

  /** The item reached the server. */
  ack(id: number, now = Date.now()): void {
    this.s.ack.run(iso(now), id);
  }

  /** A label set reached the server: every labels item of the observation up to `upToId` is covered by it. */
  ackLabels(observationId: string, upToId: number, now = Date.now()): number {
    return this.s.ackLabelsUpTo.run(iso(now), observationId, upToId).changes;
  }

  /**
   * The attempt failed: retried at `retryAt`, or never again when it is null (a permanent failure, kept
   * with its reason; the items waiting on it stop too, naming it).
   */
  fail(id: number, error: string, retryAt: number | null, now = Date.now()): void {
    if (retryAt !== null) {
      this.s.retry.run(error, iso(retryAt), id);
      return;
    }
    const blocked = `waits on outbox item ${id}, which failed: ${error}`;
    this.s.giveUp.run(id, iso(now), id, error, blocked);
  }

  /** Makes a failed item (and the items waiting on it) due again; `null`: every failed item. Returns how many. */
  retryFailed(id: number | null = null): number {
    return id === null ? this.s.retryAllFailed.run().changes : this.s.retryFailed.run(id).changes;
  }

  /**
   * Items leased by runs that are no longer alive (killed, crashed: `isLive` says) are due again at once,
   * instead of when their lease runs out. Returns how many.
   */
  releaseDead(isLive: (runId: string) => boolean): number {
    let n = 0;
    for (const { claimed_by: owner } of this.s.owners.all()) if (!isLive(owner)) n += this.s.releaseOwner.run(owner).changes;
    return n;
  }

  /** The connection is back: items that failed for want of it are due now. */
  wakeOffline(): number {
    return this.s.wakeOffline.run().changes;
  }

  failed(limit = 500): FailedItem[] {
    return this.s.failed.all(limit).map((r) => ({
      id: r.id,
      kind: r.kind,
      ref: r.ref,
      error: r.last_error,
      attempts: r.attempts,
      failedAt: r.failed_at,
    }));
  }

  counts(): OutboxCounts {
    return this.s.counts.get()!;
  }

  /** When the earliest pending item may be tried (ms since epoch; now when one is due, null when none is pending). */
  nextAttemptAt(): number | null {
    const at = this.s.nextDue.get()?.at;
    if (at === undefined || at === null) return null;
    return at === '' ? Date.now() : Date.parse(at);
  }
}
