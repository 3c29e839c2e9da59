/**
 * Retail end to end on the real shelf photos and the real model: catalog and planogram imported by the
 * CLI from CSV, `audit --tiles 2 --json` printing facings, shelf positions and price tags, compliance
 * against the planogram (checked against a count made here from the JSON), and the attributes
 * recomputed when an auditor corrects a box.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SHELVES, tmpDir } from './helpers';
import { EngineHost } from '../src/main/engine/host';
import { createRpcHandler } from '../src/main/engine/rpc';
import type { AuditReport } from '../src/shared/domain';

const BIN = path.join(ROOT, 'bin', 'kliq-audit.mjs');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });

const CATALOG = `name,SKU code,brand,category,model label,expected facings,shelf row
"Coffee-mate Original, 16 oz",CM16,Nestlé,Creamer,bottle,4,
Peet's Coffee Big Bang,PB12,Peet's,"Coffee, ground",,,2
"Starbucks ""Pike Place""",SBPP,Starbucks,Coffee,,,
`;

describe('retail on the shelf photos', () => {
  let dir: string;
  let db: string;
  let report: AuditReport;

  beforeAll(() => {
    dir = tmpDir();
    db = path.join(dir, 'retail.db');
    fs.writeFileSync(path.join(dir, 'catalog.csv'), CATALOG);
    expect(cli('catalog', 'import', path.join(dir, 'catalog.csv'), '--db', db).status).toBe(0);
    // CM16 (bottles) expected in row 2 with 4 facings; PB12 never detected by a COCO model: out of stock
    fs.writeFileSync(path.join(dir, 'plan.csv'), 'sku,expected facings,expected shelf row\nCM16,4,\nPB12,2,1\n');
    expect(cli('planogram', 'import', path.join(dir, 'plan.csv'), '--location', 'Store 12', '--db', db).status).toBe(0);
    const r = cli('audit', SHELVES, '--db', db, '--provider', 'cpu', '--tiles', '2', '--location', 'Store 12', '--json');
    expect(r.status, r.stderr).toBe(0);
    report = JSON.parse(r.stdout) as AuditReport;
  }, 300_000);

  it('audit --json gives every detection its shelf row, position, facings and price tag', () => {
    expect(report.photos).toHaveLength(3);
    for (const p of report.photos) {
      expect(p.detections.length).toBeGreaterThan(0);
      const rows = Math.max(...p.detections.map((d) => d.attributes.shelfRow as number));
      for (const d of p.detections) {
        const a = d.attributes;
        expect(['top', 'eye-level', 'middle', 'bottom']).toContain(a.shelfPosition);
        expect(a.shelfRow).toBeGreaterThanOrEqual(1);
        // facings: the size of its block, the same on every member
        const block = p.detections.filter((e) => e.attributes.facingsBlock === a.facingsBlock);
        expect(a.facings).toBe(block.length);
        expect(a.priceTag === null || /^\d{1,4}\.\d{2}$/.test(a.priceTag as string)).toBe(true);
      }
      // rows are numbered from the top: a higher row number has a lower box bottom on average
      const bottom = (r: number) => {
        const ds = p.detections.filter((d) => d.attributes.shelfRow === r);
        return ds.reduce((s, d) => s + d.boundingBox.y + d.boundingBox.height, 0) / ds.length;
      };
      for (let r = 2; r <= rows; r++) expect(bottom(r)).toBeGreaterThan(bottom(r - 1));
    }
    const shelf1 = report.photos.find((p) => p.path.endsWith('shelf_1.jpg'))!;
    expect(Math.max(...shelf1.detections.map((d) => d.attributes.shelfRow as number))).toBeGreaterThanOrEqual(4);
    expect(shelf1.detections.some((d) => (d.attributes.facings as number) >= 2)).toBe(true);
    // price tags read under products (6.73 is the Rollback price on shelf_1)
    const prices = report.photos.flatMap((p) => p.detections.map((d) => d.attributes.priceTag)).filter(Boolean);
    expect(prices.length).toBeGreaterThan(10);
    // bottles map to CM16 through its model label
    const bottles = report.photos.flatMap((p) => p.detections).filter((d) => d.objectName === 'bottle');
    expect(bottles.length).toBeGreaterThan(10);
    for (const b of bottles) expect(b.attributes.sku).toBe('CM16');
  });

  it('summaries: out of stock and compliance from the location planogram, per photo and pooled for the batch', () => {
    for (const p of report.photos) {
      const bottles = p.detections.filter((d) => d.objectName === 'bottle').length;
      // CM16 compliant when ≥ 4 bottles (no row asked); PB12 (no detection) never: score 0.5 or 0
      expect(p.summary!.outOfStock).toEqual(
        bottles ? ["Peet's Coffee Big Bang"] : ['Coffee-mate Original, 16 oz', "Peet's Coffee Big Bang"],
      );
      expect(p.summary!.complianceScore).toBe(bottles >= 4 ? 0.5 : 0);
    }
    expect(report.summary.outOfStock).toEqual(["Peet's Coffee Big Bang"]);
    expect(report.summary.complianceScore).toBe(0.5);
  });

  it('the compliance RPC gives the parts the Summary shows; a planogram edited over RPC changes them', async () => {
    const host = EngineHost.open(db, { user: 'retail-test' });
    try {
      const call = createRpcHandler(host);
      const res = (await call('compliance', { filter: {} })) as {
        ok: true;
        result: {
          locations: {
            location: string;
            score: number;
            items: { sku: string; foundFacings: number; present: boolean; compliant: boolean; rowOk: boolean }[];
          }[];
        };
      };
      expect(res.ok).toBe(true);
      const [loc] = res.result.locations;
      expect(loc.location).toBe('Store 12');
      const bottles = report.photos.flatMap((p) => p.detections).filter((d) => d.objectName === 'bottle').length;
      expect(loc.items.find((i) => i.sku === 'CM16')).toMatchObject({ foundFacings: bottles, present: true, compliant: true });
      expect(loc.items.find((i) => i.sku === 'PB12')).toMatchObject({ foundFacings: 0, present: false, compliant: false });
      expect(loc.score).toBe(0.5);
      // expect CM16 in a row no bottle stands in: row check fails, score 0
      const rowsWithBottles = new Set(
        report.photos.flatMap((p) => p.detections.filter((d) => d.objectName === 'bottle').map((d) => d.attributes.shelfRow)),
      );
      const emptyRow = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].find((r) => !rowsWithBottles.has(r))!;
      const set = await call('setPlanogram', { location: 'Store 12', rows: [{ sku: 'CM16', expectedFacings: 1, expectedRow: emptyRow }] });
      expect(set.ok).toBe(true);
      const after = (await call('compliance', { filter: {} })) as typeof res;
      expect(after.result.locations[0].items).toEqual([
        expect.objectContaining({ sku: 'CM16', present: true, rowOk: false, compliant: false }),
      ]);
      expect(after.result.locations[0].score).toBe(0);
      const bad = await call('setPlanogram', { location: 'Store 12', rows: [{ sku: 'NOPE', expectedFacings: 1, expectedRow: null }] });
      expect(bad).toMatchObject({ ok: false, error: { code: 'bad-request' } });
      expect((bad as { error: { message: string } }).error.message).toMatch(/not in the catalog: NOPE/);
      const search = (await call('catalogList', { query: 'coffee' })) as { result: { sku: string }[] };
      expect(search.result.map((r) => r.sku).sort()).toEqual(['CM16', 'PB12', 'SBPP']); // by name and by category
      const picker = (await call('catalog', { query: 'starbucks' })) as { result: { label: string; sku: string | null }[] };
      expect(picker.result).toEqual([expect.objectContaining({ label: 'Starbucks "Pike Place"', sku: 'SBPP' })]);
    } finally {
      await host.close();
    }
  });

  it('a box moved by the auditor gets its new row and position in the same transaction; other boxes keep their versions', async () => {
    const host = EngineHost.open(db, { user: 'retail-test' });
    try {
      const obsId = report.photos.find((p) => p.path.endsWith('shelf_1.jpg'))!.observationId!;
      const photo = host.review.photo({ observationId: obsId });
      const raw = new Database(db, { readonly: true });
      const attrs = (id: number) =>
        JSON.parse((raw.prepare('SELECT attributes FROM detections WHERE id = ?').get(id) as { attributes: string }).attributes) as Record<
          string,
          unknown
        >;
      const bottomOf = (d: (typeof photo.detections)[number]) => d.boundingBox.y + d.boundingBox.height;
      const top = [...photo.detections].sort((a, b) => bottomOf(a) - bottomOf(b))[0];
      expect(attrs(top.id).shelfRow).toBe(1);
      const versions = new Map(photo.detections.map((d) => [d.id, d.version]));
      // moved to the very bottom of the photo: below every other box, a row of its own
      const h = photo.item.height!;
      host.review.updateDetection({
        detectionId: top.id,
        version: top.version,
        boundingBox: { ...top.boundingBox, y: h - top.boundingBox.height },
      });
      const maxRow = Math.max(...photo.detections.map((d) => attrs(d.id).shelfRow as number));
      expect(attrs(top.id)).toMatchObject({ shelfRow: maxRow, shelfPosition: 'bottom', facings: 1 });
      const again = host.review.photo({ observationId: obsId });
      for (const d of again.detections) if (d.id !== top.id) expect(d.version).toBe(versions.get(d.id));
      raw.close();
    } finally {
      await host.close();
    }
  });
});

describe('catalog CSV import', () => {
  it('a file with bad rows is refused with their line numbers, exit 2, and nothing is imported', () => {
    const dir = tmpDir();
    const db = path.join(dir, 'c.db');
    fs.writeFileSync(path.join(dir, 'ok.csv'), 'name,sku\nFirst,F1\n');
    expect(cli('catalog', 'import', path.join(dir, 'ok.csv'), '--db', db).status).toBe(0);
    fs.writeFileSync(
      path.join(dir, 'bad.csv'),
      'name,sku,expected facings,shelf row\nGood,G1,2,1\n"Multi\nline name",G2,x,1\n,G3,1,1\nDup,G1,1,0\nAlso good,G4,,\n',
    );
    const r = cli('catalog', 'import', path.join(dir, 'bad.csv'), '--db', db);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/line 4: expected facings "x" must be a whole number ≥ 0/);
    expect(r.stderr).toMatch(/line 5: name is empty/);
    expect(r.stderr).toMatch(/line 6: sku G1 is also on line 2/);
    expect(r.stderr).toMatch(/line 6: shelf row "0" must be a whole number ≥ 1/);
    expect(r.stderr).toMatch(/nothing was imported/);
    const list = cli('catalog', 'list', '--db', db, '--json');
    expect(JSON.parse(list.stdout).map((c: { sku: string }) => c.sku)).toEqual(['F1']);
  });

  it('an unclosed quote, an unknown column and a missing column are refused with the line', () => {
    const dir = tmpDir();
    const db = path.join(dir, 'c.db');
    const run = (csv: string) => {
      fs.writeFileSync(path.join(dir, 'x.csv'), csv);
      return cli('catalog', 'import', path.join(dir, 'x.csv'), '--db', db);
    };
    const q = run('name,sku\nA,1\n"B,2\n');
    expect(q.status).toBe(2);
    expect(q.stderr).toMatch(/not readable as CSV.*line 3/);
    const u = run('name,sku,colour\nA,1,red\n');
    expect(u.stderr).toMatch(/line 1 \(header\): unknown column colour/);
    const m = run('name,brand\nA,B\n');
    expect(m.stderr).toMatch(/line 1 \(header\): missing column sku/);
    expect(cli('catalog', 'import', path.join(dir, 'none.csv'), '--db', db).stderr).toMatch(/no such file/);
  });

  it('a planogram naming a SKU that is not in the catalog is refused, and the old planogram stays', () => {
    const dir = tmpDir();
    const db = path.join(dir, 'p.db');
    fs.writeFileSync(path.join(dir, 'cat.csv'), 'name,sku\nA,A1\nB,B1\n');
    expect(cli('catalog', 'import', path.join(dir, 'cat.csv'), '--db', db).status).toBe(0);
    fs.writeFileSync(path.join(dir, 'p1.csv'), 'location,sku,facings,row\nS1,A1,3,2\n');
    expect(cli('planogram', 'import', path.join(dir, 'p1.csv'), '--db', db).status).toBe(0);
    fs.writeFileSync(path.join(dir, 'p2.csv'), 'location,sku,facings,row\nS1,B1,1,\nS1,Z9,1,\n');
    const r = cli('planogram', 'import', path.join(dir, 'p2.csv'), '--db', db);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/line 3: sku Z9 is not in the catalog/);
    const show = cli('planogram', 'show', '--location', 'S1', '--db', db, '--json');
    expect(JSON.parse(show.stdout)).toEqual([{ location: 'S1', sku: 'A1', name: 'A', expectedFacings: 3, expectedRow: 2 }]);
  });
});
