/**
 * `kliq-audit watch`: audits what is in the folder, then each photo copied in (via a temporary name, or
 * written slowly in place), ignores hidden and temporary files, keeps a renamed photo's observation,
 * and stops cleanly on Ctrl+C.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isIgnoredName, isWatchedPhoto } from '../src/main/engine/watcher';
import { GENERAL, ROOT, tmpDir } from './helpers';

async function until<T>(what: string, fn: () => T | null | false | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('which files the watcher takes', () => {
  it.each([
    ['/in/IMG_0001.JPG', true],
    ['/in/shelf.png', true],
    ['/in/a.jpeg', true],
    ['/in/.tmp-IMG_0001.jpg', false],
    ['/in/.DS_Store', false],
    ['/in/~$report.jpg', false],
    ['/in/IMG_0001.jpg.part', false],
    ['/in/IMG_0001.jpg.crdownload', false],
    ['/in/notes.txt', false],
  ])('%s → %s', (file, taken) => {
    expect(isWatchedPhoto(file)).toBe(taken);
  });
  it('hidden folders are skipped', () => expect(isIgnoredName('/in/.thumbnails')).toBe(true));
});

describe('kliq-audit watch', () => {
  it('audits the folder, then photos copied in; ignores temporary files; a rename keeps the observation; Ctrl+C stops', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'in');
    fs.mkdirSync(folder);
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(folder, 'dog.jpg'));
    const dbFile = path.join(dir, 'w.db');
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'bin', 'kliq-audit.mjs'), 'watch', folder, '--db', dbFile, '--provider', 'cpu'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const db = () => new Database(dbFile, { readonly: true, fileMustExist: true });
    const completed = () => {
      if (!fs.existsSync(dbFile)) return 0;
      const d = db();
      try {
        return (d.prepare(`SELECT count(*) AS n FROM observations WHERE status = 'completed'`).get() as { n: number }).n;
      } catch {
        return 0; // not migrated yet
      } finally {
        d.close();
      }
    };
    try {
      await until('the photo already there', () => completed() === 1);
      // copied under a temporary name, then renamed (how sync tools do it); hidden and lock files beside it
      fs.copyFileSync(path.join(GENERAL, 'giraffe.jpg'), path.join(folder, '.tmp-giraffe.jpg'));
      fs.writeFileSync(path.join(folder, '.DS_Store'), 'x');
      fs.copyFileSync(path.join(GENERAL, 'eagle.jpg'), path.join(folder, '~$eagle.jpg'));
      await new Promise((r) => setTimeout(r, 1500));
      expect(completed()).toBe(1); // nothing taken before the rename
      fs.renameSync(path.join(folder, '.tmp-giraffe.jpg'), path.join(folder, 'giraffe.jpg'));
      await until('the renamed copy', () => completed() === 2);
      // written slowly in place: read only once its size holds still, so it never fails as truncated
      const person = fs.readFileSync(path.join(GENERAL, 'person.jpg'));
      const fd = fs.openSync(path.join(folder, 'person.jpg'), 'w');
      fs.writeSync(fd, person.subarray(0, person.length / 2));
      await new Promise((r) => setTimeout(r, 600));
      fs.writeSync(fd, person.subarray(person.length / 2));
      fs.closeSync(fd);
      await until('the slowly written photo', () => completed() === 3);
      // a rename inside the folder keeps the observation and adds the path to its sources
      fs.renameSync(path.join(folder, 'dog.jpg'), path.join(folder, 'dog-2.jpg'));
      await until('the renamed photo recorded', () => {
        const d = db();
        const n = (d.prepare('SELECT count(*) AS n FROM observation_sources WHERE path LIKE ?').get('%dog-2.jpg') as { n: number }).n;
        d.close();
        return n === 1;
      });
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/watching .*Ctrl\+C to stop/);
    const d = db();
    expect(d.prepare('SELECT status, count(*) AS n FROM observations GROUP BY status').all()).toEqual([{ status: 'completed', n: 3 }]);
    expect(d.prepare('SELECT count(*) AS n FROM cv_jobs').get()).toEqual({ n: 3 }); // the rename was not inferred again
    expect(d.prepare(`SELECT source_path FROM observations WHERE source_path LIKE '%dog%'`).pluck().all()).toEqual([
      path.join(folder, 'dog-2.jpg'),
    ]);
    expect(d.prepare('SELECT path, watch FROM import_folders').all()).toEqual([{ path: folder, watch: 1 }]);
    d.close();
  });
});

describe('the same photo imported again from another folder', () => {
  it('keeps its location and path, records the extra source, and says so', async () => {
    const dir = tmpDir();
    const [a, b] = [path.join(dir, 'store-a'), path.join(dir, 'store-b')];
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    fs.copyFileSync(path.join(GENERAL, 'eagle.jpg'), path.join(a, 'eagle.jpg'));
    fs.copyFileSync(path.join(GENERAL, 'eagle.jpg'), path.join(b, 'bird.jpg'));
    const dbFile = path.join(dir, 'same.db');
    const run = (folder: string, location: string) =>
      new Promise<string>((resolve) => {
        const c = spawn(
          process.execPath,
          [path.join(ROOT, 'bin', 'kliq-audit.mjs'), 'audit', folder, '--db', dbFile, '--provider', 'cpu', '--location', location],
          {
            cwd: ROOT,
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        let e = '';
        c.stderr.setEncoding('utf8').on('data', (d: string) => (e += d));
        c.on('exit', () => resolve(e));
      });
    await run(a, 'Store A');
    const second = await run(b, 'Store B');
    expect(second).toMatch(/note: .*bird\.jpg: the same photo as .*store-a\/eagle\.jpg \(location Store A\): recorded as another source/);
    const d = new Database(dbFile, { readonly: true });
    expect(
      d.prepare('SELECT o.source_path, l.name AS location FROM observations o JOIN locations l ON l.id = o.location_id').all(),
    ).toEqual([{ source_path: path.join(a, 'eagle.jpg'), location: 'Store A' }]);
    expect(d.prepare('SELECT path FROM observation_sources ORDER BY path').pluck().all()).toEqual([
      path.join(a, 'eagle.jpg'),
      path.join(b, 'bird.jpg'),
    ]);
    d.close();
  });
});
