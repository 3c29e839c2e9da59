/**
 * Several processes, one database: two CLI audits of the same folder into the same database at once.
 * Each photo must be inferred once, none may be left processing, and neither run may fail or undo the
 * other's work (before per-run leases, each run's start reset the other's photos in flight).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { openDb } from '../src/main/engine/db';
import { GENERAL, ROOT, tmpDir } from './helpers';

async function photos(dir: string, n: number): Promise<void> {
  const src = await sharp(path.join(GENERAL, 'giraffe.jpg')).resize(360).toBuffer();
  for (let i = 0; i < n; i++) {
    await sharp(src)
      .resize(300 + i)
      .jpeg({ quality: 75 })
      .toFile(path.join(dir, `g${String(i).padStart(3, '0')}.jpg`));
  }
}

function audit(folder: string, dbFile: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'kliq-audit.mjs'), 'audit', folder, '--db', dbFile, '--provider', 'cpu'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

describe('two audits of one folder into one database at once', () => {
  it('infer each photo once, leave none processing, and fail none', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'photos');
    fs.mkdirSync(folder);
    await photos(folder, 80);
    const dbFile = path.join(dir, 'shared.db');
    openDb(dbFile).close();
    const [a, b] = await Promise.all([audit(folder, dbFile), audit(folder, dbFile)]);
    expect(a.stderr).not.toMatch(/This is a bug/);
    expect(b.stderr).not.toMatch(/This is a bug/);
    expect([a.code, b.code], `${a.stderr}\n---\n${b.stderr}`).toEqual([0, 0]);
    const db = new Database(dbFile, { readonly: true });
    expect(db.prepare('SELECT status, count(*) AS n FROM observations GROUP BY status').all()).toEqual([{ status: 'completed', n: 80 }]);
    expect(db.prepare('SELECT status, count(*) AS n FROM cv_jobs GROUP BY status').all()).toEqual([{ status: 'completed', n: 80 }]);
    const detections = db.prepare('SELECT count(*) AS n FROM detections').get() as { n: number };
    const perJob = db.prepare('SELECT count(*) AS n FROM detections GROUP BY cv_job_id').all() as { n: number }[];
    expect(perJob.reduce((s, r) => s + r.n, 0)).toBe(detections.n);
    db.close();
  });
});
