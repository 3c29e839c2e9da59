/**
 * Webhook deliveries: one row per (event, subscription) in SQLite, POSTed signed (Kliq-Signature, see
 * src/kliq/signature.ts), retried with backoff until a 2xx or the schedule is used up. Pending deliveries
 * are resumed after a restart. Only https URLs and http://127.0.0.1 are ever contacted.
 */
import { signWebhookPayload, SIGNATURE_HEADER } from '../kliq/signature';
import { ID_PREFIX, type Webhook, type WebhookEvent, type WebhookEventType } from '../kliq/wire';
import { nowIso, randomId, type Store } from './store';

export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS = [1000, 5000, 25_000, 120_000, 600_000];

/** https anywhere, or plain http to 127.0.0.1 (the local receivers of tests and demos). */
export function deliverableUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || (u.protocol === 'http:' && u.hostname === '127.0.0.1');
  } catch {
    return false;
  }
}

interface DeliveryRow {
  id: string;
  url: string;
  secret: string;
  event_id: string;
  body: string;
  attempts: number;
  next_at: number;
}

export class WebhookDispatcher {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly retryDelaysMs: readonly number[] = DEFAULT_WEBHOOK_RETRY_DELAYS_MS,
  ) {}

  /** Resumes deliveries left pending by a previous run. */
  resume(): void {
    const rows = this.store.db.prepare("SELECT * FROM webhook_deliveries WHERE state = 'pending'").all() as DeliveryRow[];
    for (const r of rows) this.schedule(r, Math.max(0, r.next_at - Date.now()));
  }

  /** Records one delivery per subscribed webhook and starts them. */
  emit(tenantId: string, type: WebhookEventType, data: Record<string, unknown>): void {
    if (this.closed) return;
    const hooks = this.store.all<Webhook>(tenantId, 'webhook').filter((w) => w.events.includes(type));
    if (!hooks.length) return;
    const event: WebhookEvent = { id: randomId(ID_PREFIX.event), type, tenantId, createdAt: nowIso(), data };
    const body = JSON.stringify(event);
    const insert = this.store.db.prepare(
      `INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, url, secret, event_id, body, attempts, state, next_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'pending', ?)`,
    );
    for (const h of hooks) {
      const secret = this.secretOf(h.id);
      if (!secret) continue;
      const row: DeliveryRow = { id: randomId('dlv_'), url: h.url, secret, event_id: event.id, body, attempts: 0, next_at: Date.now() };
      insert.run(row.id, tenantId, h.id, h.url, secret, event.id, body, row.next_at);
      this.schedule(row, 0);
    }
  }

  private secretOf(webhookId: string): string | null {
    const row = this.store.db.prepare("SELECT value FROM meta WHERE key = 'webhook-secret:' || ?").get(webhookId) as
      { value: string } | undefined;
    return row?.value ?? null;
  }
  saveSecret(webhookId: string, secret: string): void {
    this.store.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('webhook-secret:' || ?, ?)").run(webhookId, secret);
  }

  private schedule(row: DeliveryRow, delayMs: number): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      const p = this.attempt(row).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }, delayMs);
    this.timers.add(t);
  }

  private async attempt(row: DeliveryRow): Promise<void> {
    let error: string | null = null;
    const db = this.store.db;
    if (!db.open) return;
    const live = db.prepare('SELECT 1 FROM resources WHERE id = (SELECT webhook_id FROM webhook_deliveries WHERE id = ?)').get(row.id);
    if (!live) {
      // the subscription was deleted: its pending deliveries stop
      db.prepare("UPDATE webhook_deliveries SET state = 'cancelled' WHERE id = ?").run(row.id);
      return;
    }
    if (!deliverableUrl(row.url)) error = 'refused: only https URLs and http://127.0.0.1 are delivered to';
    else {
      try {
        const event = JSON.parse(row.body) as WebhookEvent;
        const res = await fetch(row.url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'User-Agent': 'kliq-api-server',
            [SIGNATURE_HEADER]: await signWebhookPayload(row.body, row.secret),
            'Kliq-Event-Id': row.event_id,
            'Kliq-Event-Type': event.type,
            'Kliq-Delivery-Attempt': String(row.attempts + 1),
          },
          body: row.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
      } catch (err) {
        error = (err as Error).message;
      }
    }
    if (this.closed && error) return; // left pending: resumed at the next start
    row.attempts++;
    if (!db.open) return;
    if (!error) {
      db.prepare("UPDATE webhook_deliveries SET state = 'delivered', attempts = ?, last_error = NULL WHERE id = ?").run(
        row.attempts,
        row.id,
      );
    } else if (row.attempts > this.retryDelaysMs.length || error.startsWith('refused')) {
      db.prepare("UPDATE webhook_deliveries SET state = 'failed', attempts = ?, last_error = ? WHERE id = ?").run(
        row.attempts,
        error,
        row.id,
      );
    } else {
      const delay = this.retryDelaysMs[row.attempts - 1];
      row.next_at = Date.now() + delay;
      db.prepare('UPDATE webhook_deliveries SET attempts = ?, last_error = ?, next_at = ? WHERE id = ?').run(
        row.attempts,
        error,
        row.next_at,
        row.id,
      );
      this.schedule(row, delay);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }
}
