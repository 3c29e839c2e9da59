/**
 * Watched folders under attack: the watcher is killed with SIGKILL at random moments, many times, while
 * photos are copied in (copied to a temporary name then renamed, and written slowly in place), and a
 * `watch` and an `audit` of the same folder run into the same database at once. In the end every photo
 * is exactly one completed observation with one result, nothing is left processing, and no photo failed
 * because of the other process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { openDb } from '../src/main/engine/db';
import { GENERAL, ROOT, tmpDir } from './helpers';

const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  it('SIGKILL 20 times while 120 photos are copied in: each ends one completed observation with one result', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'in');
    fs.mkdirSync(folder);
    const dbFile = path.join(dir, 'w.db');
    openDb(dbFile).close();
    const data = await photos(120);
    const completed = () => state(dbFile).obs.find((r) => r.status === 'completed')?.n ?? 0;
    let child = watch(folder, dbFile);
    let kills = 0;
    for (let step = 0; step < 20; step++) {
      for (let i = step * 6; i < step * 6 + 6; i++) {
        const name = `p${String(i).padStart(3, '0')}.jpg`;
        if (i % 3 === 0) {
          // written slowly in place
          const fd = fs.openSync(path.join(folder, name), 'w');
          fs.writeSync(fd, data[i].subarray(0, data[i].length >> 1));
          await sleep(20);
          fs.writeSync(fd, data[i].subarray(data[i].length >> 1));
          fs.closeSync(fd);
        } else {
          // copied to a temporary name, then renamed
          fs.writeFileSync(path.join(folder, `.tmp-${name}`), data[i]);
          fs.renameSync(path.join(folder, `.tmp-${name}`), path.join(folder, name));
        }
      }
      // the crash point is read from the database: right after this watcher wrote its first result, with
      // the rest of its batch claimed and in flight
      const before = completed();
      await until('a result from this watcher', () => completed() > before, 30_000);
      child.kill('SIGKILL');
      kills++;
      child = watch(folder, dbFile);
    }
    try {
      // well under the 30 s lease: photos claimed by killed watchers must be taken over because their
      // process is gone, not because their lease ran out
      await until('every photo audited', () => completed() === 120, 25_000);
      await sleep(1500); // let anything wrong (a second result, a late failure) show
    } finally {
      child.kill('SIGINT');
    }
    expect(kills).toBe(20);
    expect(state(dbFile)).toEqual({ obs: [{ status: 'completed', n: 120 }], completedJobs: 120, duplicated: 0 });
    const db = new Database(dbFile, { readonly: true });
    expect(db.prepare(`SELECT count(*) AS n FROM cv_jobs WHERE status IN ('queued', 'processing')`).get()).toEqual({ n: 0 });
    expect(db.prepare(`SELECT count(*) AS n FROM cv_jobs WHERE status = 'failed' AND error NOT LIKE 'interrupted%'`).get()).toEqual({
      n: 0,
    });
    db.close();
  });

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
