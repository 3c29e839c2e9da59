/**
 * Dataset export for retraining: the photos a queue filter shows, with their boxes as the auditor left
 * them, written as YOLO (Ultralytics layout), COCO or Pascal VOC, plus manifest.json.
 *
 * The dataset is written into a hidden sibling folder and renamed to the output folder when complete,
 * so the output folder is either absent or a whole dataset: a cancel or a failure leaves nothing behind
 * (and nothing of the user's is touched). A non-empty output folder is refused unless `force`, which
 * moves it aside to OUT.bak-TIME first (never deletes it).
 *
 * Every image is read once, its sha256 checked against the audited photo (a file changed since is left
 * out, with the reason, and the export goes on); a photo with an EXIF orientation is written upright
 * (the boxes are in upright pixels), otherwise the bytes are copied (or linked: `images: 'link'`).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Db } from '../db';
import { ConfigError } from '../errors';
import { cocoFile, vocXml, yoloDataYaml, yoloLabel, clipBox } from './formats';
import { parseSince, selectForExport, type ExportPhoto } from './select';
import type { ExportFormat, QueueFilter } from '../../../shared/rpc';

export { parseSince } from './select';

export interface ExportRequest {
  filter: QueueFilter;
  /** Only these photos of the filter (a selection in the queue). */
  ids?: string[];
  format: ExportFormat;
  out: string;
  reviewedOnly?: boolean;
  since?: string;
  split?: number;
  seed?: number;
  images?: 'copy' | 'link';
  force?: boolean;
}

export interface ExportProgress {
  done: number;
  total: number;
}

export interface ExportReport {
  out: string;
  format: ExportFormat;
  cancelled: boolean;
  images: number;
  boxes: number;
  train: number;
  val: number;
  skipped: { observationId: string; sourcePath: string; reason: string }[];
  movedAside: string | null;
  manifest: string | null;
}

export const EXPORT_DEFAULTS = { split: 0.8, seed: 0, images: 'copy' as const };

/**
 * Whether `out` can take an export: null when it can, else what is wrong and what to do. `absolute`
 * (the UI: the path is typed on another page than the machine's shell) refuses relative paths.
 */
export function checkOutDir(out: string, opts: { force?: boolean; absolute?: boolean } = {}): string | null {
  if (opts.absolute && !path.isAbsolute(out)) return `${out}: type the full path of the folder (from / or a drive letter)`;
  const dir = path.resolve(out);
  const parent = path.dirname(dir);
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) return `${dir} is a file, not a folder: choose a new folder name`;
  const pst = fs.statSync(parent, { throwIfNoEntry: false });
  if (!pst?.isDirectory()) return `${parent} does not exist: create it first, or choose a folder in an existing one`;
  try {
    fs.accessSync(parent, fs.constants.W_OK);
  } catch {
    return `${parent} is not writable: choose a folder you can write to`;
  }
  if (st) {
    const n = fs.readdirSync(dir).length;
    if (n > 0 && !opts.force) {
      return (
        `${dir} is not empty (${n} entr${n === 1 ? 'y' : 'ies'}): choose a new or empty folder, or pass --force ` +
        `(in the app: "move it aside") to move what it holds to ${path.basename(dir)}.bak-TIME first (nothing is deleted)`
      );
    }
  }
  return null;
}

const safeStem = (p: string) =>
  path
    .basename(p, path.extname(p))
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 80) || 'photo';

/** The name of a photo's image in the dataset: stable (image id) and readable (the source file's name). */
export function imageName(p: ExportPhoto): string {
  const ext = path.extname(p.sourcePath).toLowerCase() || '.jpg';
  return `${String(p.imageId).padStart(6, '0')}_${safeStem(p.sourcePath)}${ext}`;
}

