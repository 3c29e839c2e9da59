/**
 * Retail attributes in SQLite: price tags of a CV job, the refresh of a photo's detections'
 * attributes after an edit (in the edit's own transaction), and compliance of photos and batches
 * against their location's planogram.
 */
import type { Db } from '../db';
import { CatalogService } from './catalog';
import {
  compliance,
  retailAttributes,
  skuResolver,
  type CatalogItem,
  type Compliance,
  type PlanogramRow,
  type PriceTagRead,
} from '../../../shared/retail';

/** The retail keys of a detection's attributes (others, such as a condition grade, are kept as they are). */
export const RETAIL_KEYS = ['sku', 'shelfRow', 'shelfPosition', 'facings', 'facingsBlock', 'priceTag'] as const;

interface DetRow {
  id: number;
  object_name: string;
  x: number;
  y: number;
  width: number;
  height: number;
  attributes: string;
}

export interface LocationCompliance extends Compliance {
  location: string;
  photos: number;
}

export class RetailStore {
  readonly catalog: CatalogService;
  private readonly s;

  constructor(private readonly db: Db) {
    this.catalog = new CatalogService(db);
    this.s = {
      insertTag: db.prepare(
        'INSERT INTO price_tags (cv_job_id, x, y, width, height, price, text, confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      tags: db.prepare<[string], PriceTagRead>('SELECT x, y, width, height, price, text, confidence FROM price_tags WHERE cv_job_id = ?'),
      photo: db.prepare<
        [string],
        { current_job_id: string | null; width: number | null; height: number | null; location_id: string | null }
      >('SELECT current_job_id, width, height, location_id FROM observations WHERE id = ?'),
      detections: db.prepare<[string], DetRow>(
        'SELECT id, object_name, x, y, width, height, attributes FROM detections WHERE cv_job_id = ? AND deleted = 0 ORDER BY id',
      ),
      setAttributes: db.prepare('UPDATE detections SET attributes = ? WHERE id = ?'),
    };
  }

  savePriceTags(jobId: string, tags: readonly PriceTagRead[]): void {
    for (const t of tags) this.s.insertTag.run(jobId, t.x, t.y, t.width, t.height, t.price, t.text ?? t.price, t.confidence ?? null);
  }

  priceTags(jobId: string): PriceTagRead[] {
    return this.s.tags.all(jobId);
  }

  /**
   * Recomputes the retail attributes of a photo's current boxes (rows, positions, facings, price tags
   * from the tags its audit read): called in the transaction of every edit, so what the database holds
   * (and sync sends) always matches the boxes. Only `attributes` changes: box versions stay.
   */
  refresh(observationId: string, items: CatalogItem[] = this.catalog.items()): void {
    const p = this.s.photo.get(observationId);
    if (!p?.current_job_id || !p.width || !p.height) return;
    const dets = this.s.detections.all(p.current_job_id);
    const attrs = retailAttributes(
      dets.map((d) => ({ objectName: d.object_name, boundingBox: { x: d.x, y: d.y, width: d.width, height: d.height } })),
      { width: p.width, height: p.height },
      items,
      this.priceTags(p.current_job_id),
    );
    dets.forEach((d, i) => {
      const merged = { ...(JSON.parse(d.attributes) as Record<string, unknown>), ...attrs[i] };
      const json = JSON.stringify(merged);
      if (json !== d.attributes) this.s.setAttributes.run(json, d.id);
    });
  }

  /** Refreshes every completed photo (after a catalog import changed which labels map to which SKU). */
  refreshAll(): number {
    const items = this.catalog.items();
    const ids = this.db
      .prepare<[], { id: string }>("SELECT id FROM observations WHERE current_job_id IS NOT NULL AND status = 'completed'")
      .all();
    for (const r of ids) this.refresh(r.id, items);
    return ids.length;
  }

  /** Each current box's SKU (resolved now, from its label) and shelf row. */
  private found(jobIds: string[], items: CatalogItem[]): { sku: string | null; shelfRow: number }[] {
    const resolve = skuResolver(items);
    const out: { sku: string | null; shelfRow: number }[] = [];
    const q = this.db.prepare<[string], { object_name: string; row: number | null }>(
      "SELECT object_name, json_extract(attributes, '$.shelfRow') AS row FROM detections WHERE cv_job_id = ? AND deleted = 0",
    );
    for (const j of jobIds) for (const d of q.all(j)) out.push({ sku: resolve(d.object_name)?.sku ?? null, shelfRow: d.row ?? 0 });
    return out;
  }

  /** A photo's compliance against its location's planogram; null when the location has none. */
  photoCompliance(observationId: string): Compliance | null {
    const p = this.s.photo.get(observationId);
    if (!p?.location_id) return null;
    const plan = this.catalog.planogramByLocationId(p.location_id);
    if (!plan.length) return null;
    return compliance(plan, p.current_job_id ? this.found([p.current_job_id], this.catalog.items()) : []);
  }

  /**
   * Compliance of a set of photos, per location with a planogram: the photos of one location are
   * pooled (a store's shelf is often in several photos): facings add up, a SKU is present when any
   * photo shows it, in its row when any photo shows it there.
   */
  locationsCompliance(
    photos: { current_job_id: string | null; location_id: string | null; location: string | null }[],
  ): LocationCompliance[] {
    const items = this.catalog.items();
    const byLoc = new Map<string, { name: string; jobs: string[]; photos: number }>();
    for (const p of photos) {
      if (!p.location_id) continue;
      const e = byLoc.get(p.location_id) ?? { name: p.location ?? p.location_id, jobs: [], photos: 0 };
      e.photos++;
      if (p.current_job_id) e.jobs.push(p.current_job_id);
      byLoc.set(p.location_id, e);
    }
    const out: LocationCompliance[] = [];
    for (const [id, e] of byLoc) {
      const plan: PlanogramRow[] = this.catalog.planogramByLocationId(id);
      if (!plan.length) continue;
      out.push({ location: e.name, photos: e.photos, ...compliance(plan, this.found(e.jobs, items)) });
    }
    return out.sort((a, b) => a.location.localeCompare(b.location));
  }
}
