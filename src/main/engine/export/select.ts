/**
 * What an export holds: the photos a queue filter shows (completed ones, with their current boxes as
 * the auditor left them: deleted boxes gone, drawn boxes in), the stable class and image ids, and the
 * deterministic train/val split.
 */
import crypto from 'node:crypto';
import { immediate, type Db } from '../db';
import { queueWhere } from '../db/queries';
import { ConfigError } from '../errors';
import { conditionOf, type Condition } from '../../../shared/condition';
import type { QueueFilter } from '../../../shared/rpc';

export type BoxOrigin = 'model' | 'corrected' | 'drawn';

export interface ExportBox {
  detectionId: number;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** The model's confidence (1 for a drawn box). */
  confidence: number;
  /** model: as the model gave it; corrected: a model box the auditor relabelled, moved or resized; drawn: the auditor's. */
  origin: BoxOrigin;
  condition: Condition | null;
}

export interface ExportPhoto {
  observationId: string;
  imageId: number;
  sha256: string;
  sourcePath: string;
  width: number;
  height: number;
  /** The model of the photo's current result (the run its boxes came from). */
  model: string;
  review: 'unreviewed' | 'reviewed' | 'flagged';
  boxes: ExportBox[];
  split: 'train' | 'val';
}

export interface Selection {
  photos: ExportPhoto[];
  /** Every class id ever given (0-based, contiguous), in id order: YOLO's `names`, COCO's categories. */
  classes: { id: number; name: string; sku: string | null; category: string | null }[];
  /** Photos the filter shows that cannot be exported, and why (not audited, failed). */
  excluded: { observationId: string; sourcePath: string; reason: string }[];
  flaggedLeftOut: number;
}

export interface SelectOptions {
  filter: QueueFilter;
  /** Only these photos of the filter (a selection in the queue). */
  ids?: string[];
  reviewedOnly: boolean;
  /** ISO time: photos audited or edited at or after it. */
  since?: string;
  split: number;
  seed: number;
}

/** `YYYY-MM-DD` (UTC midnight) or an ISO 8601 time → ISO string; a clear error otherwise. */
export function parseSince(v: string): string {
  const ok = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v.trim());
  const d = new Date(v.trim().length === 10 ? `${v.trim()}T00:00:00Z` : v.trim());
  if (!ok || Number.isNaN(d.getTime())) {
    throw new ConfigError(`--since ${v}: not a date; use YYYY-MM-DD (UTC) or an ISO time such as 2025-03-01T08:00:00Z`);
  }
  return d.toISOString();
}

/**
 * Train or val for each photo, decided by the seed alone: photos are ordered by sha256(seed:content
 * hash) and the first round(n × split) go to train. The same photos and seed give the same split
 * whatever order the database lists them in.
 */
export function splitPhotos<T extends { sha256: string; observationId: string }>(
  photos: T[],
  ratio: number,
  seed: number,
): Map<string, 'train' | 'val'> {
  const keyed = photos.map((p) => ({ id: p.observationId, key: crypto.createHash('sha256').update(`${seed}:${p.sha256}`).digest('hex') }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : 1));
  const train = Math.round(photos.length * ratio);
  return new Map(keyed.map((k, i) => [k.id, i < train ? 'train' : 'val']));
}

interface PhotoRow {
  id: string;
  sha256: string;
  source_path: string;
  width: number | null;
  height: number | null;
  status: string;
  error: string | null;
  current_job_id: string | null;
  review_status: ExportPhoto['review'];
  model: string | null;
}
interface DetRow {
  id: number;
  object_name: string;
  x: number;
  y: number;
  width: number;
  height: number;
  confidence: number;
  source: 'model' | 'user';
  corrected: number;
  attributes: string;
}

