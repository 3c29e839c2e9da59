import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrations as allMigrations, type Migration } from './migrations';
import { ConfigError, DbWriteError } from '../errors';

export type Db = Database.Database;

/** How long a connection waits for another's write lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 10_000;

/** SQLITE_BUSY and its extended codes: the lock was not free in time; the same work may be retried. */
export function isBusy(err: unknown): boolean {
  return err instanceof Error && 'code' in err && /^SQLITE_BUSY/.test(String(err.code));
}

/**
 * Runs `fn` in an IMMEDIATE transaction (a savepoint when already in one). When the write lock stays
 * taken past busy_timeout, it is tried again, `attempts` times in all, before the BUSY error is thrown.
 */
export function immediate<T>(db: Db, fn: () => T, attempts = 3): T {
  const tx = db.transaction(fn);
  for (let attempt = 1; ; attempt++) {
    try {
      return tx.immediate();
    } catch (err) {
      if (!isBusy(err) || db.inTransaction || attempt >= attempts) throw err;
    }
  }
}

/**
 * A SQLite error that comes from the machine, not from a bug (full disk, read-only or damaged file, I/O,
 * a lock held too long), as a DbWriteError whose message says what to do; null for anything else.
 */
export function dbEnvironmentError(err: unknown): DbWriteError | null {
  if (err instanceof DbWriteError) return err;
  const code = err instanceof Error && 'code' in err ? String(err.code) : '';
  const msg = err instanceof Error ? err.message : String(err);
  const kept = 'Completed photos are kept; run the same command again afterwards.';
  if (code === 'SQLITE_FULL' || /^SQLITE_IOERR/.test(code)) {
    return new DbWriteError(`cannot write to the database (${msg}): the disk may be full. Free some space. ${kept}`);
  }
  if (/^SQLITE_READONLY/.test(code) || code === 'SQLITE_PERM') {
    return new DbWriteError(`the database file is read-only (${msg}): make it writable, or pass another --db. ${kept}`);
  }
  if (/^SQLITE_CORRUPT/.test(code) || code === 'SQLITE_NOTADB') {
    return new DbWriteError(
      `the database file is damaged (${msg}): restore it from a backup, or pass another --db (photos can be audited again into a new one).`,
    );
  }
  if (/^SQLITE_BUSY/.test(code)) {
    return new DbWriteError(`the database stayed locked by another program (${msg}): close it or wait for it. ${kept}`);
  }
  if (/^SQLITE_CANTOPEN/.test(code))
    return new DbWriteError(`cannot open the database file (${msg}): check the path and its folder. ${kept}`);
  return null;
}

/** `PRAGMA application_id` of KLIQ Audit databases: 'KLIQ'. */
export const APPLICATION_ID = 0x4b4c4951;

/**
 * Our databases carry APPLICATION_ID. A new, empty database gets it; one made by KLIQ Audit before the
 * mark existed (our tables, a schema version) gets it too; any other non-empty database is refused
 * untouched, so `--db` pointing at another program's file never gets our tables or WAL mode.
 */
function claimDatabase(db: Db, file: string, readonly: boolean): void {
  const id = db.pragma('application_id', { simple: true }) as number;
  if (id === APPLICATION_ID) return;
  const tables = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .pluck()
    .all() as string[];
  const version = db.pragma('user_version', { simple: true }) as number;
  const ours = version > 0 && ['observations', 'cv_jobs', 'detections'].every((t) => tables.includes(t));
  if (id !== 0 || (tables.length > 0 && !ours)) {
    const what = id !== 0 ? `application_id ${id}` : `tables ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}`;
    throw new ConfigError(
      `${file} is not a KLIQ Audit database (${what}): it belongs to another program and is left untouched. Pass another --db.`,
    );
  }
  if (!readonly) immediate(db, () => db.pragma(`application_id = ${APPLICATION_ID}`));
}

/** Applies pending migrations, each in its own transaction with its `user_version` bump. */
export function migrate(db: Db, migrations: readonly Migration[] = allMigrations, target = Infinity): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.length ? migrations[migrations.length - 1].version : 0;
  if (current > latest) {
    throw new ConfigError(
      `the database is at schema version ${current}, newer than this app knows (${latest}). Update KLIQ Audit, or use another --db.`,
    );
  }
  for (const m of migrations) {
    if (m.version <= current || m.version > target) continue;
    // immediate, and the version read again under the lock: two processes opening a new database at
    // once apply each migration once
    immediate(db, () => {
      if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    });
  }
  return db.pragma('user_version', { simple: true }) as number;
}

/** Why a database file (or its folder, where SQLite writes its -wal and -shm files) cannot be written, or null. */
function readOnlyReason(file: string): string | null {
  for (const [what, target] of [
    ['the database file', file],
    ['its folder', path.dirname(path.resolve(file))],
  ] as const) {
    if (!fs.existsSync(target)) continue;
    try {
      fs.accessSync(target, fs.constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return `${what} is read-only (${code === 'EROFS' ? 'a read-only file system' : 'no write permission'})`;
    }
  }
  return null;
}

/** Opens (creating if needed) the app database: WAL, foreign keys on, migrated to the latest schema. */
export function openDb(file: string, opts: { readonly?: boolean } = {}): Db {
  if (file !== ':memory:') {
    const dir = path.dirname(path.resolve(file));
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new ConfigError(`cannot create the folder for the database ${file}: ${(err as Error).message}`);
    }
    if (opts.readonly && !fs.existsSync(file)) throw new ConfigError(`no database at ${file}: run an audit first, or pass the right --db.`);
  }
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    // another process may hold the write lock (the app, serve, a watcher): wait for it, bounded
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // refused before anything is changed: another program's database never gets our tables or WAL mode
    claimDatabase(db, file, opts.readonly ?? false);
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    if (!opts.readonly) migrate(db);
    else db.prepare('SELECT count(*) FROM sqlite_master').get(); // fails now, not later, on a non-database
  } catch (err) {
    db?.close();
    if (err instanceof ConfigError) throw err;
    const readonly = !opts.readonly && file !== ':memory:' ? readOnlyReason(file) : null;
    if (readonly) {
      throw new ConfigError(
        `cannot open the database ${file}: ${readonly}. Make it writable, or pass another --db (completed photos are kept).`,
      );
    }
    throw new ConfigError(`cannot open the database ${file}: ${(err as Error).message}. Check the path, or pass another --db.`);
  }
  return db;
}
