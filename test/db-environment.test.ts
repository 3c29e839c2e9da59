/**
 * The machine, not a bug: a full disk, a damaged database and another program's lock end the CLI with
 * exit 2 and a message that says what to do, and leave nothing half-written (a rerun completes).
 * The full disk is real: the CLI runs under `ulimit -f` (RLIMIT_FSIZE) with SIGXFSZ ignored, so
 * SQLite's writes past the limit fail with EFBIG as they would with ENOSPC.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { openDb } from '../src/main/engine/db';
import { GENERAL, ROOT, tmpDir } from './helpers';

const CLI = path.join(ROOT, 'bin', 'kliq-audit.mjs');

async function photos(dir: string, n: number): Promise<void> {
  const src = await sharp(path.join(GENERAL, 'person.jpg')).resize(320).toBuffer();
  for (let i = 0; i < n; i++) {
    await sharp(src)
      .resize(280 + i)
      .jpeg({ quality: 70 })
      .toFile(path.join(dir, `p${String(i).padStart(2, '0')}.jpg`));
  }
}

function audit(args: string[], limitKb?: number) {
  const cmd = [process.execPath, CLI, 'audit', ...args, '--provider', 'cpu'].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = limitKb ? `ulimit -f ${limitKb}; trap '' XFSZ; exec ${cmd}` : `exec ${cmd}`;
  return spawnSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
}

describe('environment errors', () => {
  it('a disk that fills up mid-run: exit 2 with what to do; the next run completes every photo once', async () => {
    const dir = tmpDir();
    const shots = path.join(dir, 'photos');
    fs.mkdirSync(shots);
    await photos(shots, 40);
    const dbFile = path.join(dir, 'full.db');
    openDb(dbFile).close(); // the schema fits; the results do not
    const size = Math.ceil(fs.statSync(dbFile).size / 1024);
    const full = audit([shots, '--db', dbFile], size + 48);
    expect(full.stderr).not.toMatch(/This is a bug/);
    expect(full.stderr).toMatch(/cannot write to the database .*disk may be full/);
    expect(full.status, full.stderr).toBe(2);

    const again = audit([shots, '--db', dbFile]);
    expect(again.status, again.stderr).toBe(0);
    const db = new Database(dbFile, { readonly: true });
    expect(db.prepare('SELECT status, count(*) AS n FROM observations GROUP BY status').all()).toEqual([{ status: 'completed', n: 40 }]);
    expect(db.prepare(`SELECT count(*) AS n FROM cv_jobs WHERE status = 'processing'`).get()).toEqual({ n: 0 });
    // one completed result per photo: nothing written twice
    expect(
      db
        .prepare(
          `SELECT count(*) AS n FROM (SELECT observation_id FROM cv_jobs WHERE status = 'completed'
           GROUP BY observation_id HAVING count(*) > 1)`,
        )
        .get(),
    ).toEqual({ n: 0 });
    db.close();
  });

  // a real read-only file system: a read-only bind mount in a private mount namespace (root only)
  const canMountReadOnly =
    spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind -o ro / /mnt'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!canMountReadOnly)('a database on a read-only file system: exit 2, it says so (needs unshare -m: root)', async () => {
    const dir = tmpDir();
    const dbFile = path.join(dir, 'ro.db');
    expect(audit([path.join(GENERAL, 'dog.jpg'), '--db', dbFile]).status).toBe(0);
    const before = fs.readFileSync(dbFile);
    const cmd = [process.execPath, CLI, 'audit', path.join(GENERAL, 'eagle.jpg'), '--db', dbFile, '--provider', 'cpu']
      .map((a) => `'${a}'`)
      .join(' ');
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind -o ro '${dir}' '${dir}' && exec ${cmd}`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).not.toMatch(/This is a bug/);
    expect(r.stderr).toMatch(/read-only \(a read-only file system\)\. Make it writable, or pass another --db/);
    expect(r.status).toBe(2);
    expect(fs.readFileSync(dbFile).equals(before)).toBe(true);
  });

  it('a damaged database: exit 2, it says so and what to do', async () => {
    const dir = tmpDir();
    const dbFile = path.join(dir, 'damaged.db');
    expect(audit([path.join(GENERAL, 'dog.jpg'), path.join(GENERAL, 'eagle.jpg'), '--db', dbFile]).status).toBe(0);
    // keep the header page (the schema), scramble the rest
    const buf = fs.readFileSync(dbFile);
    const pageSize = buf.readUInt16BE(16);
    for (let i = pageSize; i < buf.length; i++) buf[i] = (i * 131) & 0xff;
    fs.writeFileSync(dbFile, buf);
    const r = audit([path.join(GENERAL, 'person.jpg'), '--db', dbFile]);
    expect(r.stderr).not.toMatch(/This is a bug/);
    expect(r.stderr).toMatch(/damaged|malformed/);
    expect(r.stderr).toMatch(/backup|another --db/);
    expect(r.status).toBe(2);
  });
});