export function selectForExport(db: Db, o: SelectOptions): Selection {
  const w = queueWhere(o.filter);
  if (o.ids) {
    const sel = `o.id IN (SELECT value FROM json_each(@selectedIds))`;
    w.sql = w.sql ? `${w.sql} AND ${sel}` : `WHERE ${sel}`;
    w.params.selectedIds = JSON.stringify(o.ids);
  }
  const parts = w.sql ? [w.sql.replace(/^WHERE /, '')] : [];
  const params: Record<string, unknown> = { ...w.params };
  if (o.reviewedOnly) parts.push(`o.review_status = 'reviewed'`);
  // a flagged photo is one the auditor set aside: left out unless the filter asks for flagged photos
  if (o.filter.review !== 'flagged') parts.push(`o.review_status != 'flagged'`);
  if (o.since) {
    parts.push('o.updated_at >= @since');
    params.since = o.since;
  }
  const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
  const rows = db
    .prepare<Record<string, unknown>, PhotoRow>(
      `SELECT o.id, o.sha256, o.source_path, o.width, o.height, o.status, o.error, o.current_job_id, o.review_status, j.model
       FROM observations o LEFT JOIN cv_jobs j ON j.id = o.current_job_id ${where} ORDER BY o.id`,
    )
    .all(params);
  const flaggedLeftOut =
    o.filter.review === 'flagged'
      ? 0
      : (db
          .prepare<Record<string, unknown>, { n: number }>(
            `SELECT count(*) AS n FROM observations o ${w.sql ? `${w.sql} AND` : 'WHERE'} o.review_status = 'flagged'`,
          )
          .get(w.params)?.n ?? 0);
  const dets = db.prepare<[string], DetRow>(
    `SELECT id, object_name, x, y, width, height, confidence, source, corrected, attributes FROM detections
     WHERE cv_job_id = ? AND deleted = 0 ORDER BY id`,
  );
  const excluded: Selection['excluded'] = [];
  const usable: (PhotoRow & { boxes: ExportBox[] })[] = [];
  for (const r of rows) {
    if (r.status !== 'completed' || !r.current_job_id || !r.width || !r.height || !r.model) {
      excluded.push({
        observationId: r.id,
        sourcePath: r.source_path,
        reason: r.status === 'failed' ? `the photo failed: ${r.error ?? 'no pixels'}` : `not audited yet (${r.status})`,
      });
      continue;
    }
    const boxes = dets.all(r.current_job_id).map((d): ExportBox => ({
      detectionId: d.id,
      label: d.object_name,
      x: d.x,
      y: d.y,
      width: d.width,
      height: d.height,
      confidence: d.confidence,
      origin: d.source === 'user' ? 'drawn' : d.corrected ? 'corrected' : 'model',
      condition: conditionOf(d.attributes),
    }));
    usable.push({ ...r, boxes });
  }

  // stable ids, given once and kept: new labels (and catalog entries) get the next class ids in name
  // order, new photos the next image ids
  const catalog = catalogInfo(db);
  const imageIds = new Map<string, number>();
  const classes = immediate(db, () => {
    const t = new Date().toISOString();
    const known = new Set(db.prepare<[], string>('SELECT name FROM dataset_classes').pluck().all());
    const fresh = [...new Set([...usable.flatMap((p) => p.boxes.map((b) => b.label)), ...catalog.keys()])]
      .filter((n) => !known.has(n))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const addClass = db.prepare(
      `INSERT INTO dataset_classes (class_id, name, created_at)
       VALUES ((SELECT coalesce(max(class_id) + 1, 0) FROM dataset_classes), ?, ?)`,
    );
    for (const n of fresh) addClass.run(n, t);
    const addImage = db.prepare('INSERT OR IGNORE INTO dataset_images (observation_id, created_at) VALUES (?, ?)');
    const getImage = db.prepare<[string], number>('SELECT image_id FROM dataset_images WHERE observation_id = ?').pluck();
    for (const p of usable) {
      addImage.run(p.id, t);
      imageIds.set(p.id, getImage.get(p.id)!);
    }
    return db
      .prepare<[], { class_id: number; name: string }>('SELECT class_id, name FROM dataset_classes ORDER BY class_id')
      .all()
      .map((c) => ({
        id: c.class_id,
        name: c.name,
        sku: catalog.get(c.name)?.sku ?? null,
        category: catalog.get(c.name)?.category ?? null,
      }));
  });

  const split = splitPhotos(
    usable.map((p) => ({ observationId: p.id, sha256: p.sha256 })),
    o.split,
    o.seed,
  );
  const photos = usable.map((p): ExportPhoto => ({
    observationId: p.id,
    imageId: imageIds.get(p.id)!,
    sha256: p.sha256,
    sourcePath: p.source_path,
    width: p.width!,
    height: p.height!,
    model: p.model!,
    review: p.review_status,
    boxes: p.boxes,
    split: split.get(p.id)!,
  }));
  return { photos, classes, excluded, flaggedLeftOut };
}

/** Catalog entries by name, with their SKU and category (the column exists once the catalog import is in). */
function catalogInfo(db: Db): Map<string, { sku: string | null; category: string | null }> {
  const cols = new Set(
    db
      .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('catalog')`)
      .all()
      .map((c) => c.name),
  );
  const category = cols.has('category') ? 'category' : 'NULL';
  return new Map(
    db
      .prepare<[], { name: string; sku: string | null; category: string | null }>(`SELECT name, sku, ${category} AS category FROM catalog`)
      .all()
      .map((r) => [r.name, { sku: r.sku, category: r.category }]),
  );
}
