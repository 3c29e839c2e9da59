/**
 * kill -9 of a real `kliq-audit audit` child process at points chosen from what its SQLite file holds
 * (polled read-only while it runs), then the same command again: every photo ends as one completed
 * observation, inferred once per completed job, with no job left 'processing'.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditReportSchema } from '../src/shared/domain';
import { GENERAL, ROOT, SHELVES, tmpDir } from './helpers';

const BIN = path.join(ROOT, 'bin', 'kliq-audit.mjs');

interface DbState {
  observations: number;
  completed: number;
  processingJobs: number;
  completedJobs: number;
  detections: number;
}

/** What the database holds now, read-only; null while it does not exist or is not migrated yet. */
function readState(file: string): DbState | null {
  if (!fs.existsSync(file)) return null;
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 2000');
    const n = (sql: string) => db!.prepare(sql).pluck().get() as number;
    return {
      observations: n('SELECT count(*) FROM observations'),
      completed: n(`SELECT count(*) FROM observations WHERE status = 'completed'`),
      processingJobs: n(`SELECT count(*) FROM cv_jobs WHERE status = 'processing'`),
      completedJobs: n(`SELECT count(*) FROM cv_jobs WHERE status = 'completed'`),
      detections: n('SELECT count(*) FROM detections'),
    };
  } catch {
    return null; // not created or not migrated yet
  } finally {
    db?.close();
  }
}

/**
 * Starts the audit, polls its database until `when` holds, then SIGKILLs it. Returns the state the
 * database was left in (read after the kill: nothing changes it any more).
 */
async function killWhen(args: string[], db: string, when: (s: DbState) => boolean): Promise<DbState> {
  const child = spawn(process.execPath, [BIN, 'audit', ...args, '--db', db], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`the audit ended (exit ${exitCode}) before the kill point was reached; stderr:\n${stderr}`);
    const s = readState(db);
    if (s && when(s)) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  await exited;
  expect(child.signalCode).toBe('SIGKILL');
  return readState(db)!;
}

/** The same command again, to the end; returns its --json report. */
function rerun(args: string[], db: string) {
  const r = spawnSync(process.execPath, [BIN, 'audit', ...args, '--db', db, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  expect(r.status, r.stderr).toBe(0);
  return AuditReportSchema.parse(JSON.parse(r.stdout));
}

/** What must hold after the rerun, whatever point the first run was killed at. */
function expectWhole(db: string, photos: number) {
  const d = new Database(db, { readonly: true });
  try {
    const n = (sql: string) => d.prepare(sql).pluck().get() as number;
    expect(n('SELECT count(*) FROM observations'), 'one observation per photo').toBe(photos);
    expect(n('SELECT count(DISTINCT sha256) FROM observations'), 'one observation per photo').toBe(photos);
    expect(n(`SELECT count(*) FROM observations WHERE status = 'completed'`), 'every photo completed').toBe(photos);
    expect(n(`SELECT count(*) FROM cv_jobs WHERE status IN ('queued', 'processing')`), 'jobs left queued or processing').toBe(0);
    // one completed job per photo and options: nothing was inferred twice, nothing kept twice
    expect(
      n(`SELECT count(*) FROM (SELECT 1 FROM cv_jobs WHERE status = 'completed' GROUP BY observation_id, options HAVING count(*) > 1)`),
      'photos with two completed jobs of the same options',
    ).toBe(0);
    expect(n(`SELECT count(*) FROM cv_jobs WHERE status = 'completed'`)).toBe(photos);
    // each completed job's detections written once: as many rows as its summary counts
    const jobs = d.prepare(`SELECT id, summary FROM cv_jobs WHERE status = 'completed'`).all() as { id: string; summary: string }[];
    const perJob = d.prepare('SELECT count(*) FROM detections WHERE cv_job_id = ?').pluck();
    for (const j of jobs) expect(perJob.get(j.id), `detections of ${j.id}`).toBe(JSON.parse(j.summary).totalProducts);
    // no detections hang on a job that did not complete (a killed or failed one)
    expect(n(`SELECT count(*) FROM detections d JOIN cv_jobs j ON j.id = d.cv_job_id WHERE j.status != 'completed'`)).toBe(0);
    expect(n(`SELECT count(*) FROM observations o JOIN cv_jobs j ON j.id = o.current_job_id WHERE j.status != 'completed'`)).toBe(0);
    expect(n(`SELECT count(*) FROM observations WHERE current_job_id IS NULL`)).toBe(0);
  } finally {
    d.close();
  }
}

/** `n` distinct small photos (each its own sha256): the general photos re-encoded at other sizes and qualities. */
async function makePhotos(dir: string, n: number, width: (i: number) => number): Promise<void> {
  const sources = ['dog.jpg', 'person.jpg', 'giraffe.jpg', 'eagle.jpg', 'fruits.jpg'];
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      sharp(path.join(GENERAL, sources[i % sources.length]))
        .resize({ width: width(i) })
        .jpeg({ quality: 70 + (i % 25) })
        .toFile(path.join(dir, `p${String(i).padStart(3, '0')}.jpg`)),
    ),
  );
}

