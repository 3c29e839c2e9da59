/**
 * Export for retraining and the COCO round trip, on photos of ../shared/photos/general audited with
 * the real default model, corrected through the review service (deleted, relabelled, moved and drawn
 * boxes, a grade), then exported by the CLI and read back: YOLO with a reference reader written from
 * the Ultralytics documentation (./yolo-reader.ts), COCO and VOC parsed here.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '../src/main/engine/audit';
import { openDb, type Db } from '../src/main/engine/db';
import { runExport } from '../src/main/engine/export';
import { BuildingService } from '../src/main/engine/buildings';
import { ReviewService } from '../src/main/engine/review';
import { GENERAL, ROOT, tmpDir } from './helpers';
import { readYoloDataset } from './yolo-reader';

const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

let photos: string;
let base: string;

/** The audited photos, as a fresh copy of the database for one test. */
function copyDb(): string {
  const file = path.join(tmpDir(), 'audit.db');
  fs.copyFileSync(base, file);
  return file;
}

interface Current {
  label: string;
  box: { x: number; y: number; width: number; height: number };
  condition: string | null;
}
/** What the database holds now for each photo (by sha256): the current boxes, deleted ones left out. */
function currentBoxes(file: string): Map<string, Current[]> {
  const db = new Database(file, { readonly: true });
  const rows = db
    .prepare(
      `SELECT o.sha256, d.object_name AS label, d.x, d.y, d.width, d.height, json_extract(d.attributes, '$.condition') AS condition
       FROM observations o LEFT JOIN detections d ON d.cv_job_id = o.current_job_id AND d.deleted = 0 WHERE o.status = 'completed'`,
    )
    .all() as { sha256: string; label: string | null; x: number; y: number; width: number; height: number; condition: string | null }[];
  db.close();
  const m = new Map<string, Current[]>();
  for (const r of rows) {
    const list = m.get(r.sha256) ?? [];
    if (r.label) list.push({ label: r.label, box: { x: r.x, y: r.y, width: r.width, height: r.height }, condition: r.condition });
    m.set(r.sha256, list);
  }
  return m;
}

const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Corrections an auditor makes: on dog.jpg delete one box, relabel one, move one, draw a "crack" graded poor; fruits.jpg emptied. */
function correct(file: string): { observationId: string } {
  const db = openDb(file);
  try {
    const review = new ReviewService(db, { user: 'tester' });
    const byName = (n: string) => db.prepare(`SELECT id FROM observations WHERE source_path LIKE ?`).pluck().get(`%${n}`) as string;
    const dog = byName('dog.jpg');
    const dets = review.photo({ observationId: dog }).detections;
    expect(dets.length).toBeGreaterThanOrEqual(3);
    review.deleteDetection({ detectionId: dets[0].id, version: dets[0].version });
    review.updateDetection({ detectionId: dets[1].id, version: dets[1].version, objectName: 'pet' });
    const b = dets[2].boundingBox;
    review.updateDetection({ detectionId: dets[2].id, version: dets[2].version, boundingBox: { ...b, x: b.x + 7.25, width: b.width - 3 } });
    const drawn = review.addDetection({ observationId: dog, objectName: 'crack', boundingBox: { x: 10, y: 20, width: 30.5, height: 40 } });
    new BuildingService(db, { user: 'tester' }).setDetectionCondition({ detectionId: drawn.id, version: drawn.version, condition: 'poor' });
    const fruits = byName('fruits.jpg');
    for (const d of review.photo({ observationId: fruits }).detections) review.deleteDetection({ detectionId: d.id, version: d.version });
    review.setReview({ observationId: dog, review: 'reviewed' });
    return { observationId: dog };
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  photos = path.join(tmpDir(), 'photos');
  fs.cpSync(GENERAL, photos, { recursive: true });
  base = path.join(tmpDir(), 'base.db');
  const db = openDb(base);
  await runAudit({ paths: [photos], db, provider: 'cpu' });
  db.close();
});

