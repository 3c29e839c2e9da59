import fs from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it, beforeAll } from 'vitest';
import { runAudit } from '../src/main/engine/audit';
import { openDb } from '../src/main/engine/db';
import { AuditStore } from '../src/main/engine/db/store';
import type { AuditPhoto, AuditReport, Detection } from '../src/shared/domain';
import { AuditReportSchema } from '../src/shared/domain';
import { EXPECTED_LABELS, GENERAL, HAND_LABELS, PHOTOS, bestMatch, iouBox, labelsOf, tmpDir } from './helpers';

const byName = (r: AuditReport) => new Map(r.photos.map((p) => [path.basename(p.path), p]));

async function audit(
  paths: string[],
  model: string,
  dbFile = path.join(tmpDir(), 'a.db'),
  extra: Partial<Parameters<typeof runAudit>[0]> = {},
) {
  const db = openDb(dbFile);
  try {
    const report = await runAudit({ paths, db, model, provider: 'cpu', ...extra });
    return { report, stats: new AuditStore(db).stats(), jobs: db.prepare('SELECT count(*) AS n FROM cv_jobs').get() as { n: number } };
  } finally {
    db.close();
  }
}

describe('audit of ../shared/photos/general with both shared models', () => {
  let yolox: AuditReport;
  let v8: AuditReport;

  beforeAll(async () => {
    yolox = (await audit([GENERAL], 'yolox-nano-coco')).report;
    v8 = (await audit([GENERAL], 'yolox-nano-coco-v8layout')).report;
  });

  it('reports in the documented JSON shape', () => {
    expect(() => AuditReportSchema.parse(yolox)).not.toThrow();
    expect(yolox.provider).toBe('cpu');
    expect(yolox.counts).toMatchObject({ total: 9, completed: 9, failed: 0 });
  });

  it.each(Object.entries(EXPECTED_LABELS))('%s: finds %j with both models', (file, labels) => {
    for (const report of [yolox, v8]) {
      const photo = byName(report).get(file)!;
      expect(photo.status).toBe('completed');
      for (const l of labels) expect(labelsOf(photo.detections), `${report.model} on ${file}`).toContain(l);
    }
  });

  it('both layouts find the same objects in the same places', () => {
    // The layouts letterbox differently (top-left BGR 0..255 vs centred RGB 0..1, as MODELS.md specifies),
    // so the network sees the photo shifted by a few pixels and confidences move by up to ~0.15.
    // Every confident detection has its twin; decode.test.ts checks exact equality on one tensor.
    for (const [file, a] of byName(yolox)) {
      const b = byName(v8).get(file)!;
      for (const [x, y] of [
        [a, b],
        [b, a],
      ]) {
        for (const d of x.detections.filter((e) => e.confidence >= 0.4)) {
          const twin = y.detections.find((e) => e.objectName === d.objectName && iouBox(e.boundingBox, d.boundingBox) > 0.85);
          expect(twin, `${file}: ${d.objectName} ${d.confidence}`).toBeDefined();
        }
      }
    }
  });

  it.each(Object.entries(HAND_LABELS))('%s: boxes match hand-labelled boxes (IoU ≥ 0.5)', (file, labels) => {
    for (const report of [yolox, v8]) {
      const photo = byName(report).get(file)!;
      for (const { label, box } of labels)
        expect(bestMatch(photo.detections, label, box), `${report.model} ${file} ${label}`).toBeGreaterThanOrEqual(0.5);
    }
  });

  it('boxes are inside the photo, with the seed summary', () => {
    for (const p of yolox.photos) {
      expect(p.width).toBeGreaterThan(0);
      for (const d of p.detections) {
        const b = d.boundingBox;
        expect(b.x).toBeGreaterThanOrEqual(0);
        expect(b.y).toBeGreaterThanOrEqual(0);
        expect(b.x + b.width).toBeLessThanOrEqual(p.width!);
        expect(b.y + b.height).toBeLessThanOrEqual(p.height!);
      }
      expect(p.summary).toEqual({
        totalProducts: p.detections.length,
        uniqueSKUs: labelsOf(p.detections).size,
        outOfStock: null,
        complianceScore: null,
      });
    }
  });
});

