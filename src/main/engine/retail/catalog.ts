/**
 * The catalog (TrackedObjects) and the planogram-lite of each location: CSV import (csv-parse), list and
 * search, and the edits the UI makes. An import is checked whole before anything is written: a file
 * with a bad row is refused with every bad row's line number, and the database is left as it was.
 */
import crypto from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { immediate, type Db } from '../db';
import { InvalidRequestError, NotFoundError } from '../errors';
import type { CatalogItem, PlanogramRow } from '../../../shared/retail';
import { LIMITS } from '../../../shared/limits';

const now = () => new Date().toISOString();

export interface CatalogRecord {
  sku: string;
  name: string;
  brand: string | null;
  category: string | null;
  modelLabel: string | null;
  expectedFacings: number | null;
  shelfRow: number | null;
}

export interface PlanogramRecord extends PlanogramRow {
  location: string;
  name: string;
}

/** Header names accepted for each field (case, spaces, dashes and underscores ignored). */
const CATALOG_COLUMNS: Record<keyof CatalogRecord, string[]> = {
  name: ['name', 'productname', 'product'],
  sku: ['sku', 'skucode', 'code'],
  brand: ['brand'],
  category: ['category'],
  modelLabel: ['modellabel', 'label', 'model'],
  expectedFacings: ['expectedfacings', 'facings'],
  shelfRow: ['shelfrow', 'row'],
};
const PLANOGRAM_COLUMNS = {
  location: ['location', 'store'],
  sku: ['sku', 'skucode', 'code'],
  expectedFacings: ['expectedfacings', 'facings'],
  expectedRow: ['expectedshelfrow', 'expectedrow', 'shelfrow', 'row'],
};

const norm = (h: string) => h.toLowerCase().replace(/[\s_-]+/g, '');

interface CsvRow {
  line: number;
  get(field: string): string;
}

/** Parses CSV text with a header row; maps the header to fields; refuses unknown or missing columns. */
function readCsv(text: string, what: string, columns: Record<string, string[]>, required: string[]): CsvRow[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text.replace(/^\uFEFF/, ''), {
      info: true,
      relax_column_count: false,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new InvalidRequestError(
      `${what}: not readable as CSV${e.lines ? ` at line ${e.lines}` : ''}: ${e.message.replace(/^.*?: /, '')}. Nothing was imported.`,
    );
  }
  if (!records.length) throw new InvalidRequestError(`${what}: the file is empty (a header row is needed: ${required.join(', ')}, …)`);
  const header = records[0].record.map(norm);
  const index: Record<string, number> = {};
  const unknown: string[] = [];
  header.forEach((h, i) => {
    const field = Object.keys(columns).find((f) => columns[f].includes(h));
    if (field && index[field] === undefined) index[field] = i;
    else if (!field) unknown.push(records[0].record[i]);
  });
  const missing = required.filter((f) => index[f] === undefined);
  if (missing.length || unknown.length) {
    throw new InvalidRequestError(
      `${what}: line 1 (header): ${[
        missing.length ? `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` : '',
        unknown.length ? `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ')}. Columns: ${Object.keys(columns).join(', ')}. Nothing was imported.`,
    );
  }
  return records.slice(1).map(({ record, info }) => ({
    line: info.lines,
    get: (field: string) => (index[field] === undefined ? '' : (record[index[field]] ?? '')),
  }));
}

function refuse(what: string, problems: string[]): never {
  const shown = problems.slice(0, 20);
  const more = problems.length > shown.length ? `\n… and ${problems.length - shown.length} more` : '';
  throw new InvalidRequestError(
    `${what}: ${problems.length} bad row${problems.length > 1 ? 's' : ''}, nothing was imported. ` +
      `Fix them and import again:\n${shown.join('\n')}${more}`,
  );
}

function count(v: string, min: number, field: string, problems: string[], line: number): number | null {
  if (v === '') return null;
  if (!/^\d+$/.test(v) || Number(v) < min) {
    problems.push(`line ${line}: ${field} "${v}" must be a whole number ≥ ${min}`);
    return null;
  }
  return Number(v);
}

function text(v: string, field: string, problems: string[], line: number): string {
  if (v.length > LIMITS.label) problems.push(`line ${line}: ${field} has more than ${LIMITS.label} characters`);
  return v;
}

