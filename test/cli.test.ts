import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import sharp from 'sharp';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { AuditReportSchema, StatsSchema } from '../src/shared/domain';
import { GENERAL, PHOTOS, ROOT, iouBox, tmpDir } from './helpers';

const BIN = path.join(ROOT, 'bin', 'kliq-audit.mjs');

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kliq-audit audit', () => {
  it('--json prints one JSON document with real detections; diagnostics go to stderr', () => {
    const db = path.join(tmpDir(), 'cli.db');
    const r = cli(['audit', PHOTOS, '--db', db, '--json', '--provider', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    const report = AuditReportSchema.parse(JSON.parse(r.stdout));
    expect(report.photos).toHaveLength(12);
    expect(report.model).toBe('yolox-nano-coco');
    expect(report.provider).toBe('cpu');
    const dog = report.photos.find((p) => p.path.endsWith('dog.jpg'))!;
    expect(dog.observationId).toMatch(/^obs_/);
    expect(dog.detections.map((d) => d.objectName)).toEqual(expect.arrayContaining(['dog', 'bicycle']));
    expect(r.stderr).toMatch(/found 12 photos/);
    expect(r.stderr).toMatch(/model yolox-nano-coco \(416×416\) on CPU/);

    const s = cli(['stats', '--db', db, '--json']);
    expect(s.code).toBe(0);
    const stats = StatsSchema.parse(JSON.parse(s.stdout));
    expect(stats).toEqual({
      observations: 12,
      byStatus: { pending: 0, processing: 0, completed: 12, failed: 0 },
      detections: report.summary.totalProducts,
    });
  });

  it('exits 1 when some photos failed, naming each error', () => {
    const dir = tmpDir();
    fs.copyFileSync(path.join(GENERAL, 'person.jpg'), path.join(dir, 'ok.jpg'));
    fs.writeFileSync(path.join(dir, 'bad.jpg'), 'not a photo');
    const r = cli(['audit', dir, '--db', path.join(dir, 'x.db'), '--provider', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed: .*bad\.jpg: not a JPEG or PNG image/);
    expect(r.stderr).toMatch(/1 audited, 0 already done \(no new inference\), 1 failed/);
  });

  // as root, the audit runs as nobody (root reads any file): that needs a checkout nobody can read
  const asNobody = process.getuid?.() === 0;
  const nobodyCanRun =
    !asNobody ||
    spawnSync(process.execPath, ['-e', `require('fs').readFileSync(${JSON.stringify(BIN)})`], { uid: 65534, gid: 65534 }).status === 0;
  it.skipIf(!nobodyCanRun)(
    'an unreadable file fails on its own with its reason; the batch goes on (as root: needs a checkout nobody can read)',
    () => {
      const dir = tmpDir();
      fs.chmodSync(dir, 0o777);
      const eagle = fs.readFileSync(path.join(GENERAL, 'eagle.jpg'));
      fs.writeFileSync(path.join(dir, 'ok.jpg'), eagle);
      fs.writeFileSync(path.join(dir, 'locked.jpg'), Buffer.concat([eagle, Buffer.from('other bytes')]));
      fs.chmodSync(path.join(dir, 'locked.jpg'), 0o000);
      // root reads any file: run the audit as nobody then, with its home, temp (tsx's cache) and models in the folder
      const user = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const r = spawnSync(process.execPath, [BIN, 'audit', dir, '--db', path.join(dir, 'u.db'), '--provider', 'cpu', '--json'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, HOME: dir, TMPDIR: dir, KLIQ_MODELS_DIR: path.join(dir, 'models') },
        timeout: 120_000,
        ...user,
      });
      expect(r.status, r.stderr).toBe(1);
      const report = AuditReportSchema.parse(JSON.parse(r.stdout));
      const by = new Map(report.photos.map((p) => [path.basename(p.path), p]));
      expect(by.get('locked.jpg')).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/permission denied: cannot read the file/),
      });
      expect(by.get('ok.jpg')!.status).toBe('completed');
    },
  );

  it.each([
    ['an unknown flag', ['audit', GENERAL, '--colour'], /unknown option '--colour'/],
    ['a bad --conf', ['audit', GENERAL, '--conf', '2'], /must be a number between 0 and 1/],
    ['a bad --provider', ['audit', GENERAL, '--provider', 'tpu'], /Allowed choices are auto, cpu, cuda, dml/],
    ['a missing model', ['audit', GENERAL, '--model', 'no-such-model'], /unknown model "no-such-model"/],
    ['a path that does not exist', ['audit', '/no/such/folder'], /\/no\/such\/folder: no such file or folder/],
    ['no path', ['audit'], /missing required argument 'path'/],
  ])('exits 2 for %s', (_what, args, message) => {
    const r = cli([...args, '--db', path.join(tmpDir(), 'u.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('exits 2 for a database it cannot open, and for stats on a missing database', () => {
    const dir = tmpDir();
    const text = path.join(dir, 'notes.db');
    fs.writeFileSync(text, 'plain text, not sqlite '.repeat(50));
    const r = cli(['audit', path.join(GENERAL, 'dog.jpg'), '--db', text]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot open the database .*notes\.db/);
    expect(fs.readFileSync(text, 'utf8')).toMatch(/^plain text/); // untouched
    const s = cli(['stats', '--db', path.join(dir, 'missing.db')]);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/no database at .*run `kliq-audit audit` first/);
  });

  it('uses the app user-data database by default', () => {
    const home = tmpDir();
    const r = cli(['audit', path.join(GENERAL, 'eagle.jpg'), '--provider', 'cpu'], { KLIQ_AUDIT_HOME: home });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(home, 'kliq-audit.db'))).toBe(true);
    const s = cli(['stats', '--json'], { KLIQ_AUDIT_HOME: home });
    expect(JSON.parse(s.stdout).byStatus.completed).toBe(1);
  });

  it('Ctrl+C stops cleanly; the next run resumes without inferring completed photos again', async () => {
    const dir = tmpDir();
    // 60 distinct photos (different content, so different observations)
    const sources = ['dog.jpg', 'person.jpg', 'giraffe.jpg', 'eagle.jpg', 'fruits.jpg'];
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        sharp(path.join(GENERAL, sources[i % sources.length]))
          .resize({ width: 1600 + i })
          .jpeg({ quality: 90 })
          .toFile(path.join(dir, `p${String(i).padStart(2, '0')}.jpg`)),
      ),
    );
    const db = path.join(tmpDir(), 'cancel.db');
    const child = spawn(process.execPath, [BIN, 'audit', dir, '--db', db, '--provider', 'cpu', '--prefetch', '1'], { cwd: ROOT });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      // interrupt once inference is under way
      if (!sent && /\d+\/60 photos/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/cancelling: finishing the photos in flight/);
    const mid = new Database(db, { readonly: true });
    const byStatus = Object.fromEntries(
      (mid.prepare('SELECT status, count(*) AS n FROM observations GROUP BY status').all() as { status: string; n: number }[]).map((r) => [
        r.status,
        r.n,
      ]),
    );
    mid.close();
    expect(byStatus.processing ?? 0).toBe(0);
    expect(byStatus.failed ?? 0).toBe(0);
    const doneBefore = byStatus.completed ?? 0;
    expect(doneBefore).toBeGreaterThan(0);
    expect(doneBefore).toBeLessThan(60);

    const r = cli(['audit', dir, '--db', db, '--provider', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = AuditReportSchema.parse(JSON.parse(r.stdout));
    expect(report.counts).toMatchObject({ total: 60, cached: doneBefore, completed: 60 - doneBefore, failed: 0 });
    const after = new Database(db, { readonly: true });
    // one completed job per photo: nothing was inferred twice
    expect(after.prepare(`SELECT count(*) AS n FROM cv_jobs WHERE status = 'completed'`).get()).toEqual({ n: 60 });
    after.close();
  });
});

