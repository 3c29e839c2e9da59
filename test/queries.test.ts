import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/main/engine/db';
import { QUEUE_ORDER, queueKeysSql, queueWhere } from '../src/main/engine/db/queries';
import type { QueueFilter, QueueSort } from '../src/shared/rpc';

/**
 * A small database made by hand: five photos, their jobs and boxes, so the queue's filters, orders and
 * keys run through real SQL without an audit.
 *
 * photo  location  path       status     review      model   visit  created  current job boxes (older job)
 * o1     Store A   /p/c.jpg   completed  unreviewed  yolox   v1     :01      bottle .9, can .2, bottle .1 deleted, juice .05 drawn
 *                                                                              (water .3)
 * o2     Store A   /p/a.jpg   completed  reviewed    yolox   v2     :03      bottle .4, can .95, cup .1 deleted
 * o3     Store B   /p/b.jpg   completed  flagged     yolo11  v1     :02      can .6, bottle .25 drawn (can .1)
 * o4     —         /p/d.jpg   pending    unreviewed  —       —      :02      no job
 * o5     Store B   /p/a.jpg   failed     unreviewed  yolox   —      :04      a job without boxes
 *
 * Made again for each test (in memory, a few ms), in beforeEach rather than beforeAll: an error there fails
 * the test, so a mutant of queueKeysSql breaking the fixture is reported killed, not survived.
 */
let db: Db;

beforeEach(() => {
  db = openDb(':memory:');
  const t = '2026-01-01T00:00:00.000Z';
  const loc = db.prepare('INSERT INTO locations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)');
  loc.run('la', 'Store A', t, t);
  loc.run('lb', 'Store B', t, t);
  const obs = db.prepare(
    `INSERT INTO observations (id, location_id, source_path, status, review_status, model, metadata, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const meta = (visit?: string) => JSON.stringify(visit ? { visit_id: visit } : {});
  obs.run('o1', 'la', '/p/c.jpg', 'completed', 'unreviewed', 'yolox', meta('v1'), '2026-01-01T00:00:01.000Z', t);
  obs.run('o2', 'la', '/p/a.jpg', 'completed', 'reviewed', 'yolox', meta('v2'), '2026-01-01T00:00:03.000Z', t);
  obs.run('o3', 'lb', '/p/b.jpg', 'completed', 'flagged', 'yolo11', meta('v1'), '2026-01-01T00:00:02.000Z', t);
  obs.run('o4', null, '/p/d.jpg', 'pending', 'unreviewed', null, meta(), '2026-01-01T00:00:02.000Z', t);
  obs.run('o5', 'lb', '/p/a.jpg', 'failed', 'unreviewed', 'yolox', meta(), '2026-01-01T00:00:04.000Z', t);
  const job = db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, created_at) VALUES (?, ?, 'm', 'completed', ?)`);
  for (const [j, o] of [
    ['j1', 'o1'],
    ['j1old', 'o1'],
    ['j2', 'o2'],
    ['j3', 'o3'],
    ['j3old', 'o3'],
    ['j5', 'o5'],
  ]) {
    job.run(j, o, t);
  }
  const det = db.prepare(
    `INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height, source, deleted)
     VALUES (?, ?, ?, ?, 0, 0, 10, 10, ?, ?)`,
  );
  det.run('j1', 'o1', 'bottle', 0.9, 'model', 0);
  det.run('j1', 'o1', 'can', 0.2, 'model', 0);
  det.run('j1', 'o1', 'bottle', 0.1, 'model', 1);
  det.run('j1', 'o1', 'juice', 0.05, 'user', 0);
  det.run('j1old', 'o1', 'water', 0.3, 'model', 0);
  det.run('j2', 'o2', 'bottle', 0.4, 'model', 0);
  det.run('j2', 'o2', 'can', 0.95, 'model', 0);
  det.run('j2', 'o2', 'cup', 0.1, 'model', 1);
  det.run('j3', 'o3', 'can', 0.6, 'model', 0);
  det.run('j3', 'o3', 'bottle', 0.25, 'user', 0);
  det.run('j3old', 'o3', 'can', 0.1, 'model', 0);
  const current = db.prepare('UPDATE observations SET current_job_id = ? WHERE id = ?');
  for (const [o, j] of [
    ['o1', 'j1'],
    ['o2', 'j2'],
    ['o3', 'j3'],
    ['o5', 'j5'],
  ]) {
    current.run(j, o);
  }
  db.exec(`UPDATE observations SET ${queueKeysSql('observations.current_job_id')}`);
});

afterEach(() => db.close());

const ids = (filter: QueueFilter, sort: QueueSort = 'path') => {
  const w = queueWhere(filter);
  return db.prepare(`SELECT o.id FROM observations o ${w.sql} ORDER BY ${QUEUE_ORDER[sort]}`).pluck().all(w.params);
};