export async function runExport(
  db: Db,
  req: ExportRequest,
  hooks: { signal?: AbortSignal; onProgress?: (p: ExportProgress) => void } = {},
): Promise<ExportReport> {
  const split = req.split ?? EXPORT_DEFAULTS.split;
  if (!(split > 0 && split <= 1))
    throw new ConfigError(`--split ${split}: give the share of photos for training, above 0 and at most 1 (e.g. 0.8)`);
  const seed = req.seed ?? EXPORT_DEFAULTS.seed;
  const linkImages = (req.images ?? EXPORT_DEFAULTS.images) === 'link';
  const since = req.since ? parseSince(req.since) : undefined;
  const problem = checkOutDir(req.out, { force: req.force });
  if (problem) throw new ConfigError(problem);
  const out = path.resolve(req.out);

  const sel = selectForExport(db, { filter: req.filter, ids: req.ids, reviewedOnly: req.reviewedOnly ?? false, since, split, seed });
  const classId = new Map(sel.classes.map((c) => [c.name, c.id]));
  const total = sel.photos.length;
  hooks.onProgress?.({ done: 0, total });

  const work = path.join(path.dirname(out), `.${path.basename(out)}.partial-${crypto.randomBytes(4).toString('hex')}`);
  const layout = {
    yolo: { img: (s: string) => `images/${s}`, dirs: ['images/train', 'images/val', 'labels/train', 'labels/val'] },
    coco: { img: (s: string) => `images/${s}`, dirs: ['images/train', 'images/val', 'annotations'] },
    voc: { img: () => 'JPEGImages', dirs: ['JPEGImages', 'Annotations', 'ImageSets/Main'] },
  }[req.format];
  const skipped: ExportReport['skipped'] = [...sel.excluded];
  const written: (ExportPhoto & { file: string; oriented: boolean; depth: number })[] = [];
  let done = 0;
  try {
    for (const d of layout.dirs) await fsp.mkdir(path.join(work, d), { recursive: true });
    for (const p of sel.photos) {
      if (hooks.signal?.aborted) break;
      const file = imageName(p);
      const dest = path.join(work, layout.img(p.split), file);
      const r = await writeImage(p, dest, linkImages);
      if ('reason' in r) skipped.push({ observationId: p.observationId, sourcePath: p.sourcePath, reason: r.reason });
      else {
        written.push({ ...p, file, oriented: r.oriented, depth: r.depth });
        if (req.format === 'yolo') {
          await fsp.writeFile(
            path.join(work, 'labels', p.split, `${path.parse(file).name}.txt`),
            yoloLabel(p, (l) => classId.get(l)!),
          );
        } else if (req.format === 'voc') {
          await fsp.writeFile(path.join(work, 'Annotations', `${path.parse(file).name}.xml`), vocXml(p, file, r.depth));
        }
      }
      done++;
      hooks.onProgress?.({ done, total });
    }
    if (hooks.signal?.aborted) {
      await fsp.rm(work, { recursive: true, force: true });
      return { out, format: req.format, cancelled: true, images: 0, boxes: 0, train: 0, val: 0, skipped, movedAside: null, manifest: null };
    }

    const train = written.filter((p) => p.split === 'train');
    const val = written.filter((p) => p.split === 'val');
    const createdAt = new Date().toISOString();
    if (req.format === 'yolo') {
      await fsp.writeFile(path.join(work, 'data.yaml'), yoloDataYaml(out, sel.classes, val.length > 0));
      await fsp.writeFile(path.join(work, 'classes.txt'), sel.classes.map((c) => `${c.name}\n`).join(''));
    } else if (req.format === 'coco') {
      for (const [name, list] of [
        ['train', train],
        ['val', val],
      ] as const) {
        const info = { description: `KLIQ Audit export (${name})`, version: '1.0', date_created: createdAt, kliq_split: name };
        const coco = cocoFile(list, (p) => (p as (typeof written)[number]).file, sel.classes, info);
        await fsp.writeFile(path.join(work, 'annotations', `instances_${name}.json`), JSON.stringify(coco));
      }
    } else {
      const stems = (l: typeof written) => l.map((p) => `${path.parse(p.file).name}\n`).join('');
      await fsp.writeFile(path.join(work, 'ImageSets/Main/train.txt'), stems(train));
      await fsp.writeFile(path.join(work, 'ImageSets/Main/val.txt'), stems(val));
      await fsp.writeFile(path.join(work, 'ImageSets/Main/trainval.txt'), stems(written));
      await fsp.writeFile(path.join(work, 'labels.txt'), sel.classes.map((c) => `${c.name}\n`).join(''));
    }

    const boxesOf = (p: ExportPhoto) => p.boxes.filter((b) => clipBox(b, p.width, p.height));
    const perClass = new Map<string, { boxes: number; origins: Record<string, number>; models: Record<string, number> }>();
    for (const p of written) {
      for (const b of boxesOf(p)) {
        const c = perClass.get(b.label) ?? { boxes: 0, origins: { model: 0, corrected: 0, drawn: 0 }, models: {} };
        c.boxes++;
        c.origins[b.origin]++;
        const from = b.origin === 'drawn' ? 'auditor' : p.model;
        c.models[from] = (c.models[from] ?? 0) + 1;
        perClass.set(b.label, c);
      }
    }
    const boxes = written.reduce((a, p) => a + boxesOf(p).length, 0);
    const manifest = {
      tool: 'kliq-audit export',
      format: req.format,
      createdAt,
      filter: {
        ...req.filter,
        reviewedOnly: req.reviewedOnly ?? false,
        since: since ?? null,
        flaggedLeftOut: sel.flaggedLeftOut,
        ...(req.ids ? { selectedPhotos: req.ids.length } : {}),
      },
      split: { ratio: split, seed, train: train.length, val: val.length },
      images: linkImages ? 'link' : 'copy',
      counts: {
        images: written.length,
        boxes,
        emptyImages: written.filter((p) => boxesOf(p).length === 0).length,
        byOrigin: {
          model: written.reduce((a, p) => a + boxesOf(p).filter((b) => b.origin === 'model').length, 0),
          corrected: written.reduce((a, p) => a + boxesOf(p).filter((b) => b.origin === 'corrected').length, 0),
          drawn: written.reduce((a, p) => a + boxesOf(p).filter((b) => b.origin === 'drawn').length, 0),
        },
        skipped: skipped.length,
      },
      categories: sel.classes.map((c) => ({
        id: c.id,
        name: c.name,
        ...(c.sku ? { sku: c.sku } : {}),
        boxes: perClass.get(c.name)?.boxes ?? 0,
        origins: perClass.get(c.name)?.origins ?? { model: 0, corrected: 0, drawn: 0 },
        models: perClass.get(c.name)?.models ?? {},
      })),
      photos: written.map((p) => ({
        imageId: p.imageId,
        file: `${layout.img(p.split)}/${p.file}`,
        split: p.split,
        observationId: p.observationId,
        sha256: p.sha256,
        source: p.sourcePath,
        model: p.model,
        review: p.review,
        boxes: boxesOf(p).length,
        ...(p.oriented ? { writtenUpright: true } : {}),
      })),
      skipped,
    };
    await fsp.writeFile(path.join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

    // the folder appears whole: an empty one is replaced, a non-empty one (force) is moved aside first
    let movedAside: string | null = null;
    const again = checkOutDir(out, { force: req.force });
    if (again) throw new ConfigError(again);
    if (fs.existsSync(out)) {
      if (fs.readdirSync(out).length === 0) await fsp.rmdir(out);
      else {
        movedAside = `${out}.bak-${createdAt.replace(/[:.]/g, '-')}`;
        await fsp.rename(out, movedAside);
      }
    }
    await fsp.rename(work, out);
    return {
      out,
      format: req.format,
      cancelled: false,
      images: written.length,
      boxes,
      train: train.length,
      val: val.length,
      skipped,
      movedAside,
      manifest: path.join(out, 'manifest.json'),
    };
  } catch (err) {
    await fsp.rm(work, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw new ConfigError(`the disk of ${out} is full: free some space and export again (nothing was written)`);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
      throw new ConfigError(`cannot write in ${path.dirname(out)} (${code}): choose a folder you can write to (nothing was written)`);
    throw err;
  }
}

/** Writes one photo's image: checked against the audited content, upright, copied or linked. */
async function writeImage(p: ExportPhoto, dest: string, link: boolean): Promise<{ oriented: boolean; depth: number } | { reason: string }> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(p.sourcePath);
  } catch (err) {
    return {
      reason: `the photo file is gone or unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): re-import it`,
    };
  }
  if (crypto.createHash('sha256').update(buf).digest('hex') !== p.sha256) {
    return { reason: 'the photo file changed since it was audited: re-import it' };
  }
  const meta = await sharp(buf).metadata();
  const depth = meta.channels ?? 3;
  if ((meta.orientation ?? 1) > 1) {
    const img = sharp(buf).rotate();
    await (meta.format === 'png' ? img.png() : img.jpeg({ quality: 95 })).toFile(dest);
    return { oriented: true, depth };
  }
  if (link) await fsp.symlink(path.resolve(p.sourcePath), dest);
  else await fsp.writeFile(dest, buf, { flag: 'wx' });
  return { oriented: false, depth };
}
