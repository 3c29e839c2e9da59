/**
 * Migration 010 (watched import folders; numbered 007 on its branch) on a real file at version 5 with data in it: folders keep their
 * rows and get visit, tiles and paused; observations start 'present'; the new constraints hold.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../src/main/engine/db';
import { migrations } from '../src/main/engine/db/migrations';
import { tmpDir } from './tmp';

describe('migration 010_import_folders', () => {
  it('adds folder settings and file states to a version-5 database, keeping its rows', () => {
    const db = new Database(path.join(tmpDir(), 'm7.db'));
    db.pragma('foreign_keys = ON');
    expect(migrate(db, migrations, 5)).toBe(5);
    const t = '2025-06-01T00:00:00.000Z';
    db.prepare(`INSERT INTO locations (id, name, created_at, updated_at) VALUES ('loc_1', 'Store', ?, ?)`).run(t, t);
    db.prepare(`INSERT INTO import_folders (path, location_id, watch, added_at, last_import_at) VALUES ('/in', 'loc_1', 1, ?, ?)`).run(
      t,
      t,
    );
    db.prepare(
      `INSERT INTO observations (id, sha256, source_path, status, created_at, updated_at)
       VALUES ('obs_1', 'abc', '/in/a.jpg', 'completed', ?, ?)`,
    ).run(t, t);
    db.prepare(`INSERT INTO observation_sources (path, observation_id, seen_at) VALUES ('/in/a.jpg', 'obs_1', ?)`).run(t);
    expect(migrate(db, migrations, 10)).toBe(10);
    expect(db.prepare('SELECT path, location_id, watch, visit_id, tiles, paused FROM import_folders').all()).toEqual([
      { path: '/in', location_id: 'loc_1', watch: 1, visit_id: null, tiles: null, paused: 0 },
    ]);
    expect(db.prepare('SELECT source_state, source_state_at FROM observations').get()).toEqual({
      source_state: 'present',
      source_state_at: null,
    });
    expect(db.prepare('SELECT deleted_at FROM observation_sources').get()).toEqual({ deleted_at: null });
    // the constraints: known tiles and states only, paused 0/1
    expect(() => db.prepare(`UPDATE import_folders SET tiles = '9'`).run()).toThrow(/CHECK constraint failed/);
    expect(() => db.prepare(`UPDATE import_folders SET paused = 2`).run()).toThrow(/CHECK constraint failed/);
    expect(() => db.prepare(`UPDATE observations SET source_state = 'gone'`).run()).toThrow(/CHECK constraint failed/);
    db.prepare(`UPDATE import_folders SET tiles = 'auto', paused = 1, visit_id = 'v-1'`).run();
    db.prepare(`UPDATE observations SET source_state = 'deleted'`).run();
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'observations_source_path'`).get()).toEqual({
      name: 'observations_source_path',
    });
    db.close();
  });
});
