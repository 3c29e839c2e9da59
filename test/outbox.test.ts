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
    const a = box.enqueue('labels', 'c1', { n: 1 }, { idempotencyKey: 'key-a' });
    const b = box.enqueue('labels', 'c2', { n: 2 });
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const first = box.claim(10, { now: t0, leaseMs: 1000 });
    expect(first.map((i) => [i.id, i.ref, i.payload, i.attempts])).toEqual([
      [a, 'c1', { n: 1 }, 1],
      [b, 'c2', { n: 2 }, 1],
    ]);
    expect(first[0].idempotencyKey).toBe('key-a');
    expect(first[1].idempotencyKey).toMatch(/^labels-[0-9a-f-]{36}$/);
    // leased: a second drainer gets nothing until the lease runs out
    expect(box.claim(10, { now: t0 + 999 })).toEqual([]);
    const again = box.claim(1, { now: t0 + 1000, leaseMs: 1000 });
    expect(again.map((i) => [i.id, i.attempts, i.idempotencyKey])).toEqual([[a, 2, 'key-a']]);
    db.close();
  });

  it('ack removes an item for good; a retry waits for its time; a permanent failure keeps its reason', () => {
    const db = fresh();
    const box = new Outbox(db);
    const [sent, retried, refused] = ['a', 'b', 'c'].map((r) => box.enqueue('labels', r, {}));
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
        box.enqueue('labels', 'x', {});
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
    const id = box.enqueue('labels', 'r', [1, 'two']);
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
    const ids = ['a', 'b', 'c'].map((r) => box.enqueue('labels', r, { r }));
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
    box.enqueue('labels', 'a', null);
    box.enqueue('labels', 'b', 'text');
    const after = Date.now();
    const items = box.claim(10, { now: after + 1 });
    expect(items.map((i) => [i.kind, i.ref, i.payload])).toEqual([
      ['labels', 'a', null],
      ['labels', 'b', 'text'],
    ]);
    expect(items[0].idempotencyKey).not.toBe(items[1].idempotencyKey);
    for (const i of items) {
      expect(i.idempotencyKey).toMatch(/^labels-[0-9a-f-]{36}$/);
      expect(Date.parse(i.createdAt)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(i.createdAt)).toBeLessThanOrEqual(after);
    }
    db.close();
  });

  it('ack and fail stamp the current time by default; a retry keeps its reason and next time', () => {
    const db = fresh();
    const box = new Outbox(db);
    const [sent, retried, refused] = ['a', 'b', 'c'].map((r) => box.enqueue('labels', r, {}));
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
    const id = box.enqueue('labels', 'a', {});
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

describe('migration 006 (sync) on a database made by 005', () => {
  it("gives completed photos their upload, observation and result items, and turns 002's correction items into labels items", () => {
    const file = path.join(tmpDir(), 'v5.db');
    const v5 = new Database(file);
    migrate(v5, migrations, 5);
    const t = '2026-01-01T00:00:00.000Z';
    v5.prepare(`INSERT INTO observations (id, source_path, sha256, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`).run(
      'obs_a',
      '/p/a.jpg',
      'sha-a',
      'completed',
      t,
      t,
    );
    v5.prepare(`INSERT INTO observations (id, source_path, sha256, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`).run(
      'obs_f',
      '/p/f.jpg',
      'sha-f',
      'failed',
      t,
      t,
    );
    v5.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, created_at) VALUES ('job_a', 'obs_a', 'm', 'completed', ?)`).run(t);
    v5.prepare(`UPDATE observations SET current_job_id = 'job_a' WHERE id = 'obs_a'`).run();
    const c = v5
      .prepare(`INSERT INTO corrections (observation_id, action, who, created_at) VALUES ('obs_a', 'review', 'jane', ?)`)
      .run(t).lastInsertRowid;
    v5.prepare(
      `INSERT INTO outbox (kind, ref, payload, idempotency_key, created_at) VALUES ('correction', ?, '{"action":"review"}', 'k1', ?)`,
    ).run(String(c), t);
    v5.close();
    const db = openDb(file);
    const rows = db.prepare('SELECT id, kind, ref, depends_on, idempotency_key, payload FROM outbox ORDER BY id').all() as {
      id: number;
      kind: string;
      ref: string;
      depends_on: number | null;
      idempotency_key: string;
      payload: string;
    }[];
    const byKind = Object.fromEntries(rows.map((r) => [r.kind, r]));
    expect(rows.map((r) => r.kind).sort()).toEqual(['cvJob', 'labels', 'observation', 'upload']); // the failed photo has none
    expect(byKind.labels).toMatchObject({ ref: 'obs_a', depends_on: byKind.observation.id, idempotency_key: 'k1' });
    expect(JSON.parse(byKind.labels.payload)).toEqual({ action: 'review', correctionId: Number(c) });
    expect(byKind.upload).toMatchObject({ ref: 'obs_a', depends_on: null, idempotency_key: 'upload:obs_a' });
    expect(byKind.observation).toMatchObject({ ref: 'obs_a', depends_on: byKind.upload.id });
    expect(byKind.cvJob).toMatchObject({ ref: 'job_a', depends_on: byKind.observation.id, idempotency_key: 'cvJob:job_a' });
    // claimed in dependency order: the upload first, then (once sent) the observation, then the result and labels
    const box = new Outbox(db);
    expect(box.claim(10, { leaseMs: 1 }).map((i) => i.kind)).toEqual(['upload']);
    box.ack(byKind.upload.id);
    expect(box.claim(10, { leaseMs: 1 }).map((i) => i.kind)).toEqual(['observation']);
    box.ack(byKind.observation.id);
    expect(
      box
        .claim(10, { leaseMs: 1 })
        .map((i) => i.kind)
        .sort(),
    ).toEqual(['cvJob', 'labels']);
    db.close();
  });
});

describe('outbox dependencies and failures', () => {
  it('a permanent failure stops the items waiting on it, naming it; a retry makes them all due again', () => {
    const db = fresh();
    const box = new Outbox(db);
    const up = box.enqueue('upload', 'o', {});
    const obs = box.enqueue('observation', 'o', {}, { dependsOn: up });
    const job = box.enqueue('cvJob', 'j', {}, { dependsOn: obs });
    const other = box.enqueue('upload', 'p', {});
    expect(box.claim(10).map((i) => i.id)).toEqual([up, other]);
    box.fail(up, 'the photo is gone', null);
    expect(box.failed().map((f) => [f.id, f.error])).toEqual([
      [up, 'the photo is gone'],
      [obs, `waits on outbox item ${up}, which failed: the photo is gone`],
      [job, `waits on outbox item ${up}, which failed: the photo is gone`],
    ]);
    expect(box.counts()).toEqual({ pending: 1, sent: 0, failed: 3 });
    expect(box.retryFailed(up)).toBe(3);
    expect(box.claim(10).map((i) => i.id)).toEqual([up]);
    db.close();
  });

  it("items leased by a dead run are due at once; a live run's stay leased; the same key enqueues once", () => {
    const db = fresh();
    const box = new Outbox(db);
    const a = box.enqueue('upload', 'a', {}, { idempotencyKey: 'upload:a' });
    expect(box.enqueue('upload', 'a', {}, { idempotencyKey: 'upload:a' })).toBe(a);
    const b = box.enqueue('upload', 'b', {});
    box.claim(1, { owner: 'run_dead', leaseMs: 600_000 });
    box.claim(1, { owner: 'run_live', leaseMs: 600_000 });
    expect(box.claim(10)).toEqual([]);
    expect(box.releaseDead((id) => id === 'run_live')).toBe(1);
    expect(box.claim(10).map((i) => i.id)).toEqual([a]);
    expect(box.counts().pending).toBe(2);
    void b;
    db.close();
  });
});