/** Checks a catalog CSV; returns its records or throws with every bad row. */
export function parseCatalogCsv(csv: string): CatalogRecord[] {
  const what = 'catalog CSV';
  const rows = readCsv(csv, what, CATALOG_COLUMNS, ['name', 'sku']);
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const out: CatalogRecord[] = [];
  for (const r of rows) {
    const p0 = problems.length;
    const name = text(r.get('name'), 'name', problems, r.line);
    const sku = text(r.get('sku'), 'sku', problems, r.line);
    if (!name) problems.push(`line ${r.line}: name is empty`);
    if (!sku) problems.push(`line ${r.line}: sku is empty`);
    else if (seen.has(sku)) problems.push(`line ${r.line}: sku ${sku} is also on line ${seen.get(sku)}`);
    else seen.set(sku, r.line);
    const rec: CatalogRecord = {
      sku,
      name,
      brand: text(r.get('brand'), 'brand', problems, r.line) || null,
      category: text(r.get('category'), 'category', problems, r.line) || null,
      modelLabel: text(r.get('modelLabel'), 'model label', problems, r.line) || null,
      expectedFacings: count(r.get('expectedFacings'), 0, 'expected facings', problems, r.line),
      shelfRow: count(r.get('shelfRow'), 1, 'shelf row', problems, r.line),
    };
    if (problems.length === p0) out.push(rec);
  }
  if (problems.length) refuse(what, problems);
  if (!out.length) throw new InvalidRequestError(`${what}: no SKU rows under the header. Nothing was imported.`);
  return out;
}

interface CatalogDbRow {
  sku: string;
  name: string;
  brand: string | null;
  category: string | null;
  model_label: string | null;
  expected_facings: number | null;
  shelf_row: number | null;
}
const toRecord = (r: CatalogDbRow): CatalogRecord => ({
  sku: r.sku,
  name: r.name,
  brand: r.brand,
  category: r.category,
  modelLabel: r.model_label,
  expectedFacings: r.expected_facings,
  shelfRow: r.shelf_row,
});

export class CatalogService {
  constructor(private readonly db: Db) {}

  /** Imports (inserts or updates by SKU) every row of a catalog CSV, in one transaction. */
  importCatalogCsv(csv: string): { imported: number; created: number; updated: number } {
    const records = parseCatalogCsv(csv);
    return this.upsert(records);
  }

  upsert(records: CatalogRecord[]): { imported: number; created: number; updated: number } {
    const exists = this.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM catalog WHERE sku = ?');
    const insert = this.db.prepare(
      `INSERT INTO catalog (id, sku, name, brand, category, model_label, expected_facings, shelf_row, created_at, updated_at)
       VALUES (@id, @sku, @name, @brand, @category, @modelLabel, @expectedFacings, @shelfRow, @now, @now)
       ON CONFLICT(sku) DO UPDATE SET name = excluded.name, brand = excluded.brand, category = excluded.category,
         model_label = excluded.model_label, expected_facings = excluded.expected_facings, shelf_row = excluded.shelf_row,
         updated_at = excluded.updated_at`,
    );
    return immediate(this.db, () => {
      let created = 0;
      const t = now();
      for (const r of records) {
        if (!exists.get(r.sku)!.n) created++;
        insert.run({ id: `cat_${crypto.randomUUID().replace(/-/g, '')}`, ...r, now: t });
      }
      return { imported: records.length, created, updated: records.length - created };
    });
  }

