/**
 * The retail part of a batch audit: price tags read (OCR worker) while the detector runs, retail
 * attributes on every result, and compliance against the location's planogram. audit.ts calls it at
 * a few points; it owns the OCR worker's life.
 */
import os from 'node:os';
import type { Db } from '../db';
import { RetailStore } from './store';
import { PriceTagReader } from './ocr';
import { compliance, retailAttributes, skuResolver, type CatalogItem, type PlanogramRow, type PriceTagRead } from '../../../shared/retail';
import type { CvSummary, Detection } from '../../../shared/domain';

/** `auto`: read price tags when the photos are audited with tiles (shelf photos); `on`, `off`. */
export type PriceTagsOption = 'auto' | 'on' | 'off';

export class RetailPass {
  private readonly store: RetailStore;
  private readonly items: CatalogItem[];
  private readonly planogram: PlanogramRow[];
  private reader: PriceTagReader | null;
  private readonly pooled: { sku: string | null; shelfRow: number }[] = [];
  ocr: boolean;
  private readonly optional: boolean;

  constructor(db: Db, opts: { location?: string; priceTags: PriceTagsOption; tiled: boolean }) {
    this.optional = opts.priceTags === 'auto';
    this.store = new RetailStore(db);
    this.items = this.store.catalog.items();
    this.planogram = opts.location ? this.store.catalog.planogram(opts.location) : [];
    this.ocr = opts.priceTags === 'on' || (opts.priceTags === 'auto' && opts.tiled);
    // one ONNX Runtime thread: the detector's worker keeps the others busy
    this.reader = this.ocr ? new PriceTagReader({ intraOpThreads: Math.max(1, Math.floor(os.availableParallelism() / 2)) }) : null;
  }

  /**
   * Waits for the OCR models (when reading tags). With `--price-tags on` a load failure stops the run before
   * any photo; with `auto` the run goes on without price tags (a build without the OCR packages, such as the
   * desktop installers: README "Retail") and the reason is returned as a note.
   */
  async ready(): Promise<string | null> {
    try {
      await this.reader?.ready();
      return null;
    } catch (err) {
      if (!this.optional) throw err;
      const reader = this.reader;
      this.reader = null;
      this.ocr = false;
      await reader?.close().catch(() => undefined);
      return `price tags are not read (${err instanceof Error ? err.message : String(err)}); priceTag is null`;
    }
  }

  /** Starts reading the photo's price tags (none without OCR). */
  readTags(photo: Buffer): Promise<PriceTagRead[]> {
    return this.reader ? this.reader.read(photo).then((r) => r.tags) : Promise.resolve([]);
  }

  /** The detections with their retail attributes, and the photo's summary (planogram compliance when its location has one). */
  apply(
    detections: Detection[],
    size: { width: number; height: number },
    tags: PriceTagRead[],
    summary: CvSummary,
  ): { detections: Detection[]; summary: CvSummary } {
    const attrs = retailAttributes(detections, size, this.items, tags);
    const out = detections.map((d, i) => ({ ...d, attributes: { ...d.attributes, ...attrs[i] } }));
    if (!this.planogram.length) return { detections: out, summary };
    const found = attrs.map((a) => ({ sku: a.sku, shelfRow: a.shelfRow }));
    this.pooled.push(...found);
    const c = compliance(this.planogram, found);
    return { detections: out, summary: { ...summary, outOfStock: c.outOfStock, complianceScore: c.score } };
  }

  /** A result taken from the database (resumed run): counts in the batch's pooled compliance. */
  pool(detections: Detection[]): void {
    if (!this.planogram.length) return;
    const resolve = skuResolver(this.items);
    for (const d of detections) this.pooled.push({ sku: resolve(d.objectName)?.sku ?? null, shelfRow: Number(d.attributes.shelfRow ?? 0) });
  }

  saveTags(jobId: string, tags: PriceTagRead[]): void {
    this.store.savePriceTags(jobId, tags);
  }

  /** The batch summary: with a planogram, the photos are pooled (see RetailStore.locationsCompliance). */
  batch(summary: CvSummary): CvSummary {
    if (!this.planogram.length) return summary;
    const c = compliance(this.planogram, this.pooled);
    return { ...summary, outOfStock: c.outOfStock, complianceScore: c.score };
  }

  async close(): Promise<void> {
    await this.reader?.close();
  }
}
