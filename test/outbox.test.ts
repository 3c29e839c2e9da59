import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, openDb } from '../src/main/engine/db';
import { migrations } from '../src/main/engine/db/migrations';
import { Outbox } from '../src/main/engine/db/outbox';
import { tmpDir } from './tmp';

const fresh = () => openDb(path.join(tmpDir(), 'outbox.db'));

describe('the outbox: enqueue, claim, ack, fail', () => {
  it('hands out due items oldest first, once per lease, with their payload and stable key', () => {
    const db = fresh();
    const box = new Outbox(db);
    const a = box.enqueue('correction', 'c1', { n: 1 }, 'key-a');
    const b = box.enqueue('correction', 'c2', { n: 2 });
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const first = box.claim(10, { now: t0, leaseMs: 1000 });
    expect(first.map((i) => [i.id, i.ref, i.payload, i.attempts])).toEqual([
      [a, 'c1', { n: 1 }, 1],
      [b, 'c2', { n: 2 }, 1],
    ]);
    expect(first[0].idempotencyKey).toBe('key-a');
    expect(first[1].idempotencyKey).toMatch(/^correction-[0-9a-f-]{36}$/);
    // leased: a second drainer gets nothing until the lease runs out
    expect(box.claim(10, { now: t0 + 999 })).toEqual([]);
    const again = box.claim(1, { now: t0 + 1000, leaseMs: 1000 });
    expect(again.map((i) => [i.id, i.attempts, i.idempotencyKey])).toEqual([[a, 2, 'key-a']]);
    db.close();
  });

  it('ack removes an item for good; a retry waits for its time; a permanent failure keeps its reason', () => {
    const db = fresh();
    const box = new Outbox(db);
    const [sent, retried, refused] = ['a', 'b', 'c'].map((r) => box.enqueue('correction', r, {}));
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    box.claim(10, { now: t0, leaseMs: 10 });
    box.ack(sent, t0);
    box.fail(retried, 'HTTP 503', t0 + 5000, t0);
    box.fail(refused, 'HTTP 400: locationId is required', null, t0);
    expect(box.counts()).toEqual({ pending: 1, sent: 1, failed: 1 });
    expect(box.claim(10, { now: t0 + 4999 })).toEqual([]);
    expect(box.claim(10, { now: t0 + 5000 }).map((i) => i.id)).toEqual([retried]);
    const row = db.prepare('SELECT last_error, failed_at, sent_at FROM outbox WHERE id = ?').get(refused);
    expect(row).toEqual({ last_error: 'HTTP 400: locationId is required', failed_at: new Date(t0).toISOString(), sent_at: null });
    // an ack after a permanent failure or a second ack changes nothing
    box.ack(sent, t0 + 1);
    expect(db.prepare('SELECT sent_at FROM outbox WHERE id = ?').get(sent)).toEqual({ sent_at: new Date(t0).toISOString() });
    db.close();
  });

  it('an enqueue inside a transaction that rolls back leaves no item', () => {
    const db = fresh();
    const box = new Outbox(db);
    expect(() =>
      db.transaction(() => {
        box.enqueue('correction', 'x', {});
        throw new Error('the change failed');
      })(),
    ).toThrow('the change failed');
    expect(box.counts()).toEqual({ pending: 0, sent: 0, failed: 0 });
    db.close();
  });
});

describe('migration 003 (outbox failed_at) on a database made by 002', () => {
  it('keeps unsent and sent items, and due items are found through the new index', () => {
    const file = path.join(tmpDir(), 'v2.db');
    const v2 = new Database(file);
    migrate(v2, migrations, 2);
    const t = '2026-01-01T00:00:00.000Z';
    const ins = v2.prepare('INSERT INTO outbox (kind, ref, payload, idempotency_key, created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?)');
    ins.run('correction', '1', '{"a":1}', 'k1', t, null);
    ins.run('correction', '2', '{"a":2}', 'k2', t, t);
    v2.close();
    const db = openDb(file);
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    const box = new Outbox(db);
    expect(box.counts()).toEqual({ pending: 1, sent: 1, failed: 0 });
    expect(box.claim(10).map((i) => i.idempotencyKey)).toEqual(['k1']);
    const index = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'outbox_due'`).get() as { sql: string };
    expect(index.sql).toMatch(/WHERE sent_at IS NULL AND failed_at IS NULL/);
    expect(db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'outbox_unsent'`).get()).toEqual({ n: 0 });
    db.close();
  });
});
