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

describe('the outbox, exact cases', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const iso = (ms: number) => new Date(ms).toISOString();
  const row = (db: ReturnType<typeof fresh>, id: number) =>
    db.prepare('SELECT attempts, next_attempt_at, last_error, sent_at, failed_at FROM outbox WHERE id = ?').get(id);

  it('leases for a minute by default; the lease ends exactly at its time', () => {
    const db = fresh();
    const box = new Outbox(db);
    const id = box.enqueue('correction', 'r', [1, 'two']);
    expect(box.claim(5, { now: t0 }).map((i) => [i.id, i.attempts])).toEqual([[id, 1]]);
    expect(row(db, id)).toEqual({ attempts: 1, next_attempt_at: iso(t0 + 60_000), last_error: null, sent_at: null, failed_at: null });
    expect(box.claim(5, { now: t0 + 59_999 })).toEqual([]);
    const again = box.claim(5, { now: t0 + 60_000, leaseMs: 5 });
    expect(again.map((i) => [i.id, i.attempts, i.payload])).toEqual([[id, 2, [1, 'two']]]);
    expect(row(db, id)).toMatchObject({ attempts: 2, next_attempt_at: iso(t0 + 60_005) });
    db.close();
  });

  it('claims at most `limit` items, oldest first, and leaves the rest due', () => {
    const db = fresh();
    const box = new Outbox(db);
    const ids = ['a', 'b', 'c'].map((r) => box.enqueue('correction', r, { r }));
    expect(box.claim(2, { now: t0 }).map((i) => i.id)).toEqual(ids.slice(0, 2));
    expect(box.claim(2, { now: t0 }).map((i) => i.id)).toEqual([ids[2]]);
    expect(box.claim(2, { now: t0 })).toEqual([]);
    expect(box.counts()).toEqual({ pending: 3, sent: 0, failed: 0 });
    db.close();
  });

  it('gives every item a distinct default key and its creation time', () => {
    const db = fresh();
    const box = new Outbox(db);
    const before = Date.now();
    box.enqueue('correction', 'a', null);
    box.enqueue('correction', 'b', 'text');
    const after = Date.now();
    const items = box.claim(10, { now: after + 1 });
    expect(items.map((i) => [i.kind, i.ref, i.payload])).toEqual([
      ['correction', 'a', null],
      ['correction', 'b', 'text'],
    ]);
    expect(items[0].idempotencyKey).not.toBe(items[1].idempotencyKey);
    for (const i of items) {
      expect(i.idempotencyKey).toMatch(/^correction-[0-9a-f-]{36}$/);
      expect(Date.parse(i.createdAt)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(i.createdAt)).toBeLessThanOrEqual(after);
    }
    db.close();
  });

  it('ack and fail stamp the current time by default; a retry keeps its reason and next time', () => {
    const db = fresh();
    const box = new Outbox(db);
    const [sent, retried, refused] = ['a', 'b', 'c'].map((r) => box.enqueue('correction', r, {}));
    const before = Date.now();
    box.ack(sent);
    box.fail(refused, 'HTTP 422', null);
    box.fail(retried, 'timeout', t0 + 30_000);
    const after = Date.now();
    const stamp = (v: unknown) => Date.parse(String(v));
    const s = row(db, sent) as { sent_at: string };
    expect(stamp(s.sent_at)).toBeGreaterThanOrEqual(before);
    expect(stamp(s.sent_at)).toBeLessThanOrEqual(after);
    const f = row(db, refused) as { failed_at: string; last_error: string; sent_at: null };
    expect([f.last_error, f.sent_at]).toEqual(['HTTP 422', null]);
    expect(stamp(f.failed_at)).toBeGreaterThanOrEqual(before);
    expect(stamp(f.failed_at)).toBeLessThanOrEqual(after);
    expect(row(db, retried)).toEqual({
      attempts: 0,
      next_attempt_at: iso(t0 + 30_000),
      last_error: 'timeout',
      sent_at: null,
      failed_at: null,
    });
    // an item sent is never failed afterwards, and a failure is never retried
    box.fail(sent, 'late', t0);
    box.fail(sent, 'late', null);
    expect(row(db, sent)).toMatchObject({ last_error: null, failed_at: null });
    expect(box.claim(10, { now: t0 + 30_000 }).map((i) => i.id)).toEqual([retried]);
    expect(box.counts()).toEqual({ pending: 1, sent: 1, failed: 1 });
    db.close();
  });

  it('an ack clears the error of an earlier attempt', () => {
    const db = fresh();
    const box = new Outbox(db);
    const id = box.enqueue('correction', 'a', {});
    box.fail(id, 'HTTP 503', t0);
    box.ack(id, t0 + 1);
    expect(row(db, id)).toMatchObject({ last_error: null, sent_at: iso(t0 + 1) });
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
    expect(db.pragma('user_version', { simple: true })).toBe(migrations[migrations.length - 1].version);
    const box = new Outbox(db);
    expect(box.counts()).toEqual({ pending: 1, sent: 1, failed: 0 });
    expect(box.claim(10).map((i) => i.idempotencyKey)).toEqual(['k1']);
    const index = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'outbox_due'`).get() as { sql: string };
    expect(index.sql).toMatch(/WHERE sent_at IS NULL AND failed_at IS NULL/);
    expect(db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'outbox_unsent'`).get()).toEqual({ n: 0 });
    db.close();
  });
});