describe('audit options (README table)', () => {
  const json = (args: string[]) => {
    const r = cli(['audit', ...args, '--db', path.join(tmpDir(), 'o.db'), '--provider', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return AuditReportSchema.parse(JSON.parse(r.stdout));
  };

  it('--location, --visit, --aisle, --captured-by and --meta land on each observation', () => {
    const db = path.join(tmpDir(), 'meta.db');
    const r = cli([
      'audit',
      path.join(GENERAL, 'person.jpg'),
      path.join(GENERAL, 'eagle.jpg'),
      '--db',
      db,
      '--provider',
      'cpu',
      '--location',
      'Store 9',
      '--visit',
      'v-7',
      '--aisle',
      'drinks',
      '--captured-by',
      'rep_x',
      '--meta',
      'shelf=top',
      '--meta',
      'note=a=b',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const d = new Database(db, { readonly: true });
    const rows = d
      .prepare('SELECT l.name AS location, o.metadata, o.visit_id FROM observations o LEFT JOIN locations l ON l.id = o.location_id')
      .all() as { location: string; metadata: string; visit_id: string }[];
    d.close();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.location).toBe('Store 9');
      expect(row.visit_id).toBe('v-7');
      expect(JSON.parse(row.metadata)).toEqual({ shelf: 'top', note: 'a=b', aisle: 'drinks', visit_id: 'v-7', captured_by: 'rep_x' });
    }
  });

  it('--expect: the batch compliance score is the mean of the photos, outOfStock the labels found in no photo', () => {
    const expected = ['person', 'dog', 'horse', 'bottle'];
    const report = json([path.join(GENERAL, 'person.jpg'), path.join(GENERAL, 'eagle.jpg'), '--expect', expected.join(',')]);
    const scores = report.photos.map((p) => p.summary!.complianceScore!);
    expect(scores[0]).toBeGreaterThan(scores[1]); // person, dog and horse against (at most) a bird
    const found = new Set(report.photos.flatMap((p) => p.detections.map((d) => d.objectName)).filter((l) => expected.includes(l)));
    for (const p of report.photos) {
      const mine = new Set(p.detections.map((d) => d.objectName));
      expect(p.summary!.outOfStock).toEqual(expected.filter((l) => !mine.has(l)));
      expect(p.summary!.complianceScore).toBeCloseTo(expected.filter((l) => mine.has(l)).length / expected.length, 4);
    }
    expect(report.summary.complianceScore).toBeCloseTo((scores[0] + scores[1]) / 2, 4);
    // not the share of expected labels found anywhere in the batch
    expect(Math.abs(report.summary.complianceScore! - found.size / expected.length)).toBeGreaterThan(0.1);
    expect(report.summary.outOfStock).toEqual(expected.filter((l) => !found.has(l)));
  });

  it('--conf, --max-det and --iou change what is kept', () => {
    const all = (r: ReturnType<typeof json>) => r.photos.flatMap((p) => p.detections);
    const base = json([GENERAL]);
    // --conf: nothing below it; the default (0.25) kept some that are below
    expect(all(base).some((d) => d.confidence < 0.6)).toBe(true);
    const conf = json([GENERAL, '--conf', '0.6']);
    expect(all(conf).length).toBeGreaterThan(0);
    expect(all(conf).every((d) => d.confidence >= 0.6)).toBe(true);
    // --max-det: at most that many per photo (the most confident)
    expect(base.photos.some((p) => p.detections.length > 2)).toBe(true);
    const max = json([GENERAL, '--max-det', '2']);
    for (const p of max.photos) {
      const full = base.photos.find((b) => b.path === p.path)!;
      expect(p.detections.length).toBe(Math.min(2, full.detections.length));
      expect(p.detections.map((d) => d.confidence)).toEqual(full.detections.slice(0, 2).map((d) => d.confidence));
    }
    // --iou: class-wise NMS at that threshold. At the default 0.45 no two boxes of a class overlap more than 0.45;
    // at 0.9 the detector's near-duplicates of one object stay
    const overlapping = (r: ReturnType<typeof json>, t: number) =>
      r.photos.flatMap((p) =>
        p.detections.flatMap((a, i) =>
          p.detections.slice(i + 1).filter((b) => b.objectName === a.objectName && iouBox(a.boundingBox, b.boundingBox) > t),
        ),
      ).length;
    expect(overlapping(base, 0.45)).toBe(0);
    expect(overlapping(json([GENERAL, '--iou', '0.9']), 0.45)).toBeGreaterThan(0);
  });
});

describe('execution providers (no GPU on this machine: the fallback is real, not simulated)', () => {
  it.each(['cuda', 'dml'])('--provider %s falls back to CPU and says why, in the progress line and in --json', (provider) => {
    const r = cli(['audit', path.join(GENERAL, 'eagle.jpg'), '--db', path.join(tmpDir(), 'p.db'), '--provider', provider, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = AuditReportSchema.parse(JSON.parse(r.stdout));
    expect(report.provider).toBe('cpu');
    expect(report.providerFallback).toMatch(new RegExp(`^${provider} unavailable \\(.+\\)`));
    expect(r.stderr).toMatch(new RegExp(`on CPU — fallback: ${provider} unavailable`));
    expect(r.stderr).toMatch(/1\/1 photos, .* CPU \(fallback\)/);
    expect(report.photos[0].detections.map((d) => d.objectName)).toContain('bird');
  });

  it('--provider auto (the default) tries CUDA on Linux, then runs on CPU and says why', () => {
    const r = cli(['audit', path.join(GENERAL, 'eagle.jpg'), '--db', path.join(tmpDir(), 'p.db'), '--provider', 'auto', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = AuditReportSchema.parse(JSON.parse(r.stdout));
    expect(report.provider).toBe('cpu');
    expect(report.providerFallback).toMatch(process.platform === 'win32' ? /^dml unavailable/ : /^cuda unavailable \(.+\)/);
    expect(r.stderr).toMatch(/on CPU — fallback: /);
  });

  it('--provider cpu uses the CPU with no fallback', () => {
    const r = cli(['audit', path.join(GENERAL, 'eagle.jpg'), '--db', path.join(tmpDir(), 'p.db'), '--provider', 'cpu', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ provider: 'cpu', providerFallback: null });
  });
});

describe('kliq-audit models', () => {
  it('lists the manifest and verifies the models', () => {
    const l = cli(['models', '--list']);
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(/^yolox-nano-coco \(default\)\tyolox\t416x416\t80 labels/m);
    const f = cli(['models']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stderr).toMatch(/ok yolox-nano-coco-v8layout: .*sha256 verified/);
  });
});