describe('queue keys (queueKeysSql)', () => {
  it('counts current boxes, takes the top model confidence, and ranks weak model boxes first', () => {
    const keys = db
      .prepare('SELECT id, detection_count AS n, top_confidence AS top, review_priority AS p FROM observations ORDER BY id')
      .all();
    expect(keys).toEqual([
      // 3 boxes (the drawn one counts, the deleted one not); model .9 and .2: one under 0.5, plus 1 − 0.2
      { id: 'o1', n: 3, top: 0.9, p: expect.closeTo(1.8, 9) },
      { id: 'o2', n: 2, top: 0.95, p: expect.closeTo(1.6, 9) },
      // the drawn bottle at .25 is neither the top confidence nor a weak model box
      { id: 'o3', n: 2, top: 0.6, p: expect.closeTo(0.4, 9) },
      // no job, and a job without boxes: first in the uncertain queue
      { id: 'o4', n: 0, top: null, p: 1_000_000 },
      { id: 'o5', n: 0, top: null, p: 1_000_000 },
    ]);
  });

  it('takes the job as an SQL expression, e.g. a bound parameter', () => {
    const o4 = () =>
      db.prepare(`SELECT detection_count AS n, top_confidence AS top, review_priority AS p FROM observations WHERE id = 'o4'`).get();
    db.prepare(`UPDATE observations SET ${queueKeysSql('@job')} WHERE id = 'o4'`).run({ job: 'j3old' });
    expect(o4()).toEqual({ n: 1, top: 0.1, p: expect.closeTo(1.9, 9) });
    db.prepare(`UPDATE observations SET ${queueKeysSql('@job')} WHERE id = 'o4'`).run({ job: null });
    expect(o4()).toEqual({ n: 0, top: null, p: 1_000_000 });
  });
});

describe('queue orders (QUEUE_ORDER)', () => {
  it('uncertain first, confident first, newest first, by path; ties by id', () => {
    expect(ids({}, 'uncertain')).toEqual(['o4', 'o5', 'o1', 'o2', 'o3']);
    expect(ids({}, 'confident')).toEqual(['o3', 'o2', 'o1', 'o4', 'o5']);
    // o3 and o4 were created at the same time: the higher id first
    expect(ids({}, 'newest')).toEqual(['o5', 'o2', 'o4', 'o3', 'o1']);
    // o2 and o5 have the same path: the lower id first
    expect(ids({}, 'path')).toEqual(['o2', 'o5', 'o3', 'o1', 'o4']);
  });
});

describe('queue filters (queueWhere)', () => {
  it('no filter: no WHERE, nothing bound, every photo', () => {
    expect(queueWhere({})).toEqual({ sql: '', params: {} });
    expect(ids({})).toEqual(['o2', 'o5', 'o3', 'o1', 'o4']);
  });

  it('filters by status, review, location name, visit and model', () => {
    expect(ids({ status: 'completed' })).toEqual(['o2', 'o3', 'o1']);
    expect(ids({ status: 'failed' })).toEqual(['o5']);
    expect(ids({ review: 'unreviewed' })).toEqual(['o5', 'o1', 'o4']);
    expect(ids({ review: 'flagged' })).toEqual(['o3']);
    expect(ids({ location: 'Store A' })).toEqual(['o2', 'o1']);
    expect(ids({ location: 'Nowhere' })).toEqual([]);
    expect(ids({ visit: 'v1' })).toEqual(['o3', 'o1']);
    expect(ids({ model: 'yolox' })).toEqual(['o2', 'o5', 'o1']);
  });

  it('filters by label: a current, not deleted box of it, drawn or not', () => {
    expect(ids({ label: 'bottle' })).toEqual(['o2', 'o3', 'o1']);
    expect(ids({ label: 'juice' })).toEqual(['o1']); // drawn
    expect(ids({ label: 'cup' })).toEqual([]); // deleted
    expect(ids({ label: 'water' })).toEqual([]); // an older job's
  });

  it('the confidence band counts current model boxes only, bounds included, 0 being a bound', () => {
    // .1 deleted (o2), .25 drawn (o3), .1 in an older job (o3) do not count; o1's can .2 does
    expect(ids({ confMax: 0.3 })).toEqual(['o1']);
    expect(ids({ confMax: 0.2 })).toEqual(['o1']);
    expect(ids({ confMax: 0.19 })).toEqual([]);
    expect(ids({ confMin: 0.9 })).toEqual(['o2', 'o1']);
    expect(ids({ confMin: 0.95 })).toEqual(['o2']);
    // any model box: photos without one (o4, o5) are out
    expect(ids({ confMin: 0 })).toEqual(['o2', 'o3', 'o1']);
    expect(ids({ confMax: 1 })).toEqual(['o2', 'o3', 'o1']);
    expect(ids({ confMin: 0.5, confMax: 0.7 })).toEqual(['o3']);
    expect(ids({ confMin: 0.21, confMax: 0.39 })).toEqual([]);
  });

  it('with a label, the band applies to that label’s boxes', () => {
    // o1 has a can at .2 but its bottles are .9 (and a deleted .1); o3's bottle at .25 is drawn
    expect(ids({ label: 'bottle', confMax: 0.3 })).toEqual([]);
    expect(ids({ label: 'can', confMax: 0.3 })).toEqual(['o1']);
    expect(ids({ label: 'bottle', confMin: 0.35, confMax: 0.5 })).toEqual(['o2']);
    expect(ids({ label: 'can', confMin: 0.9 })).toEqual(['o2']);
  });

  it('combines filters with AND, and binds every value', () => {
    expect(ids({ status: 'completed', review: 'unreviewed', location: 'Store A' })).toEqual(['o1']);
    expect(ids({ status: 'completed', review: 'unreviewed', location: 'Store A', model: 'yolo11' })).toEqual([]);
    expect(ids({ visit: 'v1', label: 'can', confMin: 0.5 }, 'uncertain')).toEqual(['o3']);
    expect(ids({ location: 'Store B', review: 'unreviewed' })).toEqual(['o5']);
    const f = {
      status: 'completed',
      review: 'reviewed',
      location: 'Store A',
      visit: 'v2',
      model: 'yolox',
      label: 'bottle',
      confMin: 0.3,
      confMax: 0.5,
    } as const;
    expect(queueWhere(f).params).toEqual(f);
    expect(queueWhere(f).sql).not.toMatch(/Store|bottle|yolox|0\.3/);
    expect(ids(f)).toEqual(['o2']);
  });
});
