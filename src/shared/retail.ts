/**
 * Retail analytics (ShelfSignal), pure: shelf rows, shelf positions, facings, price tags per product,
 * and planogram compliance. No I/O: the engine calls these on every shelf result and again after every
 * correction (src/main/engine/retail/), the UI only shows their output. Imports nothing of ours but types.
 *
 * Shelf rows: products stand on shelves, so the bottoms of their boxes line up. The bottoms are sorted
 * and cut into rows wherever two consecutive bottoms are further apart than `rowGap` = max(35 % of the
 * median box height, 1 % of the photo height) (1-D gap clustering, single linkage). Rows are numbered
 * 1, 2, … from the top of the photo.
 *
 * Shelf position, from the row's place among the n rows (its centre f = (row − ½) / n):
 * f < ¼ top, f < ½ eye-level, f < ¾ middle, else bottom. One row alone is eye-level.
 *
 * Facings: within a row, boxes sorted left to right; consecutive boxes of the same SKU (the catalog SKU
 * the label maps to, else the label) whose horizontal gap is under half the mean box width form one
 * block. Every member of a block carries the block's size in `facings` (counted on every member, not
 * only the first); `facingsBlock` numbers the blocks of the photo so a total counts each block once.
 *
 * Price tag: the tag read below a product: its centre under the product's horizontal span (widened by
 * a quarter of the box width), between the product's bottom (less a quarter of its height) and
 * 1.2 box heights below it; the nearest such tag wins. The members of a block share the tag found for
 * any of them (one tag per block on real shelves). `null` when none was read.
 */
import type { BoundingBox } from './domain';

export const SHELF_POSITIONS = ['top', 'eye-level', 'middle', 'bottom'] as const;
export type ShelfPosition = (typeof SHELF_POSITIONS)[number];

/** What retail analytics needs of the catalog. */
export interface CatalogItem {
  sku: string;
  name: string;
  /** The model label that maps to this SKU (a detection of this label counts as this SKU). */
  modelLabel?: string | null;
}

/** A price tag read by OCR, in photo pixels. */
export interface PriceTagRead {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Parsed price ("2.49"). */
  price: string;
  text?: string;
  confidence?: number;
}

export interface RetailAttributes {
  /** The catalog SKU the label maps to, when it does. */
  sku: string | null;
  shelfRow: number;
  shelfPosition: ShelfPosition;
  facings: number;
  facingsBlock: number;
  priceTag: string | null;
}

/**
 * Label → catalog SKU: a catalog item whose name or SKU code is the label, else the one item whose
 * model label it is (a model label several SKUs claim stays unresolved: the auditor relabels).
 */
export function skuResolver(catalog: readonly CatalogItem[]): (label: string) => CatalogItem | null {
  const byName = new Map<string, CatalogItem>();
  const byModel = new Map<string, CatalogItem | null>();
  for (const c of catalog) {
    byName.set(c.name, c);
    byName.set(c.sku, c);
    if (c.modelLabel) byModel.set(c.modelLabel, byModel.has(c.modelLabel) ? null : c);
  }
  return (label) => byName.get(label) ?? byModel.get(label) ?? null;
}

const median = (xs: number[]) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Row index (1 = top) of each box, by gap clustering of the box bottoms. */
export function shelfRows(boxes: readonly BoundingBox[], imageHeight: number): { rows: number[]; count: number } {
  if (!boxes.length) return { rows: [], count: 0 };
  const gap = Math.max(0.35 * median(boxes.map((b) => b.height)), 0.01 * imageHeight);
  const order = boxes.map((b, i) => ({ i, bottom: b.y + b.height })).sort((a, b) => a.bottom - b.bottom);
  const rows = new Array<number>(boxes.length);
  let row = 1;
  for (let k = 0; k < order.length; k++) {
    if (k > 0 && order[k].bottom - order[k - 1].bottom > gap) row++;
    rows[order[k].i] = row;
  }
  return { rows, count: row };
}

export function shelfPosition(row: number, count: number): ShelfPosition {
  if (count <= 1) return 'eye-level';
  const f = (row - 0.5) / count;
  return f < 0.25 ? 'top' : f < 0.5 ? 'eye-level' : f < 0.75 ? 'middle' : 'bottom';
}

function tagFor(b: BoundingBox, tags: readonly PriceTagRead[]): PriceTagRead | null {
  let best: PriceTagRead | null = null;
  let bestD = Infinity;
  const bottom = b.y + b.height;
  for (const t of tags) {
    const cx = t.x + t.width / 2;
    const cy = t.y + t.height / 2;
    if (cx < b.x - 0.25 * b.width || cx > b.x + 1.25 * b.width) continue;
    if (cy < bottom - 0.25 * b.height || cy > bottom + 1.2 * b.height) continue;
    const d = Math.abs(cy - bottom) + 0.5 * Math.abs(cx - (b.x + b.width / 2));
    if (d < bestD) {
      bestD = d;
      best = t;
    }
  }
  return best;
}

/**
 * The retail attributes of every detection of one shelf photo (same order as given). `catalog` maps
 * labels to SKUs (see skuResolver); `tags` are the price tags OCR read on the photo (none: every
 * priceTag is null).
 */
