/**
 * `kliq-audit import-labels --format coco FILE…`: a COCO detection file (ours, or another tool's)
 * applied to the photos of a database AS CORRECTIONS. Each COCO image is matched to an observation by
 * content (its `sha256` field, else the sha256 of the image file found beside the JSON); then the
 * photo's current boxes are made equal to the file's annotations through the review's own edits (a
 * correction row and an outbox row each, like an auditor's):
 *   1. an annotation with the same label and box (within 0.01 px) as a current box keeps it;
 *   2. the others are paired with the remaining boxes by IoU (≥ 0.5, best first): relabel / move;
 *   3. boxes left over are deleted, annotations left over are added as drawn boxes.
 * `attributes.condition` is applied to each box the same way. Importing the same file twice changes
 * nothing the second time.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Db } from '../db';
import { ConfigError } from '../errors';
import { ReviewService } from '../review';
import { BuildingService } from '../buildings';
import { CONDITIONS, type Condition } from '../../../shared/condition';
import type { ReviewDetection } from '../../../shared/rpc';

const CocoSchema = z.object({
  images: z.array(
    z.looseObject({
      id: z.union([z.number(), z.string()]),
      file_name: z.string(),
      width: z.number().positive().optional(),
      height: z.number().positive().optional(),
      sha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .optional(),
    }),
  ),
  annotations: z.array(
    z.looseObject({
      id: z.union([z.number(), z.string()]).optional(),
      image_id: z.union([z.number(), z.string()]),
      category_id: z.union([z.number(), z.string()]),
      bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]),
      attributes: z.looseObject({ condition: z.enum(CONDITIONS).optional() }).optional(),
    }),
  ),
  categories: z.array(z.looseObject({ id: z.union([z.number(), z.string()]), name: z.string().min(1) })),
});

export interface ImportLabelsReport {
  files: number;
  images: number;
  matched: number;
  unmatched: { file: string; image: string; reason: string }[];
  added: number;
  updated: number;
  deleted: number;
  unchanged: number;
  graded: number;
}

const TOLERANCE = 0.01;
type Box = { x: number; y: number; width: number; height: number };
const same = (a: Box, b: Box) =>
  Math.abs(a.x - b.x) <= TOLERANCE &&
  Math.abs(a.y - b.y) <= TOLERANCE &&
  Math.abs(a.width - b.width) <= TOLERANCE &&
  Math.abs(a.height - b.height) <= TOLERANCE;
function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Reads and checks a COCO file: a clear error naming the file and the first problem. */
export function readCoco(file: string): z.infer<typeof CocoSchema> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT' ? `${file}: no such file` : `${file} is not a JSON file (${(err as Error).message}): pass a COCO annotations file`,
    );
  }
  const r = CocoSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`${file} is not a COCO detection file: ${i.path.join('.') || 'top level'}: ${i.message}`);
  }
  const cats = new Set(r.data.categories.map((c) => String(c.id)));
  const imgs = new Set(r.data.images.map((im) => String(im.id)));
  for (const [i, a] of r.data.annotations.entries()) {
    if (!cats.has(String(a.category_id)))
      throw new ConfigError(`${file}: annotations.${i} names category ${a.category_id}, which is not in categories`);
    if (!imgs.has(String(a.image_id))) throw new ConfigError(`${file}: annotations.${i} names image ${a.image_id}, which is not in images`);
    if (!(a.bbox[2] > 0 && a.bbox[3] > 0)) throw new ConfigError(`${file}: annotations.${i} has a box without area (${a.bbox.join(', ')})`);
  }
  return r.data;
}

/** Where an image of a COCO file may be: beside it, or in the export layout (../images/train|val). */
function findImage(jsonFile: string, name: string, imagesDir?: string): string | null {
  const dir = path.dirname(path.resolve(jsonFile));
  const candidates = [
    ...(imagesDir ? [path.join(imagesDir, name)] : []),
    path.join(dir, name),
    path.join(dir, 'images', name),
    path.join(dir, '..', 'images', name),
    path.join(dir, '..', 'images', 'train', name),
    path.join(dir, '..', 'images', 'val', name),
  ];
  return candidates.find((c) => fs.statSync(c, { throwIfNoEntry: false })?.isFile()) ?? null;
}

