/** Migration 009 (BuildingScan tables, export ids) on a real file holding data from before it. */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../src/main/engine/db';
import { migrations } from '../src/main/engine/db/migrations';
import { tmpDir } from './tmp';

describe('migration 009_buildings_export', () => {
  it('adds buildings, assets, visits and export ids; backfills a visit per named visit; links photos to assets', () => {
    const db = new Database(path.join(tmpDir(), 'm9.db'));
    db.pragma('foreign_keys = ON');
    migrate(db, migrations, 5);
    const t = '2025-01-02T03:04:05.000Z';
    const obs = db.prepare(
      `INSERT INTO observations (id, sha256, source_path, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    obs.run('obs_1', 'a', '/a.jpg', JSON.stringify({ visit_id: 'round 1' }), t, t);
    obs.run('obs_2', 'b', '/b.jpg', JSON.stringify({ visit_id: 'round 1' }), t, t);
    obs.run('obs_3', 'c', '/c.jpg', JSON.stringify({ visit_id: 'round 2' }), t, t);
    obs.run('obs_4', 'd', '/d.jpg', '{}', t, t);
    expect(migrate(db, migrations, 9)).toBe(9);

    expect(db.prepare('SELECT name, created_at FROM visits ORDER BY name').all()).toEqual([
      { name: 'round 1', created_at: t },
      { name: 'round 2', created_at: t },
    ]);
    db.prepare(`INSERT INTO buildings (id, name, created_at, updated_at) VALUES ('bld_1', 'HQ', ?, ?)`).run(t, t);
    const asset = db.prepare(`INSERT INTO assets (id, building_id, name, condition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`);
    asset.run('ast_1', 'bld_1', 'Roof', 'fair', t, t);
    expect(() => asset.run('ast_2', 'bld_1', 'Roof', null, t, t)).toThrow(/UNIQUE/);
    expect(() => asset.run('ast_3', 'bld_1', 'Stairs', 'broken', t, t)).toThrow(/CHECK/);
    expect(() => asset.run('ast_4', 'bld_none', 'Lift', null, t, t)).toThrow(/FOREIGN KEY/);

    // the asset of a photo is read from its metadata, and indexed
    db.prepare(`UPDATE observations SET metadata = json_set(metadata, '$.asset_id', 'ast_1') WHERE id = 'obs_1'`).run();
    expect(db.prepare(`SELECT id FROM observations WHERE asset_id = 'ast_1'`).pluck().all()).toEqual(['obs_1']);
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM observations WHERE asset_id = 'ast_1'`).all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/observations_asset/);

    // export ids: a class name once, an image per photo once, removed with the photo
    db.prepare(`INSERT INTO dataset_classes (class_id, name, created_at) VALUES (0, 'crack', ?)`).run(t);
    expect(() => db.prepare(`INSERT INTO dataset_classes (class_id, name, created_at) VALUES (1, 'crack', ?)`).run(t)).toThrow(/UNIQUE/);
    db.prepare(`INSERT INTO dataset_images (observation_id, created_at) VALUES ('obs_4', ?)`).run(t);
    db.prepare(`DELETE FROM observations WHERE id = 'obs_4'`).run();
    expect(db.prepare('SELECT count(*) FROM dataset_images').pluck().get()).toBe(0);
    db.close();
  });
});