  /** Catalog entries whose name, SKU, brand, category or model label contains the query (case-insensitive). */
  list(query = '', limit = 1000): CatalogRecord[] {
    const q = `%${query
      .trim()
      .toLowerCase()
      .replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.db
      .prepare<{ q: string; limit: number }, CatalogDbRow>(
        `SELECT sku, name, brand, category, model_label, expected_facings, shelf_row FROM catalog
         WHERE sku IS NOT NULL AND (lower(name) LIKE @q ESCAPE '\\' OR lower(sku) LIKE @q ESCAPE '\\'
           OR lower(coalesce(brand, '')) LIKE @q ESCAPE '\\'
           OR lower(coalesce(category, '')) LIKE @q ESCAPE '\\' OR lower(coalesce(model_label, '')) LIKE @q ESCAPE '\\')
         ORDER BY name, sku LIMIT @limit`,
      )
      .all({ q, limit })
      .map(toRecord);
  }

  /** What retail analytics needs: every SKU with its name and model label. */
  items(): CatalogItem[] {
    return this.db
      .prepare<[], { sku: string; name: string; model_label: string | null }>(
        'SELECT sku, name, model_label FROM catalog WHERE sku IS NOT NULL',
      )
      .all()
      .map((r) => ({ sku: r.sku, name: r.name, modelLabel: r.model_label }));
  }

  private locationIdOf(name: string, create: boolean): string | null {
    const row = this.db.prepare<[string], { id: string }>('SELECT id FROM locations WHERE name = ?').get(name);
    if (row || !create) return row?.id ?? null;
    const id = `loc_${crypto.randomUUID().replace(/-/g, '')}`;
    const t = now();
    this.db.prepare('INSERT INTO locations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)').run(id, name, t, t);
    return id;
  }

  /**
   * Imports expected SKUs from CSV (columns sku, expected facings, expected shelf row, and location
   * unless `location` is given): each location named in the file gets exactly the file's rows (its old
   * planogram is replaced), in one transaction. Every SKU must already be in the catalog.
   */
  importPlanogramCsv(csv: string, location?: string): { locations: string[]; rows: number } {
    const what = 'planogram CSV';
    const rows = readCsv(csv, what, PLANOGRAM_COLUMNS, location ? ['sku'] : ['location', 'sku']);
    const known = new Map(this.items().map((c) => [c.sku, c]));
    const problems: string[] = [];
    const out: PlanogramRecord[] = [];
    const seen = new Map<string, number>();
    for (const r of rows) {
      const p0 = problems.length;
      const loc = location ?? r.get('location');
      const sku = r.get('sku');
      if (!loc) problems.push(`line ${r.line}: location is empty`);
      if (!sku) problems.push(`line ${r.line}: sku is empty`);
      else if (!known.has(sku)) problems.push(`line ${r.line}: sku ${sku} is not in the catalog (import the catalog first)`);
      const key = `${loc}\u0000${sku}`;
      if (sku && seen.has(key)) problems.push(`line ${r.line}: sku ${sku} is also on line ${seen.get(key)} for ${loc}`);
      seen.set(key, r.line);
      text(loc, 'location', problems, r.line);
      const facings = count(r.get('expectedFacings'), 0, 'expected facings', problems, r.line);
      const row = count(r.get('expectedRow'), 1, 'expected shelf row', problems, r.line);
      if (problems.length === p0)
        out.push({ location: loc, sku, name: known.get(sku)!.name, expectedFacings: facings ?? 1, expectedRow: row });
    }
    if (problems.length) refuse(what, problems);
    if (!out.length) throw new InvalidRequestError(`${what}: no rows under the header. Nothing was imported.`);
    const locations = [...new Set(out.map((r) => r.location))];
    immediate(this.db, () => {
      for (const l of locations)
        this.replacePlanogram(
          l,
          out.filter((r) => r.location === l),
        );
    });
    return { locations, rows: out.length };
  }

  /** Replaces a location's expected SKUs (the UI's editor saves the whole list). */
  setPlanogram(location: string, rows: PlanogramRow[]): PlanogramRecord[] {
    const known = new Set(this.items().map((c) => c.sku));
    const bad = rows.filter((r) => !known.has(r.sku)).map((r) => r.sku);
    if (bad.length) throw new InvalidRequestError(`not in the catalog: ${bad.join(', ')} (import them into the catalog first)`);
    const skus = rows.map((r) => r.sku);
    const dup = skus.find((s, i) => skus.indexOf(s) !== i);
    if (dup) throw new InvalidRequestError(`sku ${dup} is listed twice`);
    immediate(this.db, () => this.replacePlanogram(location, rows));
    return this.planogram(location);
  }

  private replacePlanogram(location: string, rows: PlanogramRow[]): void {
    const id = this.locationIdOf(location, true)!;
    const t = now();
    this.db.prepare('DELETE FROM planogram WHERE location_id = ?').run(id);
    const ins = this.db.prepare('INSERT INTO planogram (location_id, sku, expected_facings, shelf_row, updated_at) VALUES (?, ?, ?, ?, ?)');
    for (const r of rows) ins.run(id, r.sku, r.expectedFacings, r.expectedRow, t);
  }

  /** A location's expected SKUs ([] when it has none or does not exist). */
  planogram(location: string): PlanogramRecord[] {
    return this.db
      .prepare<[string], { sku: string; name: string; expected_facings: number; shelf_row: number | null }>(
        `SELECT p.sku, c.name, p.expected_facings, p.shelf_row FROM planogram p JOIN locations l ON l.id = p.location_id
         JOIN catalog c ON c.sku = p.sku WHERE l.name = ? ORDER BY c.name, p.sku`,
      )
      .all(location)
      .map((r) => ({ location, sku: r.sku, name: r.name, expectedFacings: r.expected_facings, expectedRow: r.shelf_row }));
  }

  /** Expected SKUs by location id (for summaries). */
  planogramByLocationId(locationId: string): PlanogramRow[] {
    return this.db
      .prepare<[string], { sku: string; name: string; expected_facings: number; shelf_row: number | null }>(
        `SELECT p.sku, c.name, p.expected_facings, p.shelf_row FROM planogram p JOIN catalog c ON c.sku = p.sku
         WHERE p.location_id = ? ORDER BY c.name, p.sku`,
      )
      .all(locationId)
      .map((r) => ({ sku: r.sku, name: r.name, expectedFacings: r.expected_facings, expectedRow: r.shelf_row }));
  }

  /** Locations with a planogram, and how many SKUs each expects. */
  planogramLocations(): { name: string; n: number }[] {
    return this.db
      .prepare<[], { name: string; n: number }>(
        'SELECT l.name, count(*) AS n FROM planogram p JOIN locations l ON l.id = p.location_id GROUP BY l.id ORDER BY l.name',
      )
      .all();
  }

  locationExists(name: string): void {
    if (!this.locationIdOf(name, false)) throw new NotFoundError(`no location ${name}`);
  }
}
