/**
 * BuildingScan in the engine and the CLI: `audit --building --asset --visit` links photos to an asset
 * and a visit (found or created by name), clear errors when an asset cannot be told; grades are edits
 * (version checked, replayed once, a correction and an outbox row each) and drive the drill-down.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openDb } from '../src/main/engine/db';
import { BuildingService } from '../src/main/engine/buildings';
import { ReviewService } from '../src/main/engine/review';
import { ConfigError, ConflictError } from '../src/main/engine/errors';
import { GENERAL, ROOT, tmpDir } from './helpers';

const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');
const run = promisify(execFile);
async function cli(args: string[]) {
  try {
    const r = await run(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: 120_000 });
    return { code: 0, stderr: r.stderr };
  } catch (e) {
    return { code: (e as { code: number }).code, stderr: (e as { stderr: string }).stderr };
  }
}

describe('BuildingScan', () => {
  it('audit --building --asset --visit links each photo; a new asset needs its building; an ambiguous name needs --building', async () => {
    const dir = tmpDir();
    const db = path.join(dir, 'b.db');
    const photos = path.join(dir, 'p');
    fs.mkdirSync(photos);
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(photos, 'dog.jpg'));
    const noBuilding = await cli(['audit', photos, '--db', db, '--provider', 'cpu', '--asset', 'Roof']);
    expect(noBuilding.code).toBe(2);
    expect(noBuilding.stderr).toMatch(/no asset "Roof" yet: add --building NAME to create it/);
    expect(
      (await cli(['audit', photos, '--db', db, '--provider', 'cpu', '--building', 'HQ', '--asset', 'Roof', '--visit', 'V1'])).code,
    ).toBe(0);
    const other = path.join(dir, 'q');
    fs.mkdirSync(other);
    fs.copyFileSync(path.join(GENERAL, 'giraffe.jpg'), path.join(other, 'giraffe.jpg'));
    expect(
      (await cli(['audit', other, '--db', db, '--provider', 'cpu', '--building', 'Depot', '--asset', 'Roof', '--visit', 'V2'])).code,
    ).toBe(0);
    const ambiguous = await cli(['audit', other, '--db', db, '--provider', 'cpu', '--asset', 'Roof']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/asset "Roof" exists in several buildings \(.*HQ.*\): add --building NAME/);

    const h = openDb(db);
    const b = new BuildingService(h, { user: 't' });
    const blds = b.buildings();
    expect(blds.map((x) => [x.name, x.assets, x.photos, x.visits])).toEqual([
      ['Depot', 1, 1, 1],
      ['HQ', 1, 1, 1],
    ]);
    const [roof] = b.buildingAssets({ buildingId: blds[1].id });
    expect(roof).toMatchObject({ name: 'Roof', building: 'HQ', photos: 1, visits: 1, lastVisit: 'V1', condition: null });
    expect(b.assetVisits({ assetId: roof.id }).map((v) => [v.visit, v.photos])).toEqual([['V1', 1]]);
    // the asset by its id works too
    expect(b.resolvePlace({ asset: roof.id })).toMatchObject({ assetId: roof.id, buildingId: blds[1].id });
    expect(() => b.resolvePlace({ asset: roof.id, building: 'Depot' })).toThrow(ConfigError);
    h.close();
  });

  it('grades are edits: version checked, a retried edit applied once, correction + outbox rows, drill-down counts', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'g.db');
    expect(
      (
        await cli([
          'audit',
          path.join(GENERAL, 'dog.jpg'),
          '--db',
          file,
          '--provider',
          'cpu',
          '--building',
          'HQ',
          '--asset',
          'Gate',
          '--visit',
          'V',
        ])
      ).code,
    ).toBe(0);
    const db = openDb(file);
    const changed: string[][] = [];
    const b = new BuildingService(db, { user: 'ann', onChanged: (ids) => changed.push(ids) });
    const review = new ReviewService(db, { user: 'ann' });
    const obs = db.prepare('SELECT id FROM observations').pluck().get() as string;
    const [d] = review.photo({ observationId: obs }).detections;
    const graded = b.setDetectionCondition({ detectionId: d.id, version: d.version, condition: 'critical', clientEditId: 'e1' });
    expect(graded).toMatchObject({ condition: 'critical', version: d.version + 1, objectName: d.objectName });
    expect(b.setDetectionCondition({ detectionId: d.id, version: d.version, condition: 'critical', clientEditId: 'e1' }).version).toBe(
      d.version + 1,
    );
    expect(() => b.setDetectionCondition({ detectionId: d.id, version: d.version, condition: 'good' })).toThrow(ConflictError);
    expect(review.photo({ observationId: obs }).detections.find((x) => x.id === d.id)!.condition).toBe('critical');
    expect(b.setAssetCondition({ observationId: obs, condition: 'poor' })).toMatchObject({
      name: 'Gate',
      condition: 'poor',
      conditionBy: 'ann',
    });
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    expect(count(`SELECT count(*) FROM corrections WHERE who = 'ann'`)).toBe(2);
    expect(count(`SELECT count(*) FROM outbox WHERE kind = 'labels'`)).toBe(2);
    expect(changed).toEqual([[obs], [obs]]);
    const [v] = b.assetVisits({ assetId: db.prepare('SELECT id FROM assets').pluck().get() as string });
    expect(v.conditions).toEqual({ good: 0, fair: 0, poor: 0, critical: 1 });
    expect(b.buildings()[0].conditions).toEqual({ good: 0, fair: 0, poor: 1, critical: 0 });
    // the queue filter by grade: the box's grade, or the asset's
    expect(review.queue({ filter: { condition: 'critical' }, sort: 'path', offset: 0, limit: 10 }).total).toBe(1);
    expect(review.queue({ filter: { condition: 'poor' }, sort: 'path', offset: 0, limit: 10 }).total).toBe(1);
    expect(review.queue({ filter: { condition: 'good' }, sort: 'path', offset: 0, limit: 10 }).total).toBe(0);
    expect(review.queue({ filter: { building: 'HQ' }, sort: 'path', offset: 0, limit: 10 }).total).toBe(1);
    expect(review.queue({ filter: { building: 'Elsewhere' }, sort: 'path', offset: 0, limit: 10 }).total).toBe(0);
    db.close();
  });
});
