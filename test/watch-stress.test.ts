/**
 * `kliq-audit watch` and `kliq-audit folders` as child processes, in the situations watched folders meet:
 * ten folders with their own settings at once, a watched folder deleted and re-created, an unreadable
 * sub-folder, and a user out of inotify instances (a real exhaustion, for a user id of its own).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDb } from '../src/main/engine/db';
import { GENERAL, ROOT, tmpDir } from './helpers';

const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');
const PHOTOS = ['dog.jpg', 'eagle.jpg', 'giraffe.jpg', 'person.jpg', 'fruits.jpg'].map((f) => path.join(GENERAL, f));

async function until<T>(what: string, fn: () => T | null | false | undefined, ms = 60_000, stderr?: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${stderr ? `\nstderr:\n${stderr()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Child {
  proc: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

function watch(args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = spawn(process.execPath, [CLI, 'watch', '--provider', 'cpu', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return {
    proc,
    stderr: () => err,
    stop: async () => {
      proc.kill('SIGINT');
      return exited;
    },
  };
}

function query<T>(dbFile: string, sql: string, ...params: unknown[]): T[] {
  if (!fs.existsSync(dbFile)) return [];
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } catch {
    return []; // not migrated yet
  } finally {
    db.close();
  }
}
const completed = (dbFile: string) =>
  query<{ n: number }>(dbFile, `SELECT count(*) AS n FROM observations WHERE status = 'completed'`)[0]?.n ?? 0;

/** Root reads any file: a test of permissions runs its child as another user id, one no other test uses. */
const isRoot = process.getuid?.() === 0;
const OTHER_UID = 40_000 + (process.pid % 20_000);
const canRunAsOther =
  isRoot &&
  spawnSync(process.execPath, ['-e', `require('fs').readFileSync(${JSON.stringify(CLI)})`], { uid: OTHER_UID, gid: OTHER_UID }).status ===
    0;
/** A folder for a child running as OTHER_UID: it writes its database, temp files and model copy there. */
function otherUserDir(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tmpDir();
  fs.chmodSync(dir, 0o777);
  return { dir, env: { HOME: dir, TMPDIR: dir, KLIQ_MODELS_DIR: path.join(dir, 'models') } };
}

