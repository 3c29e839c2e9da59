/**
 * Watched folders under attack: the watcher is killed with SIGKILL at random moments (25 times) while 300
 * photos are copied in (`cp` to a temporary name then `mv`, and written slowly in place), and a
 * `watch` and an `audit` of the same folder run into the same database at once. In the end every photo
 * is exactly one completed observation with one result, nothing is left processing, and no photo failed
 * because of the other process.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { openDb } from '../src/main/engine/db';
import { GENERAL, ROOT, tmpDir } from './helpers';

const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const run = (cmd: string, args: string[]) =>
  new Promise<void>((resolve, reject) => execFile(cmd, args, (err) => (err ? reject(err) : resolve())));
/** A small seeded generator (the kill points of a failed run can be replayed with KLIQ_KILL_SEED). */
function lcg(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** n distinct small JPEGs (their own sha256 each), as buffers. */
async function photos(n: number): Promise<Buffer[]> {
  const src = await sharp(path.join(GENERAL, 'eagle.jpg')).resize(300).toBuffer();
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      sharp(src)
        .resize(200 + i)
        .jpeg({ quality: 70 })
        .toBuffer(),
    ),
  );
}

function watch(folder: string, dbFile: string): ChildProcess {
  return spawn(process.execPath, [CLI, 'watch', folder, '--db', dbFile, '--provider', 'cpu'], { cwd: ROOT, stdio: 'ignore' });
}

function state(dbFile: string) {
  const db = new Database(dbFile, { readonly: true });
  try {
    const obs = db.prepare('SELECT status, count(*) AS n FROM observations GROUP BY status ORDER BY status').all() as {
      status: string;
      n: number;
    }[];
    const jobs = db.prepare(`SELECT count(*) AS n FROM cv_jobs WHERE status = 'completed'`).get() as { n: number };
    const dupes = db
      .prepare(
        `SELECT count(*) AS n FROM (SELECT observation_id FROM cv_jobs WHERE status = 'completed'
         GROUP BY observation_id HAVING count(*) > 1)`,
      )
      .get() as { n: number };
    return { obs, completedJobs: jobs.n, duplicated: dupes.n };
  } finally {
    db.close();
  }
}