export function retailAttributes(
  detections: readonly { objectName: string; boundingBox: BoundingBox }[],
  imageSize: { width: number; height: number },
  catalog: readonly CatalogItem[],
  tags: readonly PriceTagRead[] = [],
): RetailAttributes[] {
  const resolve = skuResolver(catalog);
  const boxes = detections.map((d) => d.boundingBox);
  const { rows, count } = shelfRows(boxes, imageSize.height);
  const keys = detections.map((d) => {
    const c = resolve(d.objectName);
    return { sku: c?.sku ?? null, key: c ? `sku:${c.sku}` : `label:${d.objectName}` };
  });
  const out: RetailAttributes[] = detections.map((_, i) => ({
    sku: keys[i].sku,
    shelfRow: rows[i],
    shelfPosition: shelfPosition(rows[i], count),
    facings: 1,
    facingsBlock: 0,
    priceTag: null,
  }));
  const meanWidth = boxes.length ? boxes.reduce((a, b) => a + b.width, 0) / boxes.length : 0;
  let block = 0;
  for (let r = 1; r <= count; r++) {
    const inRow = detections.map((_, i) => i).filter((i) => rows[i] === r);
    inRow.sort((a, b) => boxes[a].x + boxes[a].width / 2 - (boxes[b].x + boxes[b].width / 2));
    let start = 0;
    for (let k = 1; k <= inRow.length; k++) {
      const prev = inRow[k - 1];
      const cur = inRow[k];
      const joined =
        k < inRow.length && keys[cur].key === keys[prev].key && boxes[cur].x - (boxes[prev].x + boxes[prev].width) < 0.5 * meanWidth;
      if (joined) continue;
      const members = inRow.slice(start, k);
      block++;
      const own = members.map((m) => tagFor(boxes[m], tags));
      const shared = own.find((t) => t !== null) ?? null;
      members.forEach((m, j) => {
        out[m].facings = members.length;
        out[m].facingsBlock = block;
        out[m].priceTag = (own[j] ?? shared)?.price ?? null;
      });
      start = k;
    }
  }
  return out;
}

/** One expected SKU of a location (planogram-lite). */
export interface PlanogramRow {
  sku: string;
  name?: string;
  expectedFacings: number;
  /** 1 = top row; null: any row. */
  expectedRow: number | null;
}

/** Why one expected SKU is, or is not, compliant. */
export interface ComplianceItem {
  sku: string;
  name: string;
  expectedFacings: number;
  foundFacings: number;
  expectedRow: number | null;
  /** Rows the SKU was found in. */
  foundRows: number[];
  present: boolean;
  facingsOk: boolean;
  rowOk: boolean;
  compliant: boolean;
}

export interface Compliance {
  score: number;
  outOfStock: string[];
  items: ComplianceItem[];
}

/**
 * Planogram compliance. Each expected SKU is compliant when it is present (at least one detection
 * maps to it), with at least its expected facings (detections of it, each a facing), and, when an
 * expected row is given, at least one of them in that row. complianceScore = compliant SKUs / expected
 * SKUs (4 decimals; 1 with no expected SKU); outOfStock = expected SKUs with no detection (by name).
 * `found` lists each detection's SKU and row; several photos of a store are pooled by passing all of
 * their detections.
 */
export function compliance(planogram: readonly PlanogramRow[], found: readonly { sku: string | null; shelfRow: number }[]): Compliance {
  const facings = new Map<string, number>();
  const rows = new Map<string, Set<number>>();
  for (const f of found) {
    if (!f.sku) continue;
    facings.set(f.sku, (facings.get(f.sku) ?? 0) + 1);
    if (!rows.has(f.sku)) rows.set(f.sku, new Set());
    rows.get(f.sku)!.add(f.shelfRow);
  }
  const items = planogram.map((p): ComplianceItem => {
    const n = facings.get(p.sku) ?? 0;
    const inRows = [...(rows.get(p.sku) ?? [])].sort((a, b) => a - b);
    const present = n > 0;
    const facingsOk = n >= p.expectedFacings;
    const rowOk = present && (p.expectedRow === null || inRows.includes(p.expectedRow));
    return {
      sku: p.sku,
      name: p.name ?? p.sku,
      expectedFacings: p.expectedFacings,
      foundFacings: n,
      expectedRow: p.expectedRow,
      foundRows: inRows,
      present,
      facingsOk,
      rowOk,
      compliant: present && facingsOk && rowOk,
    };
  });
  const ok = items.filter((i) => i.compliant).length;
  return {
    score: items.length ? Math.round((ok / items.length) * 10000) / 10000 : 1,
    outOfStock: items.filter((i) => !i.present).map((i) => i.name),
    items,
  };
}

/**
 * A price from OCR text, as a string with two decimals ("2.49"), or null. Accepted: digits with a
 * decimal point or comma and exactly two decimals ("6.73", "$2,49", "£14.99"), or a whole amount after
 * a currency sign ("£10" → "10.00"; PP-OCR often reads "£" as "E"). Not prices: bare whole numbers
 * ("15", "3,000" points), three decimals, more than 4 integer digits.
 */
export function parsePrice(text: string): string | null {
  const t = text.replace(/\s+/g, '');
  let m = /(?:^|[^0-9.,])(\d{1,4})[.,](\d{2})(?![0-9.,]?\d)/.exec(t);
  if (m) return `${Number(m[1])}.${m[2]}`;
  m = /^[£$€E](\d{1,4})$/.exec(t);
  if (m) return `${Number(m[1])}.00`;
  return null;
}