describe('EXIF orientation', () => {
  // Stored pixels are the original turned the other way, tagged so a viewer turns them back: after
  // orientation the photo is the original, so boxes must be the original's (in oriented pixels), and
  // would be far off if the orientation were ignored.
  const cases: { orientation: number; undo: (s: Sharp) => Sharp; swap: boolean }[] = [
    { orientation: 3, undo: (s) => s.rotate(180), swap: false },
    { orientation: 6, undo: (s) => s.rotate(-90), swap: true },
    { orientation: 8, undo: (s) => s.rotate(90), swap: true },
  ];

  it.each(cases)('orientation $orientation gives the boxes of the upright photo', async ({ orientation, undo }) => {
    const dir = tmpDir();
    const src = path.join(GENERAL, 'person.jpg');
    const rotated = path.join(dir, `person-o${orientation}.jpg`);
    const upright = path.join(dir, 'person-upright.jpg');
    // both re-encoded at the same quality so the only difference is the orientation
    await sharp(src).jpeg({ quality: 95 }).toFile(upright);
    await undo(sharp(upright)).jpeg({ quality: 95 }).withMetadata({ orientation }).toFile(rotated);
    const meta = await sharp(rotated).metadata();
    expect(meta.orientation).toBe(orientation);

    const { report } = await audit([upright, rotated], 'yolox-nano-coco');
    const [a, b] = [byName(report).get('person-upright.jpg')!, byName(report).get(`person-o${orientation}.jpg`)!];
    expect([b.width, b.height]).toEqual([640, 424]);
    for (const { label, box } of HAND_LABELS['person.jpg']) expect(bestMatch(b.detections, label, box), label).toBeGreaterThanOrEqual(0.5);
    for (const d of a.detections.filter((x) => x.confidence > 0.5)) {
      const twin = b.detections.find((e) => e.objectName === d.objectName && iouBox(e.boundingBox, d.boundingBox) > 0.8);
      expect(twin, d.objectName).toBeDefined();
    }
  });
});

