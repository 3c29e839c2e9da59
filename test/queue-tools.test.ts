/**
 * The queue's tools for auditing at speed (issue 13), in the engine on real SQLite: the file-name search
 * (a bound LIKE with its wildcards escaped, on the file name only), bulk review (a correction row and an
 * outbox row per photo changed, a transaction per batch, the photos that cannot be accepted skipped and
 * named, a retried bulk applied once), an export of selected photos, and a re-audit of chosen photos.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/main/engine/db';
import { queueKeysSql } from '../src/main/engine/db/queries';
import { selectForExport } from '../src/main/engine/export/select';
import { EngineHost } from '../src/main/engine/host';
import { BULK_BATCH, ReviewService } from '../src/main/engine/review';
import { createRpcHandler } from '../src/main/engine/rpc';
import { GENERAL, tmpDir } from './helpers';

let db: Db;
const T = '2026-01-01T00:00:00.000Z';

/** Photos by path: completed with one model box, unless the status says otherwise. */
function addPhotos(rows: { id: string; path: string; status?: string; review?: string; error?: string }[]) {
  const obs = db.prepare(
    `INSERT INTO observations (id, source_path, status, review_status, error, sha256, width, height, metadata, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 100, 100, '{}', ?, ?)`,
  );
  const job = db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, created_at) VALUES (?, ?, 'm', 'completed', ?)`);
  const det = db.prepare(
    `INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height, source)
     VALUES (?, ?, 'bottle', 0.4, 0, 0, 10, 10, 'model')`,
  );
  const current = db.prepare('UPDATE observations SET current_job_id = ? WHERE id = ?');
  db.transaction(() => {
    for (const r of rows) {
      const status = r.status ?? 'completed';
      obs.run(r.id, r.path, status, r.review ?? 'unreviewed', r.error ?? null, `sha_${r.id}`, T, T);
      if (status !== 'completed') continue;
      job.run(`j_${r.id}`, r.id, T);
      det.run(`j_${r.id}`, r.id);
      current.run(`j_${r.id}`, r.id);
    }
  })();
  db.exec(`UPDATE observations SET ${queueKeysSql('observations.current_job_id')}`);
}

const idsOf = (r: { items: { observationId: string }[] }) => r.items.map((i) => i.observationId).sort();

beforeEach(() => {
  db = openDb(':memory:');
});
afterEach(() => db.close());

describe('search by file name', () => {
  beforeEach(() =>
    addPhotos([
      { id: 'pct', path: '/visits/100%_a.jpg' },
      { id: 'any', path: '/visits/100xxa.jpg' }, // what 100%_a matches when % and _ stay wildcards
      { id: 'zero', path: '/visits/1000_a.jpg' }, // likewise (_ one character)
      { id: 'dir', path: '/visits/dog_shelf/cat.jpg' }, // "dog" only in the folder
      { id: 'win', path: 'C:\\photos\\Dog.JPG' },
      { id: 'bs', path: '/visits/back\\slash.jpg' }, // a backslash in a POSIX file name: the name is "slash.jpg" here too
    ]),
  );
  const review = () => new ReviewService(db, { user: 't' });
  const find = (name: string) => idsOf(review().queue({ filter: { name }, sort: 'path', offset: 0, limit: 100 }));

  it('takes %, _ and \\ literally', () => {
    expect(find('100%_a')).toEqual(['pct']);
    expect(find('%')).toEqual(['pct']);
    expect(find('0_a')).toEqual(['zero']);
    expect(find('_a')).toEqual(['pct', 'zero']);
    expect(find('\\')).toEqual([]);
  });

  it('matches the file name only, case-insensitively, with / and \\ folders', () => {
    expect(find('dog')).toEqual(['win']);
    expect(find('DOG.jpg')).toEqual(['win']);
    expect(find('cat')).toEqual(['dir']);
    expect(find('photos')).toEqual([]);
    expect(find('slash')).toEqual(['bs']);
    expect(find('back')).toEqual([]);
  });

  it('applies with the other filters, in counts and summaries', () => {
    db.prepare(`UPDATE observations SET review_status = 'reviewed' WHERE id = 'zero'`).run();
    const r = review();
    expect(idsOf(r.queue({ filter: { name: '_a', review: 'unreviewed' }, sort: 'path', offset: 0, limit: 100 }))).toEqual(['pct']);
    expect(r.queueCounts({ filter: { name: '_a' } }).byReview).toEqual({ unreviewed: 1, reviewed: 1, flagged: 0 });
    expect(r.batchSummary({ filter: { name: '100' } }).photos).toBe(3);
  });
});

describe('bulk review', () => {
  const corrections = () =>
    db.prepare('SELECT observation_id AS id, action, before, after, who FROM corrections ORDER BY id').all() as {
      id: string;
      action: string;
      before: string;
      after: string;
      who: string;
    }[];
  const outboxRefs = () => db.prepare(`SELECT ref FROM outbox WHERE kind = 'labels' ORDER BY id`).pluck().all() as string[];

  it('accepts the chosen photos: a correction and an outbox row each; not audited ones skipped and named; accepted ones left', async () => {
    addPhotos([
      { id: 'a', path: '/v/a.jpg' },
      { id: 'b', path: '/v/b.jpg' },
      { id: 'done', path: '/v/done.jpg', review: 'reviewed' },
      { id: 'bad', path: '/v/bad.jpg', status: 'failed', error: 'not a photo' },
      { id: 'wait', path: '/v/wait.jpg', status: 'pending' },
    ]);
    const changed: string[][] = [];
    const r = new ReviewService(db, { user: 'rep_jane', onChanged: (ids) => changed.push(ids) });
    const res = await r.bulkReview({ selection: { ids: ['a', 'bad', 'done', 'b', 'wait', 'gone'] }, review: 'reviewed', bulkId: 'bulk1' });
    expect(res).toEqual({
      total: 6,
      changed: 2,
      unchanged: 1,
      skippedCount: 3,
      skipped: [
        { observationId: 'bad', fileName: 'bad.jpg', reason: 'failed: not a photo' },
        { observationId: 'wait', fileName: 'wait.jpg', reason: 'not audited yet (pending)' },
        { observationId: 'gone', fileName: 'gone', reason: 'no such photo' },
      ],
    });
    const states = Object.fromEntries(
      (
        db.prepare('SELECT id, review_status AS s, reviewed_by AS who FROM observations').all() as { id: string; s: string; who: string }[]
      ).map((o) => [o.id, [o.s, o.who]]),
    );
    expect(states).toEqual({
      a: ['reviewed', 'rep_jane'],
      b: ['reviewed', 'rep_jane'],
      done: ['reviewed', null],
      bad: ['unreviewed', null],
      wait: ['unreviewed', null],
    });
    expect(corrections()).toEqual([
      { id: 'a', action: 'review', who: 'rep_jane', ...json({ review: 'unreviewed', reason: null }, { review: 'reviewed', reason: null }) },
      { id: 'b', action: 'review', who: 'rep_jane', ...json({ review: 'unreviewed', reason: null }, { review: 'reviewed', reason: null }) },
    ]);
    expect(outboxRefs()).toEqual(['a', 'b']);
    expect(changed).toEqual([['a', 'b']]);
  });

  it('flags every photo of a filter with the reason, failed ones too; a flag needs a reason', async () => {
    addPhotos([
      { id: 'a', path: '/v/a.jpg' },
      { id: 'bad', path: '/v/bad.jpg', status: 'failed' },
      { id: 'done', path: '/v/done.jpg', review: 'reviewed' },
    ]);
    const r = new ReviewService(db, { user: 'u' });
    await expect(r.bulkReview({ selection: { filter: {} }, review: 'flagged', reason: '  ', bulkId: 'x' })).rejects.toThrow(/reason/);
    const res = await r.bulkReview({
      selection: { filter: { review: 'unreviewed' } },
      review: 'flagged',
      reason: ' blurry ',
      bulkId: 'f1',
    });
    expect(res).toMatchObject({ total: 2, changed: 2, unchanged: 0, skippedCount: 0 });
    expect(db.prepare(`SELECT id, flag_reason FROM observations WHERE review_status = 'flagged' ORDER BY id`).all()).toEqual([
      { id: 'a', flag_reason: 'blurry' },
      { id: 'bad', flag_reason: 'blurry' },
    ]);
    expect(corrections().map((c) => [c.id, JSON.parse(c.after)])).toEqual([
      ['a', { review: 'flagged', reason: 'blurry' }],
      ['bad', { review: 'flagged', reason: 'blurry' }],
    ]);
  });

  it('works in batches (progress after each) and a retried bulk writes nothing twice', async () => {
    const n = BULK_BATCH * 2 + 37;
    addPhotos(Array.from({ length: n }, (_, i) => ({ id: `p${String(i).padStart(5, '0')}`, path: `/v/${i}.jpg` })));
    const progress: [string, number, number][] = [];
    const changedEvents: number[] = [];
    const r = new ReviewService(db, {
      user: 'u',
      onBulkProgress: (id, done, total) => progress.push([id, done, total]),
      onChanged: (ids) => changedEvents.push(ids.length),
    });
    const res = await r.bulkReview({ selection: { filter: {} }, review: 'reviewed', bulkId: 'big' });
    expect(res).toMatchObject({ total: n, changed: n, skippedCount: 0 });
    expect(progress).toEqual([
      ['big', 0, n],
      ['big', BULK_BATCH, n],
      ['big', 2 * BULK_BATCH, n],
      ['big', n, n],
    ]);
    expect(changedEvents).toEqual([BULK_BATCH, BULK_BATCH, 37]);
    expect(db.prepare('SELECT count(*) FROM corrections').pluck().get()).toBe(n);
    expect(db.prepare(`SELECT count(DISTINCT ref) FROM outbox WHERE kind = 'labels'`).pluck().get()).toBe(n);
    // the same bulk again (its answer was lost): each photo is applied once
    const again = await r.bulkReview({ selection: { filter: {} }, review: 'reviewed', bulkId: 'big' });
    expect(again).toMatchObject({ total: n, changed: n, unchanged: 0 });
    expect(db.prepare('SELECT count(*) FROM corrections').pluck().get()).toBe(n);
    // another bulk: already accepted, nothing written
    expect(await r.bulkReview({ selection: { filter: {} }, review: 'reviewed', bulkId: 'other' })).toMatchObject({
      changed: 0,
      unchanged: n,
    });
    expect(db.prepare('SELECT count(*) FROM corrections').pluck().get()).toBe(n);
  });

  it('names at most 100 skipped photos and counts the rest', async () => {
    addPhotos(Array.from({ length: 130 }, (_, i) => ({ id: `f${i}`, path: `/v/f${i}.jpg`, status: 'failed' })));
    const res = await new ReviewService(db, { user: 'u' }).bulkReview({ selection: { filter: {} }, review: 'reviewed', bulkId: 'b' });
    expect(res.skippedCount).toBe(130);
    expect(res.skipped).toHaveLength(100);
    expect(db.prepare('SELECT count(*) FROM corrections').pluck().get()).toBe(0);
  });

  it('refuses more ids than a page may send, at the contract', async () => {
    const host = new EngineHost(db, { user: 'u' });
    const call = createRpcHandler(host);
    const ids = Array.from({ length: 5001 }, (_, i) => `o${i}`);
    const r = await call('bulkReview', { selection: { ids }, review: 'reviewed', bulkId: 'b' });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).toMatch(/at most 5000 photo ids/);
    const both = await call('bulkReview', { selection: { ids: ['a'], filter: {} }, review: 'reviewed', bulkId: 'b' });
    expect(JSON.stringify(both)).toMatch(/either photo ids or a filter/);
  });
});

function json(before: unknown, after: unknown) {
  return { before: JSON.stringify(before), after: JSON.stringify(after) };
}

describe('export of a selection', () => {
  it('writes only the chosen photos of the filter', () => {
    addPhotos([
      { id: 'a', path: '/v/a.jpg' },
      { id: 'b', path: '/v/b.jpg' },
      { id: 'c', path: '/v/c.jpg', review: 'reviewed' },
    ]);
    const pick = (ids: string[] | undefined, review?: 'reviewed' | 'unreviewed') =>
      selectForExport(db, { filter: review ? { review } : {}, ids, reviewedOnly: false, split: 1, seed: 0 })
        .photos.map((p) => p.observationId)
        .sort();
    expect(pick(undefined)).toEqual(['a', 'b', 'c']);
    expect(pick(['a', 'c'])).toEqual(['a', 'c']);
    expect(pick(['a', 'c'], 'unreviewed')).toEqual(['a']);
  });
});

describe('re-audit of chosen photos', () => {
  it('audits their files again with the settings given, keeps no import folder, and skips a deleted file', async () => {
    const dir = tmpDir();
    for (const f of ['dog.jpg', 'person.jpg', 'giraffe.jpg']) fs.copyFileSync(path.join(GENERAL, f), path.join(dir, f));
    const host = EngineHost.open(path.join(dir, 'reaudit.db'), { user: 'u', provider: 'cpu' }).start();
    try {
      const call = createRpcHandler(host);
      host.imports.startImport({ paths: [dir], confThreshold: 0.25 });
      await host.imports.idle();
      const id = (f: string) =>
        host.db.prepare('SELECT id FROM observations WHERE source_path = ?').pluck().get(path.join(dir, f)) as string;
      const jobs = (f: string) =>
        host.db
          .prepare(`SELECT json_extract(options, '$.conf') FROM cv_jobs WHERE observation_id = ? ORDER BY created_at`)
          .pluck()
          .all(id(f));
      const folders = host.db.prepare('SELECT path FROM import_folders').pluck().all();
      host.db.prepare(`UPDATE observations SET source_state = 'deleted' WHERE id = ?`).run(id('giraffe.jpg'));

      const r = await call('reauditPhotos', { selection: { ids: [id('dog.jpg'), id('giraffe.jpg')] }, confThreshold: 0.6 });
      expect(r.ok).toBe(true);
      const res = (r as { result: { importId: string; photos: number; skipped: unknown[] } }).result;
      expect(res.photos).toBe(1);
      expect(res.skipped).toEqual([{ observationId: id('giraffe.jpg'), fileName: 'giraffe.jpg', reason: 'the file was deleted' }]);
      await host.imports.idle();
      const info = host.imports.list().find((i) => i.importId === res.importId)!;
      expect(info).toMatchObject({ state: 'done', label: 'Re-audit of 1 photo', paths: [path.join(dir, 'dog.jpg')] });
      expect(jobs('dog.jpg')).toEqual([0.25, 0.6]);
      expect(jobs('person.jpg')).toEqual([0.25]);
      expect(host.db.prepare('SELECT path FROM import_folders').pluck().all()).toEqual(folders);
      // unreviewed and uncorrected: the new run is the photo's result now
      const current = host.db.prepare('SELECT j.options FROM observations o JOIN cv_jobs j ON j.id = o.current_job_id WHERE o.id = ?');
      expect(JSON.parse(current.pluck().get(id('dog.jpg')) as string).conf).toBe(0.6);
    } finally {
      await host.close();
    }
  }, 120_000);
});
