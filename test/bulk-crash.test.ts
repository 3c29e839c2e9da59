/**
 * kill -9 of a real `kliq-audit serve` in the middle of a bulk accept sent over its WebSocket, as the
 * Queue's Accept of a whole filter sends it (issue 13). What the database holds after: each batch of
 * BULK_BATCH photos is all or nothing (every photo of it reviewed with its one correction and its outbox
 * row, or none of it), the queue's facet tables agree with a count of the rows, and the file is sound.
 * The same bulk sent again (same bulkId) to a restarted serve finishes it: each photo reviewed once.
 */
import path from 'node:path';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/main/engine/db';
import { queueKeysSql } from '../src/main/engine/db/queries';
import { QueueCache } from '../src/main/engine/db/queue-cache';
import { BULK_BATCH } from '../src/main/engine/review';
import { oracleCounts } from './queue-oracle';
import { tmpDir } from './tmp';
import { startServe, type Served } from './ui-helpers';

const PHOTOS = 6000;
const LABELS = ['bottle', 'cup', 'dog', 'price tag'];

/** `n` completed, unreviewed photos with a few boxes each, written by SQL. */
function generate(db: Db, n: number) {
  const t = '2026-12-01T00:00:00.000Z';
  db.transaction(() => {
    const obs = db.prepare(`INSERT INTO observations (id, sha256, source_path, bytes, mime_type, width, height, metadata, status,
        created_at, updated_at) VALUES (?, ?, ?, 1, 'image/jpeg', 1280, 960, ?, 'completed', ?, ?)`);
    const job = db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, provider, summary, created_at, completed_at)
      VALUES (?, ?, 'yolox-nano-coco', 'completed', 'cpu', '{}', ?, ?)`);
    const det = db.prepare(`INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height)
      VALUES (?, ?, ?, ?, 10, 10, 50, 50)`);
    for (let i = 0; i < n; i++) {
      const id = `obs_${String(i).padStart(5, '0')}`;
      obs.run(id, `sha_${i}`, `/photos/shelf_${i}.jpg`, JSON.stringify({ visit_id: `v${i % 5}` }), t, t);
      job.run(`job_${i}`, id, t, t);
      for (let k = 0; k < 1 + (i % 4); k++) det.run(`job_${i}`, id, LABELS[(i + k) % LABELS.length], ((i * 7 + k * 13) % 100) / 100);
    }
    db.exec(`UPDATE observations SET current_job_id = 'job_' || CAST(substr(id, 5) AS INTEGER)`);
    db.exec(`UPDATE observations SET ${queueKeysSql('observations.current_job_id')}`);
  })();
}

/** A client of serve's WebSocket: calls, and every 'bulk' progress event it sends. */
async function connect(s: Served, onBulk: (done: number, total: number) => void) {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/rpc?token=${s.token}`, { origin: s.origin });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (m) => {
    const msg = JSON.parse(m.toString()) as {
      kind: string;
      id?: number;
      ok?: boolean;
      result?: unknown;
      error?: { message: string };
      events?: { type: string; done?: number; total?: number }[];
    };
    if (msg.kind === 'events') for (const e of msg.events ?? []) if (e.type === 'bulk') onBulk(e.done!, e.total!);
    if (msg.kind !== 'response') return;
    const w = waiting.get(msg.id!);
    waiting.delete(msg.id!);
    if (msg.ok) w?.resolve(msg.result);
    else w?.reject(new Error(msg.error?.message));
  });
  // the server went away: whatever was waiting fails instead of hanging
  ws.on('close', () => {
    for (const w of waiting.values()) w.reject(new Error('connection closed'));
    waiting.clear();
  });
  let id = 0;
  return {
    call: (method: string, params: unknown) =>
      new Promise<unknown>((resolve, reject) => {
        const i = ++id;
        waiting.set(i, { resolve, reject });
        ws.send(JSON.stringify({ id: i, method, params }));
      }),
    close: () => ws.close(),
  };
}

const BULK = { selection: { filter: { status: 'completed' } }, review: 'reviewed', bulkId: 'bulk-crash-1' };

/** What a crash may leave: whole batches only, each photo of them with its one correction and outbox row. */
function expectWholeBatches(db: Db): number {
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  const reviewed = db.prepare(`SELECT count(*) FROM observations WHERE review_status = 'reviewed'`).pluck().get() as number;
  expect(reviewed % BULK_BATCH).toBe(0);
  // every reviewed photo has exactly one correction of this bulk and an outbox row; no other photo has either
  const corrections = db
    .prepare(
      `SELECT count(*) FROM observations o WHERE (o.review_status = 'reviewed') <>
         ((SELECT count(*) FROM corrections c WHERE c.observation_id = o.id AND c.client_edit_id = ? || '/' || o.id) = 1)`,
    )
    .pluck()
    .get(BULK.bulkId) as number;
  expect(corrections, 'photos whose review and correction rows disagree').toBe(0);
  const outbox = db
    .prepare(
      `SELECT count(*) FROM observations o WHERE (o.review_status = 'reviewed') <>
         EXISTS (SELECT 1 FROM outbox x WHERE x.ref = o.id AND x.kind = 'labels')`,
    )
    .pluck()
    .get() as number;
  expect(outbox, 'photos whose review and outbox rows disagree').toBe(0);
  // the facet tables (kept by triggers in the edits' transactions) say what the rows say
  const cache = new QueueCache(db);
  for (const filter of [{}, { review: 'reviewed' as const }, { review: 'unreviewed' as const }, { label: 'cup' }])
    expect(cache.counts(filter), JSON.stringify(filter)).toEqual(oracleCounts(db, filter));
  return reviewed;
}

describe('kill -9 of serve during a bulk accept', () => {
  it('leaves whole batches only, counts that agree, and the same bulk sent again finishes it once', async () => {
    const file = path.join(tmpDir(), 'bulk.db');
    const seed = openDb(file);
    generate(seed, PHOTOS);
    seed.close();

    const first = await startServe(file, 'auditor');
    let killedAt = -1;
    const rpc = await connect(first, (done, total) => {
      // killed once some batches committed and while the next ones are being written
      if (killedAt < 0 && done > 0 && done < total) {
        killedAt = done;
        first.proc.kill('SIGKILL');
      }
    });
    await expect(rpc.call('bulkReview', BULK)).rejects.toThrow('connection closed');
    rpc.close();
    await first.stop();
    expect(killedAt).toBeGreaterThan(0);

    const db = openDb(file);
    const reviewed = expectWholeBatches(db);
    // it died in the middle: what was written is kept, and not everything was
    expect(reviewed).toBeGreaterThanOrEqual(killedAt);
    expect(reviewed).toBeLessThan(PHOTOS);
    db.close();

    // the page sends the same bulk again once serve is back: the photos done are not done twice
    const second = await startServe(file, 'auditor');
    try {
      const again = await connect(second, () => undefined);
      const result = (await again.call('bulkReview', BULK)) as { total: number; changed: number; skippedCount: number };
      again.close();
      expect(result).toMatchObject({ total: PHOTOS, changed: PHOTOS, skippedCount: 0 });
    } finally {
      await second.stop();
    }
    const after = openDb(file);
    expect(expectWholeBatches(after)).toBe(PHOTOS);
    expect(after.prepare('SELECT count(*) FROM corrections').pluck().get()).toBe(PHOTOS);
    after.close();
  }, 120_000);
});