describe('resume and deduplication', () => {
  it('a re-run does no new inference and changes nothing', async () => {
    const dbFile = path.join(tmpDir(), 'resume.db');
    const first = await audit([PHOTOS], 'yolox-nano-coco', dbFile);
    expect(first.report.counts.completed).toBe(12);
    const second = await audit([PHOTOS], 'yolox-nano-coco', dbFile);
    expect(second.report.counts).toMatchObject({ total: 12, completed: 0, cached: 12, failed: 0 });
    expect(second.jobs.n).toBe(first.jobs.n);
    expect(second.stats).toEqual(first.stats);
    const detA = (p: AuditPhoto) => p.detections.map((d: Detection) => `${d.objectName}@${JSON.stringify(d.boundingBox)}`).sort();
    for (const [file, p] of byName(first.report)) expect(detA(byName(second.report).get(file)!)).toEqual(detA(p));
  });

  it('the same photo twice in one run is one observation, inferred once', async () => {
    const dir = tmpDir();
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(dir, 'a.jpg'));
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(dir, 'b copy.jpg'));
    const { report, stats, jobs } = await audit([dir], 'yolox-nano-coco');
    expect(report.photos).toHaveLength(2);
    expect(new Set(report.photos.map((p) => p.observationId)).size).toBe(1);
    expect(stats.observations).toBe(1);
    expect(jobs.n).toBe(1);
    expect(report.summary.totalProducts).toBe(report.photos[0].detections.length);
  });

  it('observations carry location and metadata; GPS and capture time come from EXIF', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'gps.jpg');
    await sharp(path.join(GENERAL, 'dog.jpg'))
      .withExif({
        IFD0: { Make: 'KLIQ' },
        IFD2: { DateTimeOriginal: '2026:05:04 10:11:12', OffsetTimeOriginal: '+02:00' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '50/1 51/1 108/100', GPSLongitudeRef: 'E', GPSLongitude: '4/1 21/1 606/100' },
      })
      .jpeg()
      .toFile(file);
    const dbFile = path.join(dir, 'm.db');
    await audit([file], 'yolox-nano-coco', dbFile, {
      location: 'Store 12',
      metadata: { aisle: 'beverages', visit_id: 'v1', captured_by: 'rep_jane' },
    });
    const db = openDb(dbFile);
    const row = db.prepare(`SELECT o.*, l.name AS location FROM observations o JOIN locations l ON l.id = o.location_id`).get() as Record<
      string,
      unknown
    >;
    db.close();
    expect(row.location).toBe('Store 12');
    expect(JSON.parse(row.metadata as string)).toEqual({ aisle: 'beverages', visit_id: 'v1', captured_by: 'rep_jane' });
    expect(row.latitude as number).toBeCloseTo(50.8503, 3);
    expect(row.longitude as number).toBeCloseTo(4.3517, 3);
    expect(row.captured_at).toBe('2026-05-04T10:11:12+02:00');
    expect(row.status).toBe('completed');
  });

  it('a result the database refuses fails only its photo; the batch is written', async () => {
    const dbFile = path.join(tmpDir(), 'refuse.db');
    const db = openDb(dbFile);
    db.exec(
      `CREATE TRIGGER no_horses BEFORE INSERT ON detections WHEN NEW.object_name = 'horse'
       BEGIN SELECT RAISE(ABORT, 'horses are refused here'); END`,
    );
    db.close();
    const { report, stats } = await audit([path.join(GENERAL, 'person.jpg'), path.join(GENERAL, 'dog.jpg')], 'yolox-nano-coco', dbFile);
    expect(stats.byStatus).toMatchObject({ completed: 1, failed: 1 });
    expect(report.counts.total).toBe(2);
    const check = openDb(dbFile);
    try {
      const obs = (file: string) =>
        check
          .prepare('SELECT id, status, error, current_job_id, detection_count, top_confidence FROM observations WHERE source_path LIKE ?')
          .get(`%/${file}`) as Record<string, string | number | null>;
      const jobs = (id: unknown) =>
        check.prepare('SELECT id, status, error, summary FROM cv_jobs WHERE observation_id = ?').all(id) as Record<string, string | null>[];
      const dets = (id: unknown) => check.prepare('SELECT count(*) FROM detections WHERE observation_id = ?').pluck().get(id);
      // the refused photo, row by row: failed, its one job failed with no summary, and not one detection left behind
      const person = obs('person.jpg');
      expect(person).toMatchObject({ status: 'failed', current_job_id: null, detection_count: 0, top_confidence: null });
      expect(person.error).toMatch(/could not save the result: horses are refused here/);
      const [job, ...others] = jobs(person.id);
      expect(others).toEqual([]);
      expect(job).toMatchObject({ status: 'failed', summary: null, error: person.error });
      expect(dets(person.id)).toBe(0);
      // the other photo of the same batch is whole
      const dog = obs('dog.jpg');
      const dogJobs = jobs(dog.id);
      expect(dog).toMatchObject({ status: 'completed', error: null, current_job_id: dogJobs[0].id });
      expect(dogJobs).toHaveLength(1);
      expect(dogJobs[0].status).toBe('completed');
      const dogReport = byName(report).get('dog.jpg')!;
      expect(JSON.parse(dogJobs[0].summary!)).toEqual(dogReport.summary);
      expect(dets(dog.id)).toBe(dogReport.detections.length);
      expect(dog.detection_count).toBe(dogReport.detections.length);
      expect(check.prepare('SELECT count(*) FROM detections').pluck().get()).toBe(dogReport.detections.length);
    } finally {
      check.close();
    }
  });

  it('a file that could not be read, once fixed, becomes one completed observation (no failed leftover)', async () => {
    const dir = tmpDir();
    const link = path.join(dir, 'later.jpg');
    fs.symlinkSync(path.join(dir, 'target.jpg'), link);
    const dbFile = path.join(dir, 'p.db');
    await audit([dir], 'yolox-nano-coco', dbFile);
    fs.copyFileSync(path.join(GENERAL, 'eagle.jpg'), path.join(dir, 'target.jpg'));
    const { stats } = await audit([link], 'yolox-nano-coco', dbFile);
    expect(stats).toMatchObject({ observations: 1, byStatus: { completed: 1, failed: 0 } });
  });

  it('a model file is known by its sha256: another file of the same name is not taken for it', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'best.onnx');
    fs.copyFileSync(path.join(GENERAL, '..', '..', 'models', 'yolox_nano_v8layout.onnx'), file);
    const dbFile = path.join(dir, 'm.db');
    const first = await audit([path.join(GENERAL, 'eagle.jpg')], file, dbFile);
    expect(first.report.model).toBe('best');
    const again = await audit([path.join(GENERAL, 'eagle.jpg')], file, dbFile);
    expect(again.report.counts.cached).toBe(1);
    const db = openDb(dbFile);
    const store = new AuditStore(db);
    const job = db.prepare('SELECT observation_id, model_sha256, options FROM cv_jobs').get() as {
      observation_id: string;
      model_sha256: string;
      options: string;
    };
    expect(job.model_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(store.completedResult(job.observation_id, 'best', job.model_sha256, job.options)).not.toBeNull();
    expect(store.completedResult(job.observation_id, 'best', '0'.repeat(64), job.options)).toBeNull();
    db.close();
  });

  it('an expected-label list gives outOfStock and complianceScore', async () => {
    const { report } = await audit([path.join(GENERAL, 'person.jpg')], 'yolox-nano-coco', undefined, {
      expectedLabels: ['person', 'horse', 'bottle'],
    });
    expect(report.photos[0].summary).toMatchObject({ outOfStock: ['bottle'], complianceScore: 0.6667 });
    expect(report.summary).toMatchObject({ outOfStock: ['bottle'], complianceScore: 0.6667 });
  });
});
