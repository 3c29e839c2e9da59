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
import { QueueCache } from '../src/main/engine/db/queue-cache';
import { BULK_BATCH } from '../src/main/engine/review';
import { generateQueue, oracleCounts } from './queue-oracle';
import { tmpDir } from './tmp';
import { startServe, type Served } from './ui-helpers';

const PHOTOS = 6000;

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
function expectWholeBatches(db: Db, audited: number): number {
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  const reviewed = db.prepare(`SELECT count(*) FROM observations WHERE review_status = 'reviewed'`).pluck().get() as number;
  // whole batches of BULK_BATCH (the last one smaller)
  if (reviewed < audited) expect(reviewed % BULK_BATCH).toBe(0);
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
  for (const filter of [{}, { review: 'reviewed' as const }, { review: 'unreviewed' as const }, { label: 'cup' }, { location: 'Store 1' }])
    expect(cache.counts(filter), JSON.stringify(filter)).toEqual(oracleCounts(db, filter));
  return reviewed;
}

describe('kill -9 of serve during a bulk accept', () => {
  it('leaves whole batches only, counts that agree, and the same bulk sent again finishes it once', async () => {
    const file = path.join(tmpDir(), 'bulk.db');
    const seed = openDb(file);
    generateQueue(seed, PHOTOS);
    // the bulk takes the audited photos (a few failed or not audited are not in its filter)
    const audited = seed.prepare(`SELECT count(*) FROM observations WHERE status = 'completed'`).pluck().get() as number;
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
    const reviewed = expectWholeBatches(db, audited);
    // it died in the middle: what was written is kept, and not everything was
    expect(reviewed).toBeGreaterThanOrEqual(killedAt);
    expect(reviewed).toBeLessThan(audited);
    db.close();

    // the page sends the same bulk again once serve is back: the photos done are not done twice
    const second = await startServe(file, 'auditor');
    try {
      const again = await connect(second, () => undefined);
      const result = (await again.call('bulkReview', BULK)) as { total: number; changed: number; skippedCount: number };
      again.close();
      expect(result).toMatchObject({ total: audited, changed: audited, skippedCount: 0 });
    } finally {
      await second.stop();
    }
    const after = openDb(file);
    expect(expectWholeBatches(after, audited)).toBe(audited);
    expect(after.prepare('SELECT count(*) FROM corrections').pluck().get()).toBe(audited);
    after.close();
  }, 120_000);
});