const near = (a: Current['box'], b: Current['box'], tol: number) =>
  Math.abs(a.x - b.x) <= tol && Math.abs(a.y - b.y) <= tol && Math.abs(a.width - b.width) <= tol && Math.abs(a.height - b.height) <= tol;

/** Every expected box found once in `got` (same label, within tol px), and nothing else. */
function expectSameBoxes(got: Current[], want: Current[], tol: number) {
  expect(got.length).toBe(want.length);
  const left = [...got];
  for (const w of want) {
    const i = left.findIndex((g) => g.label === w.label && near(g.box, w.box, tol));
    expect(i, `${w.label} ${JSON.stringify(w.box)} in ${JSON.stringify(got)}`).toBeGreaterThanOrEqual(0);
    left.splice(i, 1);
  }
}

describe('kliq-audit export', () => {
  it('YOLO: Ultralytics layout, read by the reference reader, holds the corrected boxes; an empty label file for no box', async () => {
    const file = copyDb();
    correct(file);
    const out = path.join(tmpDir(), 'yolo');
    const r = await cli(['export', '--db', file, '--format', 'yolo', '--out', out, '--seed', '7', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const ds = await readYoloDataset(path.join(out, 'data.yaml'));
    const images = [...ds.splits.train, ...ds.splits.val];
    const want = currentBoxes(file);
    expect(images.length).toBe(want.size);
    expect(ds.splits.train.length).toBe(Math.round(want.size * 0.8));
    expect(fs.readFileSync(path.join(out, 'classes.txt'), 'utf8').trim().split('\n')).toEqual(ds.names);
    for (const im of images) {
      expect(im.labelFile, `${im.image} has its label file`).not.toBeNull();
      const boxes = want.get(sha(im.image));
      expect(boxes, `${im.image} is an audited photo`).toBeDefined();
      // 6 decimals of a normalised coordinate: well under a pixel on these photos
      expectSameBoxes(
        im.objects.map((o) => ({ label: o.name, box: o.box, condition: null })),
        boxes!.map((b) => ({ ...b, condition: null })),
        0.01,
      );
    }
    const fruits = images.find((i) => i.image.endsWith('_fruits.jpg'))!;
    expect(fs.readFileSync(fruits.labelFile!, 'utf8')).toBe('');
    // the drawn box with a label the model does not know, the relabel, the deleted box gone
    const dog = images.find((i) => i.image.endsWith('_dog.jpg'))!;
    expect(dog.objects.map((o) => o.name)).toEqual(expect.arrayContaining(['crack', 'pet']));
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.counts).toMatchObject({ images: want.size, emptyImages: 1, byOrigin: { drawn: 1, corrected: 2 } });
    expect(manifest.counts.boxes).toBe([...want.values()].reduce((a, l) => a + l.length, 0));
    const crack = manifest.categories.find((c: { name: string }) => c.name === 'crack');
    expect(crack).toMatchObject({ boxes: 1, origins: { drawn: 1 }, models: { auditor: 1 } });
    const pet = manifest.categories.find((c: { name: string }) => c.name === 'pet');
    expect(pet).toMatchObject({ boxes: 1, origins: { corrected: 1 }, models: { 'yolox-nano-coco': 1 } });
    expect(manifest.split).toEqual({ ratio: 0.8, seed: 7, train: ds.splits.train.length, val: ds.splits.val.length });
  });

  it('the split is decided by the seed: the same seed gives the same split, another seed another', async () => {
    const file = copyDb();
    const splitOf = async (seed: number) => {
      const out = path.join(tmpDir(), `split-${seed}`);
      const r = await cli(['export', '--db', file, '--format', 'yolo', '--out', out, '--seed', String(seed), '--split', '0.5']);
      expect(r.code, r.stderr).toBe(0);
      return fs.readdirSync(path.join(out, 'images', 'val')).sort();
    };
    const a = await splitOf(1);
    expect(a.length).toBe(9 - Math.round(9 * 0.5));
    expect(await splitOf(1)).toEqual(a);
    const others = [await splitOf(2), await splitOf(3)];
    expect(others.some((o) => JSON.stringify(o) !== JSON.stringify(a))).toBe(true);
  });

  it('class and image ids are stable from one export to the next; a new label gets the next id', async () => {
    const file = copyDb();
    const first = path.join(tmpDir(), 'first');
    expect((await cli(['export', '--db', file, '--format', 'coco', '--out', first])).code).toBe(0);
    correct(file); // adds the labels "crack" and "pet"
    const second = path.join(tmpDir(), 'second');
    expect((await cli(['export', '--db', file, '--format', 'coco', '--out', second])).code).toBe(0);
    const read = (d: string) => {
      const files = ['train', 'val'].map((s) => JSON.parse(fs.readFileSync(path.join(d, 'annotations', `instances_${s}.json`), 'utf8')));
      return {
        cats: files[0].categories as { id: number; name: string }[],
        images: files.flatMap((f) => f.images) as { id: number; sha256: string }[],
      };
    };
    const a = read(first);
    const b = read(second);
    expect(b.cats.slice(0, a.cats.length)).toEqual(a.cats);
    expect(b.cats.slice(a.cats.length).map((c) => c.name)).toEqual(['crack', 'pet']);
    expect(b.cats.map((c) => c.id)).toEqual(b.cats.map((_, i) => i + 1));
    const ids = (x: typeof a) => Object.fromEntries(x.images.map((i) => [i.sha256, i.id]));
    expect(ids(b)).toEqual(ids(a));
  });

  it('COCO round trip: an export imported into a fresh audit of the same photos, exported again, compares equal', async () => {
    const corrected = copyDb();
    correct(corrected);
    const outA = path.join(tmpDir(), 'coco-a');
    expect((await cli(['export', '--db', corrected, '--format', 'coco', '--out', outA])).code).toBe(0);

    // a fresh database: the same photos audited again by the model, nothing corrected
    const fresh = path.join(tmpDir(), 'fresh.db');
    const db = openDb(fresh);
    await runAudit({ paths: [photos], db, provider: 'cpu' });
    db.close();
    const files = ['train', 'val'].map((s) => path.join(outA, 'annotations', `instances_${s}.json`));
    const imp = await cli(['import-labels', '--format', 'coco', ...files, '--db', fresh, '--user', 'importer', '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    const report = JSON.parse(imp.stdout);
    expect(report).toMatchObject({ images: 9, matched: 9, unmatched: [], graded: 1 });
    expect(report.added).toBeGreaterThanOrEqual(1);
    expect(report.deleted).toBeGreaterThanOrEqual(1);
    expect(report.updated).toBeGreaterThanOrEqual(2);

    const outB = path.join(tmpDir(), 'coco-b');
    expect((await cli(['export', '--db', fresh, '--format', 'coco', '--out', outB])).code).toBe(0);
    const content = (dir: string) => {
      const docs = ['train', 'val'].map((s) => JSON.parse(fs.readFileSync(path.join(dir, 'annotations', `instances_${s}.json`), 'utf8')));
      const per: Record<string, string[]> = {};
      for (const d of docs) {
        const cat = new Map(d.categories.map((c: { id: number; name: string }) => [c.id, c.name]));
        const shaOf = new Map(d.images.map((i: { id: number; sha256: string }) => [i.id, i.sha256]));
        for (const i of d.images) per[i.sha256] ??= [];
        for (const a of d.annotations)
          per[shaOf.get(a.image_id) as string].push(`${cat.get(a.category_id)} ${a.bbox.join(',')} ${a.attributes.condition ?? '-'}`);
      }
      for (const k of Object.keys(per)) per[k].sort();
      return per;
    };
    expect(content(outB)).toEqual(content(outA));
    expect(Object.keys(content(outA)).length).toBe(9);
    // every change went in as a correction by the importer, with its outbox row
    const check = new Database(fresh, { readonly: true });
    const n = check.prepare(`SELECT count(*) FROM corrections WHERE who = 'importer'`).pluck().get() as number;
    expect(n).toBe(report.added + report.updated + report.deleted + report.graded);
    expect(check.prepare(`SELECT count(*) FROM outbox WHERE kind = 'labels'`).pluck().get()).toBe(n);
    check.close();
    // importing the same file again changes nothing
    const again = JSON.parse((await cli(['import-labels', ...files, '--db', fresh, '--json'])).stdout);
    expect(again).toMatchObject({ added: 0, updated: 0, deleted: 0, graded: 0, matched: 9 });
  });

  it('VOC: one XML per photo with 1-based pixel boxes, and the image sets', async () => {
    const file = copyDb();
    correct(file);
    const out = path.join(tmpDir(), 'voc');
    expect((await cli(['export', '--db', file, '--format', 'voc', '--out', out])).code).toBe(0);
    const want = currentBoxes(file);
    const xmls = fs.readdirSync(path.join(out, 'Annotations'));
    expect(xmls.length).toBe(9);
    for (const x of xmls) {
      const text = fs.readFileSync(path.join(out, 'Annotations', x), 'utf8');
      const tag = (t: string, s = text) => /<(\w+)>([^<]*)<\/\1>/.exec(s.slice(s.indexOf(`<${t}>`)))![2];
      const image = path.join(out, 'JPEGImages', tag('filename'));
      const meta = await sharp(image).metadata();
      expect([Number(tag('width')), Number(tag('height'))]).toEqual([meta.width, meta.height]);
      const objects = [...text.matchAll(/<object>([\s\S]*?)<\/object>/g)].map((m) => {
        const n = (t: string) => Number(tag(t, m[1]));
        return {
          label: tag('name', m[1]),
          box: { x: n('xmin') - 1, y: n('ymin') - 1, width: n('xmax') - n('xmin') + 1, height: n('ymax') - n('ymin') + 1 },
          condition: null,
        };
      });
      expectSameBoxes(
        objects,
        want.get(sha(image))!.map((b) => ({ ...b, condition: null })),
        1,
      );
    }
    const listed = ['train', 'val'].flatMap((s) =>
      fs
        .readFileSync(path.join(out, 'ImageSets', 'Main', `${s}.txt`), 'utf8')
        .trim()
        .split('\n'),
    );
    expect(listed.sort()).toEqual(xmls.map((x) => x.replace(/\.xml$/, '')).sort());
  });

  it('filters: --reviewed-only, --since, and the queue filters select the photos', async () => {
    const file = copyDb();
    correct(file); // dog.jpg reviewed
    const count = async (args: string[]) => {
      const out = path.join(tmpDir(), 'f');
      fs.rmSync(out, { recursive: true, force: true });
      const r = await cli(['export', '--db', file, '--format', 'yolo', '--out', out, '--json', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout).images as number;
    };
    expect(await count(['--reviewed-only'])).toBe(1);
    expect(await count(['--since', '2999-01-01'])).toBe(0);
    expect(await count(['--since', '2000-01-01'])).toBe(9);
    expect(await count(['--label', 'giraffe'])).toBe(1);
    const bad = await cli(['export', '--db', file, '--format', 'yolo', '--out', path.join(tmpDir(), 'x'), '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since yesterday: not a date; use YYYY-MM-DD/);
  });

  it('refuses a non-empty folder and touches nothing in it; --force moves it aside, nothing is deleted', async () => {
    const file = copyDb();
    const out = path.join(tmpDir(), 'busy');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'precious.txt'), 'keep me');
    const r = await cli(['export', '--db', file, '--format', 'coco', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not empty \(1 entry\): choose a new or empty folder, or pass --force/);
    expect(fs.readdirSync(out)).toEqual(['precious.txt']);
    const forced = await cli(['export', '--db', file, '--format', 'coco', '--out', out, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    const moved = /moved to (.+\.bak-[^\s]+)/.exec(forced.stderr)![1];
    expect(fs.readFileSync(path.join(moved, 'precious.txt'), 'utf8')).toBe('keep me');
    expect(fs.existsSync(path.join(out, 'annotations', 'instances_train.json'))).toBe(true);
    // an empty folder is used as it is
    const empty = path.join(tmpDir(), 'empty');
    fs.mkdirSync(empty);
    expect((await cli(['export', '--db', file, '--format', 'yolo', '--out', empty])).code).toBe(0);
    expect(fs.existsSync(path.join(empty, 'data.yaml'))).toBe(true);
    // a folder whose parent does not exist (a typo) is refused with what to do
    const typo = await cli(['export', '--db', file, '--format', 'yolo', '--out', path.join(tmpDir(), 'no', 'such')]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/does not exist: create it first/);
  });

  it('cancelled mid-way, nothing is left: no output folder, no partial folder', async () => {
    const file = copyDb();
    const parent = tmpDir();
    const out = path.join(parent, 'cancelled');
    const db: Db = openDb(file);
    const controller = new AbortController();
    const seen: number[] = [];
    const report = await runExport(
      db,
      { filter: {}, format: 'yolo', out },
      {
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.done);
          if (p.done === 3) controller.abort();
        },
      },
    );
    db.close();
    expect(report.cancelled).toBe(true);
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('a photo changed since its audit is left out with the reason; an EXIF-rotated photo is written upright; link mode links', async () => {
    const dir = path.join(tmpDir(), 'odd');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(GENERAL, 'giraffe.jpg'), path.join(dir, 'giraffe.jpg'));
    fs.copyFileSync(path.join(GENERAL, 'chelsea.png'), path.join(dir, 'chelsea.png'));
    // dog.jpg stored sideways with EXIF orientation 6 (a viewer rotates it upright)
    await sharp(path.join(GENERAL, 'dog.jpg'))
      .rotate(-90)
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toFile(path.join(dir, 'dog-rotated.jpg'));
    const file = path.join(tmpDir(), 'odd.db');
    const db = openDb(file);
    await runAudit({ paths: [dir], db, provider: 'cpu' });
    db.close();
    fs.appendFileSync(path.join(dir, 'giraffe.jpg'), Buffer.from('changed'));
    const out = path.join(tmpDir(), 'odd-out');
    const r = await cli(['export', '--db', file, '--format', 'yolo', '--out', out, '--images', 'link', '--split', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/left out: .*giraffe\.jpg: the photo file changed since it was audited: re-import it/);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest.counts.images).toBe(2);
    const rotated = manifest.photos.find((p: { source: string }) => p.source.endsWith('dog-rotated.jpg'));
    expect(rotated.writtenUpright).toBe(true);
    const written = path.join(out, rotated.file);
    expect(fs.lstatSync(written).isSymbolicLink()).toBe(false);
    const meta = await sharp(written).metadata();
    expect([meta.width, meta.height]).toEqual([768, 576]); // dog.jpg upright
    const cat = manifest.photos.find((p: { source: string }) => p.source.endsWith('chelsea.png'));
    expect(fs.readlinkSync(path.join(out, cat.file))).toBe(path.join(dir, 'chelsea.png'));
    const ds = await readYoloDataset(path.join(out, 'data.yaml'));
    expect(ds.splits.train.length).toBe(2);
    const dog = ds.splits.train.find((i) => i.image.endsWith('dog-rotated.jpg'))!;
    expect(dog.objects.map((o) => o.name)).toEqual(expect.arrayContaining(['dog']));
  });
});