async function until(what: string, fn: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('watched folder, crashes and a second process', () => {
  it('25 SIGKILLs at random points while 300 photos are copied in (cp + mv, slow writes): each one completed observation', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'in');
    const staging = path.join(dir, 'staging');
    fs.mkdirSync(folder);
    fs.mkdirSync(staging);
    const dbFile = path.join(dir, 'w.db');
    openDb(dbFile).close();
    const N = 300;
    const KILLS = 25;
    const data = await photos(N);
    const names = data.map((_, i) => `p${String(i).padStart(3, '0')}.jpg`);
    data.forEach((b, i) => fs.writeFileSync(path.join(staging, names[i]), b));
    // random kill points, reproducible from the seed printed on failure
    const seed = Number(process.env.KLIQ_KILL_SEED ?? Date.now() % 100_000);
    const random = lcg(seed);
    const completed = () => state(dbFile).obs.find((r) => r.status === 'completed')?.n ?? 0;
    /** cp to a temporary name, then mv (how sync tools copy); every third photo written slowly in place instead. */
    const copyIn = async (from: number, to: number) => {
      const copies: Promise<void>[] = [];
      for (let i = from; i < to; i++) {
        const name = names[i];
        if (i % 3 === 0) {
          copies.push(
            (async () => {
              const fd = fs.openSync(path.join(folder, name), 'w');
              const b = data[i];
              for (let k = 0; k < 3; k++) {
                fs.writeSync(fd, b.subarray((k * b.length) / 3, ((k + 1) * b.length) / 3));
                await sleep(150);
              }
              fs.closeSync(fd);
            })(),
          );
        } else {
          await run('cp', [path.join(staging, name), path.join(folder, `.tmp-${name}`)]);
          copies.push(run('mv', [path.join(folder, `.tmp-${name}`), path.join(folder, name)]));
        }
      }
      await Promise.all(copies);
    };
    let child = watch(folder, dbFile);
    const points: string[] = [];
    for (let step = 0; step < KILLS; step++) {
      const per = N / KILLS;
      const copying = copyIn(step * per, (step + 1) * per);
      // where to kill: right after this watcher's first result (its batch claimed and in flight), at a random
      // moment after its start (loading, scanning, mid-batch, mid-write), or while the slow copies are written
      const kind = random() < 0.4 ? 'first-result' : random() < 0.7 ? 'random-delay' : 'mid-copy';
      if (kind === 'first-result') {
        const before = completed();
        await until('a result from this watcher', () => completed() > before, 60_000);
      } else if (kind === 'random-delay') await sleep(Math.floor(random() * 2500));
      else await sleep(Math.floor(random() * 300));
      points.push(kind);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      child = watch(folder, dbFile);
      await copying;
    }
    try {
      // well under the 30 s lease: photos claimed by killed watchers must be taken over because their process
      // is gone, not because their lease ran out
      await until(`every photo audited (seed ${seed}, kills ${points.join(',')})`, () => completed() === N, 25_000);
      await sleep(1500); // let anything wrong (a second result, a late failure) show
    } finally {
      child.kill('SIGINT');
    }
    expect(points).toHaveLength(KILLS);
    expect(state(dbFile), `seed ${seed}`).toEqual({ obs: [{ status: 'completed', n: N }], completedJobs: N, duplicated: 0 });
    const db = new Database(dbFile, { readonly: true });
    expect(db.prepare(`SELECT count(*) AS n FROM cv_jobs WHERE status IN ('queued', 'processing')`).get()).toEqual({ n: 0 });
    expect(db.prepare(`SELECT count(*) AS n FROM cv_jobs WHERE status = 'failed' AND error NOT LIKE 'interrupted%'`).get()).toEqual({
      n: 0,
    });
    // detections written once: only by the completed job, as many as its observation counts, none from killed jobs
    expect(
      db.prepare(`SELECT count(*) AS n FROM detections d JOIN cv_jobs j ON j.id = d.cv_job_id WHERE j.status != 'completed'`).get(),
    ).toEqual({ n: 0 });
    expect(
      db
        .prepare(
          `SELECT count(*) AS n FROM observations o
           WHERE o.detection_count != (SELECT count(*) FROM detections d WHERE d.observation_id = o.id)
              OR o.current_job_id IS NULL`,
        )
        .get(),
    ).toEqual({ n: 0 });
    // every file is its own observation, under its final name (no temporary name kept as its path)
    expect(db.prepare(`SELECT count(DISTINCT source_path) AS n FROM observations WHERE source_path NOT LIKE '%/.tmp-%'`).get()).toEqual({
      n: N,
    });
    db.close();
  }, 600_000);

  it('a watch and an audit of the same folder into one database: no duplicate inference, nothing stuck, nothing failed', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'in');
    fs.mkdirSync(folder);
    const data = await photos(60);
    data.forEach((b, i) => fs.writeFileSync(path.join(folder, `q${String(i).padStart(2, '0')}.jpg`), b));
    const dbFile = path.join(dir, 'both.db');
    openDb(dbFile).close();
    const watcher = watch(folder, dbFile);
    const audit = spawn(process.execPath, [CLI, 'audit', folder, '--db', dbFile, '--provider', 'cpu'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    audit.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((r) => audit.on('exit', r));
    try {
      await until('the watcher to finish too', () => (state(dbFile).obs.find((r) => r.status === 'completed')?.n ?? 0) === 60, 60_000);
      await sleep(1500);
    } finally {
      watcher.kill('SIGINT');
    }
    expect(code, stderr).toBe(0);
    expect(state(dbFile)).toEqual({ obs: [{ status: 'completed', n: 60 }], completedJobs: 60, duplicated: 0 });
  });
});
