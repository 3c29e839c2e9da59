import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, openDb } from '../src/main/engine/db';
import { migrations } from '../src/main/engine/db/migrations';
import { ConfigError } from '../src/main/engine/errors';
import { tmpDir } from './helpers';

const tables = (db: Database.Database) =>
  (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);

describe('migrations', () => {
  it('are numbered in increasing order (numbers are assigned per feature: a gap waits for its merge), one per file', () => {
    const versions = migrations.map((m) => m.version);
    expect(versions[0]).toBe(1);
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]);
    for (const m of migrations) expect(m.name.slice(0, 3)).toBe(String(m.version).padStart(3, '0'));
    const dir = path.resolve(import.meta.dirname, '../src/main/engine/db/migrations');
    const files = fs
      .readdirSync(dir)
      .filter((f) => /^\d{3}_.*\.ts$/.test(f))
      .sort();
    expect(files.map((f) => f.replace(/\.ts$/, ''))).toEqual(migrations.map((m) => m.name));
  });

  it('001_initial creates the KLIQ tables with their constraints on a real file', () => {
    const file = path.join(tmpDir(), 'm1.db');
    const db = new Database(file);
    db.pragma('foreign_keys = ON');
    expect(migrate(db, migrations, 1)).toBe(1);
    expect(tables(db)).toEqual(['cv_jobs', 'detections', 'locations', 'observation_sources', 'observations']);
    const t = new Date().toISOString();
    db.prepare(`INSERT INTO observations (id, sha256, source_path, created_at, updated_at) VALUES ('obs_1', 'abc', '/x.jpg', ?, ?)`).run(
      t,
      t,
    );
    // the seed's statuses only
    expect(() => db.prepare(`UPDATE observations SET status = 'done' WHERE id = 'obs_1'`).run()).toThrow(/CHECK/);
    expect(() =>
      db
        .prepare(`INSERT INTO observations (id, sha256, source_path, created_at, updated_at) VALUES ('obs_2', 'abc', '/y.jpg', ?, ?)`)
        .run(t, t),
    ).toThrow(/UNIQUE/);
    expect(() =>
      db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, status, created_at) VALUES ('job_1', 'obs_1', 'm', 'running', ?)`).run(t),
    ).toThrow(/CHECK/);
    expect(() =>
      db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, created_at) VALUES ('job_1', 'obs_missing', 'm', ?)`).run(t),
    ).toThrow(/FOREIGN KEY/);
    db.prepare(`INSERT INTO cv_jobs (id, observation_id, model, created_at) VALUES ('job_1', 'obs_1', 'm', ?)`).run(t);
    expect(() =>
      db
        .prepare(
          `INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height)
           VALUES ('job_1', 'obs_1', 'cup', 1.5, 0, 0, 1, 1)`,
        )
        .run(),
    ).toThrow(/CHECK/);
    db.prepare(
      `INSERT INTO detections (cv_job_id, observation_id, object_name, confidence, x, y, width, height)
           VALUES ('job_1', 'obs_1', 'cup', 0.5, 0, 0, 1, 1)`,
    ).run();
    // deleting an observation removes its jobs and detections
    db.prepare(`DELETE FROM observations WHERE id = 'obs_1'`).run();
    expect(db.prepare('SELECT count(*) AS n FROM detections').get()).toEqual({ n: 0 });
    db.close();
  });

  it('openDb migrates to the latest version once, in WAL mode, and keeps data on reopen', () => {
    const file = path.join(tmpDir(), 'open.db');
    const db = openDb(file);
    expect(db.pragma('user_version', { simple: true })).toBe(migrations[migrations.length - 1].version);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const t = new Date().toISOString();
    db.prepare(`INSERT INTO locations (id, name, created_at, updated_at) VALUES ('loc_1', 'Store', ?, ?)`).run(t, t);
    db.close();
    const again = openDb(file);
    expect(again.prepare('SELECT name FROM locations').get()).toEqual({ name: 'Store' });
    again.close();
  });

  it('refuses a database from a newer app, and a file that is not a database', () => {
    const file = path.join(tmpDir(), 'newer.db');
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    expect(() => openDb(file)).toThrow(ConfigError);
    expect(() => openDb(file)).toThrow(/newer than this app knows/);
    const text = path.join(tmpDir(), 'text.db');
    fs.writeFileSync(text, 'this is not sqlite '.repeat(100));
    expect(() => openDb(text)).toThrow(/cannot open the database .*not a database/);
  });
});