describe('kill -9 at points chosen from the database, then the same command again', () => {
  const N = 48;
  let photos: string;
  beforeAll(async () => {
    photos = tmpDir('kliq-crash-');
    await makePhotos(photos, N, (i) => 500 + i);
  });
  const args = () => [photos, '--provider', 'cpu'];

  it('killed right after the first completed photo is written', async () => {
    const db = path.join(tmpDir(), 'first.db');
    const at = await killWhen(args(), db, (s) => s.completed >= 1 && s.processingJobs >= 1);
    expect(at.completed).toBeLessThan(N);
    expect(at.processingJobs, 'the kill left work in progress').toBeGreaterThan(0);
    const report = rerun(args(), db);
    // completed photos are not inferred again; everything else is
    expect(report.counts).toMatchObject({ total: N, failed: 0, cached: at.completed, completed: N - at.completed });
    expectWhole(db, N);
  });

  it('killed mid-batch: several photos completed, others still processing', async () => {
    const db = path.join(tmpDir(), 'mid.db');
    const at = await killWhen(args(), db, (s) => s.completed >= 12 && s.processingJobs >= 2);
    expect(at.completed).toBeLessThan(N);
    expect(at.processingJobs).toBeGreaterThan(0);
    expect(at.detections).toBeGreaterThan(0);
    const report = rerun(args(), db);
    expect(report.counts).toMatchObject({ total: N, failed: 0, cached: at.completed, completed: N - at.completed });
    expectWhole(db, N);
  });

  it('killed twice, then completed: each run redoes only what the last one left in progress', async () => {
    const db = path.join(tmpDir(), 'twice.db');
    const first = await killWhen(args(), db, (s) => s.completed >= 3 && s.processingJobs >= 1);
    const second = await killWhen(args(), db, (s) => s.completed >= first.completed + 3 && s.processingJobs >= 1);
    expect(second.completed).toBeGreaterThan(first.completed);
    const report = rerun(args(), db);
    expect(report.counts).toMatchObject({ total: N, failed: 0, cached: second.completed });
    expectWhole(db, N);
  });
});

describe('kill -9 during a tiled run (--tiles 2)', () => {
  it('leaves only tile work in progress, redone by the next run', async () => {
    const photos = tmpDir('kliq-crash-tiles-');
    // shelves at a few sizes: each photo is 2×3 tiles plus the whole photo, 7 inferences
    const shelves = ['shelf_1.jpg', 'shelf_2.jpg', 'shelf_3.jpg'];
    const n = 12;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        sharp(path.join(SHELVES, shelves[i % 3]))
          .resize({ width: 900 + i * 4 })
          .jpeg({ quality: 80 + i })
          .toFile(path.join(photos, `s${String(i).padStart(2, '0')}.jpg`)),
      ),
    );
    const args = [photos, '--provider', 'cpu', '--tiles', '2'];
    const db = path.join(tmpDir(), 'tiles.db');
    const at = await killWhen(args, db, (s) => s.completed >= 2 && s.processingJobs >= 1);
    expect(at.completed).toBeLessThan(n);
    expect(at.processingJobs).toBeGreaterThan(0);
    const report = rerun(args, db);
    expect(report.counts).toMatchObject({ total: n, failed: 0, cached: at.completed, completed: n - at.completed });
    expectWhole(db, n);
    const d = new Database(db, { readonly: true });
    const options = d.prepare(`SELECT DISTINCT options FROM cv_jobs WHERE status = 'completed'`).pluck().all() as string[];
    d.close();
    expect(options.map((o) => JSON.parse(o).tiles)).toEqual([2]);
    // tiles find many products on every shelf (whole-photo inference finds one or two)
    for (const p of report.photos) expect(p.detections.length, p.path).toBeGreaterThanOrEqual(5);
  });
});

describe('Ctrl+C twice', () => {
  it('the second Ctrl+C quits at once; what completed is kept, the next run redoes the rest', async () => {
    const photos = tmpDir('kliq-sigint-');
    const n = 24;
    await makePhotos(photos, n, (i) => 1400 + i);
    const db = path.join(tmpDir(), 'sigint.db');
    const args = [photos, '--provider', 'cpu', '--prefetch', '1'];
    const child = spawn(process.execPath, [BIN, 'audit', ...args, '--db', db], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let step = 0;
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
      // The first progress line is printed as the first photo completes, when its write is queued and not
      // yet in the database (writes are batched for up to 100 ms): the quit must still write it.
      if (step === 0 && /1\/24 photos/.test(stderr)) {
        step = 1;
        child.kill('SIGINT');
      } else if (step === 1 && /cancelling: /.test(stderr)) {
        step = 2;
        child.kill('SIGINT');
      }
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
    expect(step).toBe(2);
    // killed by its own SIGINT (a shell shows 130), not aborted in native teardown
    expect({ code, signal }, stderr).toEqual({ code: null, signal: 'SIGINT' });
    expect(stderr).not.toMatch(/terminate called/);
    expect(stderr).toMatch(/quitting now; photos in flight go back to pending on the next run/);
    const at = readState(db)!;
    expect(at.completed, 'the photo reported done is in the database').toBeGreaterThanOrEqual(1);
    expect(at.completed).toBeLessThan(n);
    const report = rerun(args, db);
    expect(report.counts).toMatchObject({ total: n, failed: 0, cached: at.completed, completed: n - at.completed });
    expectWhole(db, n);
  });
});
