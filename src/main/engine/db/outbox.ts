/**
 * The outbox: what sync must send to the KLIQ API, written in the same transaction as the local
 * change it reports (an edit, a completed photo), so nothing is lost and nothing is sent that did not
 * happen. Every writer enqueues through here; the sync loop claims, then acks or fails.
 *
 * An item is due when it is neither sent nor failed for good and its next attempt time has come.
 * claim() leases items by pushing their next attempt forward, so two drainers never take the same item
 * at once, and an item whose drainer died is taken again when its lease runs out.
 */
import crypto from 'node:crypto';
import { immediate, type Db } from './index';

export type OutboxKind = 'correction';

export interface OutboxItem {
  id: number;
  kind: OutboxKind;
  /** What the item is about (a correction id, an observation id…). */
  ref: string;
  payload: unknown;
  /** Sent with the request: a retried item never creates twice. Stable across restarts. */
  idempotencyKey: string;
  /** Claims so far, this one included. */
  attempts: number;
  createdAt: string;
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

export class Outbox {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      insert: db.prepare('INSERT INTO outbox (kind, ref, payload, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?)'),
      due: db.prepare<[string, number], Row>(
        `SELECT id, kind, ref, payload, idempotency_key, attempts, created_at FROM outbox
         WHERE sent_at IS NULL AND failed_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
         ORDER BY id LIMIT ?`,
      ),
      lease: db.prepare('UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?'),
      ack: db.prepare('UPDATE outbox SET sent_at = ?, last_error = NULL WHERE id = ? AND sent_at IS NULL'),
      retry: db.prepare('UPDATE outbox SET last_error = ?, next_attempt_at = ? WHERE id = ? AND sent_at IS NULL'),
      giveUp: db.prepare('UPDATE outbox SET last_error = ?, failed_at = ? WHERE id = ? AND sent_at IS NULL'),
      counts: db.prepare<[], { pending: number; sent: number; failed: number }>(
        `SELECT coalesce(sum(sent_at IS NULL AND failed_at IS NULL), 0) AS pending, coalesce(sum(sent_at IS NOT NULL), 0) AS sent,
           coalesce(sum(failed_at IS NOT NULL), 0) AS failed FROM outbox`,
      ),
    };
  }

  /**
   * Adds an item. Call it inside the transaction of the change it reports. The key defaults to a
   * random one; pass a deterministic key when the same change could be enqueued twice.
   */
  enqueue(kind: OutboxKind, ref: string, payload: unknown, idempotencyKey = `${kind}-${crypto.randomUUID()}`): number {
    return Number(this.s.insert.run(kind, ref, JSON.stringify(payload), idempotencyKey, new Date().toISOString()).lastInsertRowid);
  }

  /** Takes up to `limit` due items, oldest first, leased for `leaseMs` (an immediate transaction: one claimer at a time). */
  claim(limit: number, opts: { now?: number; leaseMs?: number } = {}): OutboxItem[] {
    const now = opts.now ?? Date.now();
    const until = iso(now + (opts.leaseMs ?? 60_000));
    return immediate(this.db, () => {
      const rows = this.s.due.all(iso(now), limit);
      for (const r of rows) this.s.lease.run(until, r.id);
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

  /** The item reached the server. */
  ack(id: number, now = Date.now()): void {
    this.s.ack.run(iso(now), id);
  }

  /** The attempt failed: retried at `retryAt`, or never again when it is null (a permanent failure, kept with its reason). */
  fail(id: number, error: string, retryAt: number | null, now = Date.now()): void {
    if (retryAt === null) this.s.giveUp.run(error, iso(now), id);
    else this.s.retry.run(error, iso(retryAt), id);
  }

  counts(): { pending: number; sent: number; failed: number } {
    return this.s.counts.get()!;
  }
}