export function importCocoLabels(
  db: Db,
  files: string[],
  opts: { user: string; imagesDir?: string; onChanged?: (ids: string[]) => void },
): ImportLabelsReport {
  const docs = files.map((f) => ({ file: f, coco: readCoco(f) })); // every file checked before anything is written
  const review = new ReviewService(db, { user: opts.user, onChanged: opts.onChanged });
  const buildings = new BuildingService(db, { user: opts.user, onChanged: opts.onChanged });
  const bySha = db.prepare<[string], { id: string; status: string }>('SELECT id, status FROM observations WHERE sha256 = ?');
  const report: ImportLabelsReport = {
    files: files.length,
    images: 0,
    matched: 0,
    unmatched: [],
    added: 0,
    updated: 0,
    deleted: 0,
    unchanged: 0,
    graded: 0,
  };

  for (const { file, coco } of docs) {
    const catName = new Map(coco.categories.map((c) => [String(c.id), c.name.trim()]));
    const anns = new Map<string, typeof coco.annotations>();
    for (const a of coco.annotations) anns.set(String(a.image_id), [...(anns.get(String(a.image_id)) ?? []), a]);
    for (const im of coco.images) {
      report.images++;
      let sha = im.sha256;
      if (!sha) {
        const found = findImage(file, im.file_name, opts.imagesDir);
        if (!found) {
          report.unmatched.push({
            file,
            image: im.file_name,
            reason: 'no sha256 in the file and no image file beside it: pass --images DIR',
          });
          continue;
        }
        sha = crypto.createHash('sha256').update(fs.readFileSync(found)).digest('hex');
      }
      const obs = bySha.get(sha);
      if (!obs) {
        report.unmatched.push({ file, image: im.file_name, reason: 'no photo with this content in the database: audit it first' });
        continue;
      }
      if (obs.status !== 'completed') {
        report.unmatched.push({ file, image: im.file_name, reason: `the photo is not audited (${obs.status}): audit it first` });
        continue;
      }
      report.matched++;
      const wanted = (anns.get(String(im.id)) ?? []).map((a) => ({
        label: catName.get(String(a.category_id))!,
        box: { x: a.bbox[0], y: a.bbox[1], width: a.bbox[2], height: a.bbox[3] },
        condition: (a.attributes?.condition ?? null) as Condition | null,
      }));
      applyLabels(review, buildings, obs.id, wanted, report);
    }
  }
  return report;
}

function applyLabels(
  review: ReviewService,
  buildings: BuildingService,
  observationId: string,
  wanted: { label: string; box: Box; condition: Condition | null }[],
  report: ImportLabelsReport,
): void {
  const current = review.photo({ observationId }).detections;
  const kept: { det: ReviewDetection; want: (typeof wanted)[number] }[] = [];
  const left = new Set(current.map((d) => d.id));
  const todo: typeof wanted = [];
  for (const w of wanted) {
    const d = current.find((c) => left.has(c.id) && c.objectName === w.label && same(c.boundingBox, w.box));
    if (d) {
      left.delete(d.id);
      kept.push({ det: d, want: w });
      report.unchanged++;
    } else todo.push(w);
  }
  const pairs = todo
    .flatMap((w, wi) => current.filter((c) => left.has(c.id)).map((c) => ({ wi, c, v: iou(c.boundingBox, w.box) })))
    .filter((p) => p.v >= 0.5)
    .sort((a, b) => b.v - a.v || a.c.id - b.c.id || a.wi - b.wi);
  const paired = new Set<number>();
  for (const p of pairs) {
    if (paired.has(p.wi) || !left.has(p.c.id)) continue;
    paired.add(p.wi);
    left.delete(p.c.id);
    const w = todo[p.wi];
    const det = review.updateDetection({
      detectionId: p.c.id,
      version: p.c.version,
      objectName: w.label !== p.c.objectName ? w.label : undefined,
      boundingBox: same(p.c.boundingBox, w.box) ? undefined : w.box,
    });
    kept.push({ det, want: w });
    report.updated++;
  }
  for (const id of left) {
    const d = current.find((c) => c.id === id)!;
    review.deleteDetection({ detectionId: d.id, version: d.version });
    report.deleted++;
  }
  for (const [wi, w] of todo.entries()) {
    if (paired.has(wi)) continue;
    const det = review.addDetection({ observationId, objectName: w.label, boundingBox: w.box });
    kept.push({ det, want: w });
    report.added++;
  }
  for (const k of kept) {
    if ((k.det.condition ?? null) === k.want.condition) continue;
    buildings.setDetectionCondition({ detectionId: k.det.id, version: k.det.version, condition: k.want.condition });
    report.graded++;
  }
}