describe('kliq-audit folders', () => {
  it('add, list, pause, resume, remove, with clear errors; `watch` with no folder watches the kept ones with their settings', async () => {
    const dir = tmpDir();
    const dbFile = path.join(dir, 'f.db');
    openDb(dbFile).close();
    const folders = Array.from({ length: 10 }, (_, i) => path.join(dir, `store-${i}`));
    for (const f of folders) fs.mkdirSync(f);
    // ten folders, each with its own location; the last one with a visit and tiles
    for (const [i, f] of folders.entries()) {
      const extra = i === 9 ? ['--visit', 'v-9', '--tiles', '2'] : [];
      const r = cli(['folders', 'add', f, '--db', dbFile, '--location', `Store ${i}`, ...extra]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(cli(['folders', 'add', path.join(dir, 'nope'), '--db', dbFile])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/nope: no such folder/),
    });
    expect(cli(['folders', 'pause', path.join(dir, 'other'), '--db', dbFile])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/is not an import folder of this database \(see `kliq-audit folders list`\)/),
    });
    // store-8 paused: kept, not watched
    expect(cli(['folders', 'pause', folders[8], '--db', dbFile]).code).toBe(0);
    const list = cli(['folders', 'list', '--db', dbFile]);
    expect(list.code).toBe(0);
    expect(list.stdout.trim().split('\n')).toHaveLength(10);
    expect(list.stdout).toMatch(new RegExp(`${folders[9]}\\twatched\\tlocation Store 9, visit v-9, tiles 2\\t0 photos`));
    expect(list.stdout).toMatch(new RegExp(`${folders[8]}\\tpaused\\t`));
    const json = JSON.parse(cli(['folders', '--db', dbFile, '--json']).stdout) as { path: string; paused: boolean }[];
    expect(json.filter((f) => f.paused).map((f) => f.path)).toEqual([folders[8]]);

    // two photos into each folder while `watch` (no folder named) runs: nine folders watched at once
    const w = watch(['--db', dbFile]);
    try {
      await until('nine folders watched', () => (w.stderr().match(/^watching /gm) ?? []).length === 9, 60_000, w.stderr);
      for (const [i, f] of folders.entries())
        for (const k of [0, 1]) {
          const src = PHOTOS[(i + k) % PHOTOS.length];
          // distinct content per folder (the same photo in two folders would be one observation)
          fs.writeFileSync(path.join(f, `p${k}.jpg`), Buffer.concat([fs.readFileSync(src), Buffer.from(`folder ${i}`)]));
        }
      await until('18 photos audited', () => completed(dbFile) === 18, 120_000, w.stderr);
    } finally {
      expect(await w.stop(), w.stderr()).toBe(0);
    }
    const rows = query<{ location: string; n: number; visits: string | null; tiles: string | null }>(
      dbFile,
      `SELECT l.name AS location, count(*) AS n, group_concat(DISTINCT o.visit_id) AS visits,
         group_concat(DISTINCT json_extract(j.options, '$.tiles')) AS tiles
       FROM observations o JOIN locations l ON l.id = o.location_id JOIN cv_jobs j ON j.id = o.current_job_id
       GROUP BY l.name ORDER BY l.name`,
    );
    expect(rows).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 9].map((i) => ({
        location: `Store ${i}`,
        n: 2,
        visits: i === 9 ? 'v-9' : null,
        tiles: i === 9 ? '2' : 'off',
      })),
    );
    // the paused folder's photos wait for resume; a re-import picks them up with its settings
    expect(cli(['folders', 'resume', folders[8], '--db', dbFile]).code).toBe(0);
    const again = spawnSync(process.execPath, [CLI, 'audit', folders[8], '--db', dbFile, '--provider', 'cpu'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/using the import folder's kept settings: location Store 8/);
    expect(
      query(dbFile, `SELECT count(*) AS n FROM observations o JOIN locations l ON l.id = o.location_id WHERE l.name = 'Store 8'`),
    ).toEqual([{ n: 2 }]);
    expect(cli(['folders', 'remove', folders[0], '--db', dbFile]).stderr).toMatch(/removed .*store-0 \(its photos' observations/);
    expect(cli(['folders', 'list', '--db', dbFile]).stdout.trim().split('\n')).toHaveLength(9);
    expect(completed(dbFile)).toBe(20);
  });
});

