/**
 * The local KLIQ API server's storage: one SQLite file (better-sqlite3, WAL). Resources are JSON documents
 * in one table keyed by id, tenant and kind; `seq` orders them and is the pagination cursor. Credentials,
 * uploads, idempotency records and webhook deliveries have their own tables. Everything survives a restart.
 */
import crypto from 'node:crypto';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export type Kind = 'observation' | 'location' | 'trackedObject' | 'cvJob' | 'webhook' | 'building' | 'asset' | 'visit' | 'labels';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  email TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), password_hash TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS oauth_clients (
  client_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), secret_hash TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refresh_tokens (
  jti TEXT PRIMARY KEY, subject TEXT NOT NULL, tenant_id TEXT NOT NULL, expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS resources (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, tenant_id TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS resources_by_kind ON resources (tenant_id, kind, seq);
CREATE TABLE IF NOT EXISTS uploads (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, content_type TEXT NOT NULL, filename TEXT NOT NULL, file TEXT,
  bytes INTEGER, expires_at INTEGER NOT NULL, created_at TEXT NOT NULL, uploaded_at TEXT);
CREATE TABLE IF NOT EXISTS idempotency (
  scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL, status INTEGER, body TEXT,
  created_at TEXT NOT NULL, PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, webhook_id TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL,
  event_id TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL,
  next_at INTEGER NOT NULL, last_error TEXT);
`;

export const nowIso = () => new Date().toISOString();
export const randomId = (prefix: string) => prefix + crypto.randomBytes(10).toString('hex');
export const sha256 = (s: string | Buffer) => crypto.createHash('sha256').update(s).digest('hex');

/** scrypt, salted; verified in constant time. */
export function hashSecret(secret: string): string {
  const salt = crypto.randomBytes(16);
  return `scrypt$${salt.toString('hex')}$${crypto.scryptSync(secret, salt, 32).toString('hex')}`;
}
export function checkSecret(secret: string, stored: string): boolean {
  const [, salt, hash] = stored.split('$');
  if (!salt || !hash) return false;
  const got = crypto.scryptSync(secret, Buffer.from(salt, 'hex'), 32);
  const want = Buffer.from(hash, 'hex');
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

export interface Row {
  seq: number;
  id: string;
  tenant_id: string;
  kind: Kind;
  data: string;
}

export class Store {
  readonly db: Db;
  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('busy_timeout = 5000');
    if (file !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  meta(key: string, make: () => string): string {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    if (row) return row.value;
    const value = make();
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(key, value);
    return value;
  }

  // ---- tenants and credentials (provisioned by flags; idempotent across restarts)

  provisionTenant(t: {
    id: string;
    apiKey?: string;
    users?: { email: string; password: string }[];
    clients?: { id: string; secret: string }[];
  }) {
    const now = nowIso();
    this.db.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO tenants (id, created_at) VALUES (?, ?)').run(t.id, now);
      if (t.apiKey) {
        const owner = this.tenantOfApiKey(t.apiKey);
        if (owner && owner !== t.id) throw new Error(`API key already belongs to tenant ${owner}`);
        this.db.prepare('INSERT OR IGNORE INTO api_keys (hash, tenant_id, created_at) VALUES (?, ?, ?)').run(sha256(t.apiKey), t.id, now);
      }
      for (const u of t.users ?? []) {
        this.db
          .prepare(
            `INSERT INTO users (email, tenant_id, password_hash, created_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (email) DO UPDATE SET tenant_id = excluded.tenant_id, password_hash = excluded.password_hash`,
          )
          .run(u.email.toLowerCase(), t.id, hashSecret(u.password), now);
      }
      for (const c of t.clients ?? []) {
        this.db
          .prepare(
            `INSERT INTO oauth_clients (client_id, tenant_id, secret_hash, created_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (client_id) DO UPDATE SET tenant_id = excluded.tenant_id, secret_hash = excluded.secret_hash`,
          )
          .run(c.id, t.id, hashSecret(c.secret), now);
      }
    })();
  }

  tenantOfApiKey(key: string): string | null {
    const row = this.db.prepare('SELECT tenant_id FROM api_keys WHERE hash = ?').get(sha256(key)) as { tenant_id: string } | undefined;
    return row?.tenant_id ?? null;
  }
  user(email: string) {
    return this.db.prepare('SELECT email, tenant_id, password_hash FROM users WHERE email = ?').get(email.toLowerCase()) as
      { email: string; tenant_id: string; password_hash: string } | undefined;
  }
  oauthClient(id: string) {
    return this.db.prepare('SELECT client_id, tenant_id, secret_hash FROM oauth_clients WHERE client_id = ?').get(id) as
      { client_id: string; tenant_id: string; secret_hash: string } | undefined;
  }

  // ---- resources

  insert<T extends { id: string; tenantId: string }>(kind: Kind, doc: T): T {
    this.db
      .prepare('INSERT INTO resources (id, tenant_id, kind, data) VALUES (?, ?, ?, ?)')
      .run(doc.id, doc.tenantId, kind, JSON.stringify(doc));
    return doc;
  }
  put<T extends { id: string; tenantId: string }>(kind: Kind, doc: T): T {
    const r = this.db.prepare('UPDATE resources SET data = ? WHERE id = ? AND kind = ?').run(JSON.stringify(doc), doc.id, kind);
    if (r.changes === 0) this.insert(kind, doc);
    return doc;
  }
  get<T>(tenantId: string, kind: Kind, id: string): T | null {
    const row = this.db.prepare('SELECT data FROM resources WHERE id = ? AND tenant_id = ? AND kind = ?').get(id, tenantId, kind) as
      { data: string } | undefined;
    return row ? (JSON.parse(row.data) as T) : null;
  }
  remove(tenantId: string, kind: Kind, id: string): boolean {
    return this.db.prepare('DELETE FROM resources WHERE id = ? AND tenant_id = ? AND kind = ?').run(id, tenantId, kind).changes > 0;
  }
  /** One page after `afterSeq`, filtered on top-level fields of the document (equality). */
  list<T>(tenantId: string, kind: Kind, filters: Record<string, string | undefined>, afterSeq: number, limit: number) {
    const where = ['tenant_id = ?', 'kind = ?', 'seq > ?'];
    const args: (string | number)[] = [tenantId, kind, afterSeq];
    for (const [field, value] of Object.entries(filters)) {
      if (value === undefined) continue;
      if (!/^[A-Za-z]+$/.test(field)) throw new Error(`bad filter field ${field}`);
      where.push(`json_extract(data, '$.${field}') = ?`);
      args.push(value);
    }
    const rows = this.db
      .prepare(`SELECT seq, data FROM resources WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`)
      .all(...args, limit + 1) as { seq: number; data: string }[];
    const hasMore = rows.length > limit;
    const kept = rows.slice(0, limit);
    return { items: kept.map((r) => JSON.parse(r.data) as T), lastSeq: kept.length ? kept[kept.length - 1].seq : null, hasMore };
  }
  /** All of a kind in a tenant matching a filter (small sets: webhooks of a tenant). */
  all<T>(tenantId: string, kind: Kind): T[] {
    return (
      this.db.prepare('SELECT data FROM resources WHERE tenant_id = ? AND kind = ? ORDER BY seq').all(tenantId, kind) as { data: string }[]
    ).map((r) => JSON.parse(r.data) as T);
  }
  /** Resources of a kind in every tenant whose JSON field equals a value (queued CV jobs at start). */
  allWhere<T>(kind: Kind, field: string, value: string): T[] {
    if (!/^[A-Za-z]+$/.test(field)) throw new Error(`bad field ${field}`);
    return (
      this.db
        .prepare(`SELECT data FROM resources WHERE kind = ? AND json_extract(data, '$.${field}') = ? ORDER BY seq`)
        .all(kind, value) as {
        data: string;
      }[]
    ).map((r) => JSON.parse(r.data) as T);
  }
}
