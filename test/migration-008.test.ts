/** Migration 008 (retail) on a database made by the migrations before it: the catalog keeps its rows, new tables hold. */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrations } from '../src/main/engine/db/migrations';
import { APPLICATION_ID, openDb } from '../src/main/engine/db';
import { tmpDir } from './tmp';

describe('migration 008 (retail)', () => {
  it('adds the catalog fields, planogram and price_tags, keeping catalog rows', () => {
    const file = path.join(tmpDir(), 'm8.db');
    const raw = new Database(file);
    for (const m of migrations.filter((m) => m.version < 8)) m.up(raw);
    raw.pragma(`user_version = ${Math.max(...migrations.filter((m) => m.version < 8).map((m) => m.version))}`);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.prepare("INSERT INTO catalog (id, sku, name, created_at) VALUES ('cat_1', 'S1', 'Old SKU', '2026-01-01')").run();
    raw.close();

    const db = openDb(file);
    expect(db.pragma('user_version', { simple: true })).toBe(migrations[migrations.length - 1].version);
    expect(db.prepare("SELECT sku, name, brand, model_label, expected_facings FROM catalog WHERE id = 'cat_1'").get()).toEqual({
      sku: 'S1',
      name: 'Old SKU',
      brand: null,
      model_label: null,
      expected_facings: null,
    });
    const t = new Date().toISOString();
    db.prepare("INSERT INTO locations (id, name, created_at, updated_at) VALUES ('loc_1', 'Store', ?, ?)").run(t, t);
    db.prepare("INSERT INTO planogram (location_id, sku, expected_facings, shelf_row, updated_at) VALUES ('loc_1', 'S1', 2, 1, ?)").run(t);
    // a SKU not in the catalog, a row 0, negative facings: refused by the schema
    expect(() => db.prepare("INSERT INTO planogram (location_id, sku, updated_at) VALUES ('loc_1', 'NOPE', ?)").run(t)).toThrow(
      /FOREIGN KEY/,
    );
    expect(() => db.prepare('UPDATE planogram SET shelf_row = 0').run()).toThrow(/CHECK/);
    expect(() => db.prepare('UPDATE planogram SET expected_facings = -1').run()).toThrow(/CHECK/);
    // a SKU renamed in the catalog follows in the planogram; deleted, it leaves it
    db.prepare("UPDATE catalog SET sku = 'S2' WHERE sku = 'S1'").run();
    expect(db.prepare('SELECT sku FROM planogram').all()).toEqual([{ sku: 'S2' }]);
    db.prepare("DELETE FROM catalog WHERE sku = 'S2'").run();
    expect(db.prepare('SELECT count(*) AS n FROM planogram').get()).toEqual({ n: 0 });
    db.close();
  });
});
