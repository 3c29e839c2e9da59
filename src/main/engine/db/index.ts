import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrations as allMigrations, type Migration } from './migrations';
import { ConfigError } from '../errors';

export type Db = Database.Database;

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
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return db.pragma('user_version', { simple: true }) as number;
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
  let db: Db;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
    db.pragma('busy_timeout = 5000');
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    if (!opts.readonly) migrate(db);
    else db.prepare('SELECT count(*) FROM sqlite_master').get(); // fails now, not later, on a non-database
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot open the database ${file}: ${(err as Error).message}. Check the path, or pass another --db.`);
  }
  return db;
}
