/**
 * "Verified" per box (issue 13): the auditor marks a box as checked. It is data: an edit like a move
 * (correction row + outbox row in one transaction, version bump, refused on a stale version), stored in
 * detections.verified (migration 012) and returned in the photo's detail.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, openDb } from '../src/main/engine/db';
import { migrations } from '../src/main/engine/db/migrations';
import { runAudit } from '../src/main/engine/audit';
import { EngineHost } from '../src/main/engine/host';
import { createRpcHandler } from '../src/main/engine/rpc';
import { ConflictError } from '../src/main/engine/errors';
import { ReviewService } from '../src/main/engine/review';
import { SyncStore } from '../src/main/engine/sync/store';
import { GENERAL, tmpDir } from './helpers';

async function audited() {
  const db = openDb(path.join(tmpDir(), 'verify.db'));
  await runAudit({ paths: [path.join(GENERAL, 'dog.jpg')], db, provider: 'cpu' });
  const obs = (db.prepare('SELECT id FROM observations').get() as { id: string }).id;
  return { db, host: new EngineHost(db, { user: 'rep_jane' }), obs };
}

const count = (db: Database.Database, sql: string) => (db.prepare(sql).get() as { n: number }).n;

describe('verifying a box', () => {
  it('is an edit: a correction row and an outbox row carrying verified, a version bump, shown in the detail', async () => {
    const { db, host, obs } = await audited();
    const d = host.review.photo({ observationId: obs }).detections[0];
    expect(d.verified).toBe(false);
    const labelsBefore = new SyncStore(db).labelsSnapshot(obs).labels;

    const v = host.review.verifyDetection({ detectionId: d.id, version: d.version, verified: true, clientEditId: 'v-1' });
    expect(v).toMatchObject({ id: d.id, verified: true, version: d.version + 1, boundingBox: d.boundingBox, objectName: d.objectName });
    expect(db.prepare('SELECT verified FROM detections WHERE id = ?').get(d.id)).toEqual({ verified: 1 });
    expect(host.review.photo({ observationId: obs }).detections.find((x) => x.id === d.id)!.verified).toBe(true);
    // verifying is not a correction of the model's box: "corrected" stays as it was
    expect(v.corrected).toBe(false);

    const c = db.prepare('SELECT action, before, after, who, client_edit_id FROM corrections').all() as Record<string, string>[];
    expect(c).toHaveLength(1);
    const state = { objectName: d.objectName, boundingBox: d.boundingBox };
    expect(c[0]).toMatchObject({ action: 'update', who: 'rep_jane', client_edit_id: 'v-1' });
    expect(JSON.parse(c[0].before)).toEqual({ ...state, verified: false });
    expect(JSON.parse(c[0].after)).toEqual({ ...state, verified: true });
    const out = db.prepare(`SELECT ref, payload FROM outbox WHERE kind = 'labels'`).all() as { ref: string; payload: string }[];
    expect(out).toHaveLength(1);
    expect(out[0].ref).toBe(obs);
    expect(JSON.parse(out[0].payload)).toMatchObject({ detectionId: d.id, action: 'update', after: { ...state, verified: true } });
    // the KLIQ API has no field for it: the label set a labels item PUTs is the same as before
    expect(new SyncStore(db).labelsSnapshot(obs).labels).toEqual(labelsBefore);

    // a retry of the same edit (its answer lost) is applied once
    expect(host.review.verifyDetection({ detectionId: d.id, version: d.version, verified: true, clientEditId: 'v-1' })).toEqual(v);
    expect(count(db, 'SELECT count(*) AS n FROM corrections')).toBe(1);

    // and taken back the same way
    const un = host.review.verifyDetection({ detectionId: d.id, version: v.version, verified: false });
    expect(un).toMatchObject({ verified: false, version: v.version + 1 });
    expect(count(db, 'SELECT count(*) AS n FROM corrections')).toBe(2);
    expect(count(db, `SELECT count(*) AS n FROM outbox WHERE kind = 'labels'`)).toBe(2);
    // through the contract, with its checks
    const rpc = createRpcHandler(host);
    expect(await rpc('verifyDetection', { detectionId: d.id, version: un.version, verified: 'yes' })).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    });
    expect(await rpc('verifyDetection', { detectionId: d.id, version: un.version, verified: true })).toMatchObject({
      ok: true,
      result: { verified: true },
    });
    db.close();
  });

  it('on a stale version (another tab moved the box) is refused as a conflict and records nothing', async () => {
    const { db, host, obs } = await audited();
    const shown = host.review.photo({ observationId: obs }).detections[0];
    const moved = host.review.updateDetection({
      detectionId: shown.id,
      version: shown.version,
      boundingBox: { ...shown.boundingBox, x: shown.boundingBox.x + 4 },
    });
    expect(() => host.review.verifyDetection({ detectionId: shown.id, version: shown.version, verified: true })).toThrow(ConflictError);
    expect(db.prepare('SELECT verified, version FROM detections WHERE id = ?').get(shown.id)).toEqual({
      verified: 0,
      version: moved.version,
    });
    expect(count(db, 'SELECT count(*) AS n FROM corrections')).toBe(1);
    expect(count(db, `SELECT count(*) AS n FROM outbox WHERE kind = 'labels'`)).toBe(1);
    const r = await createRpcHandler(host)('verifyDetection', { detectionId: shown.id, version: shown.version, verified: true });
    expect(r).toMatchObject({ ok: false, error: { code: 'conflict' } });
    // verifying twice, or a deleted box, is refused too
    const v = host.review.verifyDetection({ detectionId: shown.id, version: moved.version, verified: true });
    expect(() => host.review.verifyDetection({ detectionId: shown.id, version: v.version, verified: true })).toThrow(/already verified/);
    const gone = host.review.deleteDetection({ detectionId: shown.id, version: v.version });
    expect(() => host.review.verifyDetection({ detectionId: shown.id, version: gone.version, verified: false })).toThrow(/deleted/);
    db.close();
  });
});

describe('migration 012_detection_verified', () => {
  it('adds detections.verified (0) to a version-10 database with data, keeping its rows', () => {
    const db = new Database(path.join(tmpDir(), 'm12.db'));
    db.pragma('foreign_keys = ON');
    expect(migrate(db, migrations, 10)).toBe(10);
    const t = '2025-06-01T00:00:00.000Z';
    db.prepare(
      `INSERT INTO observations (id, sha256, source_path, status, width, height, created_at, updated_at)
       VALUES ('obs_1', 'abc', '/in/a.jpg', 'completed', 640, 480, ?, ?)`,
    ).run(t, t);
    db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, created_at) VALUES ('job_1', 'obs_1', 'm', 'completed', ?)`).run(t);
    db.prepare(`UPDATE observations SET current_job_id = 'job_1'`).run();
    const insert = db.prepare(
      `INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height, source, version, updated_at)
       VALUES ('job_1', 'obs_1', ?, ?, 10, 20, 30, 40, ?, ?, ?)`,
    );
    insert.run('dog', 0.8, 'model', 1, t);
    insert.run('cat', 1, 'user', 3, t);
    const rowsBefore = db.prepare('SELECT * FROM detections ORDER BY id').all();

    expect(migrate(db, migrations, 12)).toBe(12);
    const rowsAfter = db.prepare('SELECT * FROM detections ORDER BY id').all() as Record<string, unknown>[];
    expect(rowsAfter.map(({ verified, ...rest }) => (expect(verified).toBe(0), rest))).toEqual(rowsBefore);
    expect(() => db.prepare('UPDATE detections SET verified = 2').run()).toThrow(/CHECK constraint failed/);
    expect(() => db.prepare('UPDATE detections SET verified = NULL').run()).toThrow(/NOT NULL constraint failed/);

    // the review works on it: the boxes come unverified, and a verify is recorded
    migrate(db);
    const review = new ReviewService(db, { user: 'rep_jane' });
    const dets = review.photo({ observationId: 'obs_1' }).detections;
    expect(dets.map((d) => [d.objectName, d.verified, d.version])).toEqual([
      ['cat', false, 3],
      ['dog', false, 1],
    ]);
    expect(review.verifyDetection({ detectionId: dets[1].id, version: 1, verified: true })).toMatchObject({ verified: true, version: 2 });
    db.close();
  });
});