describe('watched folders under stress', () => {
  it('a watched folder deleted and re-created: its photos are marked deleted (results kept), then new photos are audited', async () => {
    const dir = tmpDir();
    const folder = path.join(dir, 'card');
    fs.mkdirSync(folder);
    fs.copyFileSync(PHOTOS[0], path.join(folder, 'a.jpg'));
    const dbFile = path.join(dir, 'w.db');
    const w = watch([folder, '--db', dbFile]);
    try {
      await until('the first photo', () => completed(dbFile) === 1, 60_000, w.stderr);
      fs.rmSync(folder, { recursive: true });
      await until('the folder missing', () => /card: missing: the folder does not exist/.test(w.stderr()), 30_000, w.stderr);
      await until('its photo marked deleted', () =>
        query<{ s: string }>(dbFile, `SELECT source_state AS s FROM observations`).every((r) => r.s === 'deleted'),
      );
      fs.mkdirSync(folder);
      await until('watching again', () => (w.stderr().match(/^watching .*card/gm) ?? []).length === 2, 30_000, w.stderr);
      fs.copyFileSync(PHOTOS[1], path.join(folder, 'b.jpg'));
      await until('the photo copied into the new folder', () => completed(dbFile) === 2, 60_000, w.stderr);
    } finally {
      expect(await w.stop(), w.stderr()).toBe(0);
    }
    expect(
      query(dbFile, 'SELECT source_path AS p, source_state AS s, detection_count > 0 AS boxes FROM observations ORDER BY source_path'),
    ).toEqual([
      { p: path.join(folder, 'a.jpg'), s: 'deleted', boxes: 1 },
      { p: path.join(folder, 'b.jpg'), s: 'present', boxes: 1 },
    ]);
  });

  it.skipIf(isRoot && !canRunAsOther)(
    'an unreadable sub-folder is reported by name and the rest is watched (as root: the watcher runs as another user id)',
    async () => {
      const { dir, env } = isRoot ? otherUserDir() : { dir: tmpDir(), env: {} };
      const folder = path.join(dir, 'in');
      fs.mkdirSync(path.join(folder, 'locked'), { recursive: true });
      fs.chmodSync(folder, 0o777);
      fs.copyFileSync(PHOTOS[0], path.join(folder, 'ok.jpg'));
      fs.copyFileSync(PHOTOS[1], path.join(folder, 'locked', 'hidden.jpg'));
      fs.chmodSync(path.join(folder, 'locked'), 0o000);
      const dbFile = path.join(dir, 'w.db');
      const w = watch([folder, '--db', dbFile], { uid: isRoot ? OTHER_UID : undefined, env });
      try {
        await until('the readable photo', () => completed(dbFile) === 1, 90_000, w.stderr);
        await until('the warning', () => /warning: cannot read .*in\/locked \(permission denied\)/.test(w.stderr()), 10_000, w.stderr);
        fs.copyFileSync(PHOTOS[2], path.join(folder, 'later.jpg'));
        await until('a photo copied in later', () => completed(dbFile) === 2, 60_000, w.stderr);
      } finally {
        fs.chmodSync(path.join(folder, 'locked'), 0o755);
        expect(await w.stop(), w.stderr()).toBe(0);
      }
      expect(query(dbFile, 'SELECT source_path AS p FROM observations ORDER BY p')).toEqual([
        { p: path.join(folder, 'later.jpg') },
        { p: path.join(folder, 'ok.jpg') },
      ]);
      expect(w.stderr()).toMatch(/Give this user read access to it, then pause and resume the folder/);
    },
  );

  // A real exhaustion: a helper holds every inotify instance its user id may have (fs.inotify.max_user_instances),
  // then the watcher runs as that user id. Needs root (to use an id of its own: the limit is per user, and the
  // machine's is not lowered) and /usr/bin/python3 (the helper). Out of watches (ENOSPC, max_user_watches) takes
  // the same path in the watcher; it is not exhausted here (that would take ~190 000 watches).
  const python = '/usr/bin/python3';
  it.skipIf(!canRunAsOther || !fs.existsSync(python))(
    'out of inotify instances: says which sysctl to raise, watches by polling, and audits photos copied in',
    async () => {
      const { dir, env } = otherUserDir();
      const folder = path.join(dir, 'in');
      fs.mkdirSync(folder);
      fs.chmodSync(folder, 0o777);
      fs.copyFileSync(PHOTOS[0], path.join(folder, 'first.jpg'));
      const holder = spawn(
        python,
        [
          '-c',
          `import ctypes, sys, time
libc = ctypes.CDLL('libc.so.6', use_errno=True)
fds = []
while libc.inotify_init() >= 0: fds.append(1)
sys.stdout.write('%d %d\\n' % (len(fds), ctypes.get_errno()))
sys.stdout.flush()
time.sleep(600)`,
        ],
        { uid: OTHER_UID, gid: OTHER_UID, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        const held = await new Promise<string>((r) => holder.stdout!.once('data', (d: Buffer) => r(d.toString().trim())));
        expect(held).toMatch(/^\d+ 24$/); // EMFILE: none left for this user id
        const dbFile = path.join(dir, 'w.db');
        const w = watch([folder, '--db', dbFile], { uid: OTHER_UID, env });
        try {
          await until('the fallback', () => /watching .*\(polling\)/.test(w.stderr()), 60_000, w.stderr);
          expect(w.stderr()).toMatch(/ran out of file watches \(inotify, EMFILE\).*sudo sysctl fs\.inotify\.max_user_instances=/);
          await until('the photo already there', () => completed(dbFile) === 1, 90_000, w.stderr);
          fs.copyFileSync(PHOTOS[1], path.join(folder, 'second.jpg'));
          await until('a photo copied in while polling', () => completed(dbFile) === 2, 60_000, w.stderr);
        } finally {
          expect(await w.stop(), w.stderr()).toBe(0);
        }
      } finally {
        holder.kill('SIGKILL');
      }
    },
  );
});
