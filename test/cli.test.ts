import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import sharp from 'sharp';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { AuditReportSchema, StatsSchema } from '../src/shared/domain';
import { GENERAL, PHOTOS, ROOT, tmpDir } from './helpers';

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
