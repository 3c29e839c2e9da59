/**
 * `kliq-audit watch` and `kliq-audit folders …`: watched import folders from the command line.
 *
 *   watch [folder...]            watch these folders (kept, with the settings given), or every kept folder
 *                                with watch on and not paused; each folder's photos get its kept settings
 *   folders [list] [--json]      the kept import folders, their settings and photos
 *   folders add <folder...>      keep folders to watch (--location, --visit, --tiles; --no-watch: keep only)
 *   folders remove <folder...>   forget folders (their photos' observations and results stay)
 *   folders pause|resume <folder...>
 *
 * A running `serve` or desktop app on the same database follows these changes within two seconds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { AUDIT_DEFAULTS, type TilesOption } from './engine/audit';
import { openDb } from './engine/db';
import { FolderStore, folderKey, savedSettings, type FolderRow } from './engine/db/folders';
import { ConfigError, PathNotFoundError } from './engine/errors';
import { defaultDbPath } from './engine/paths';
import { FolderWatcher } from './engine/watcher';
import { watchFolderOf } from './engine/watch-service';
import { PROVIDER_CHOICES, type AuditEvent, type ProviderChoice } from '../shared/domain';

const err = (line: string) => process.stderr.write(`${line}\n`);

export function parseTilesOption(v: string): TilesOption {
  if (v === 'off' || v === 'auto') return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 8)
    throw new InvalidArgumentError('use off, auto, or the number of tiles across the short side (2..8)');
  return n;
}

function existingFolder(f: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(f);
  } catch {
    throw new PathNotFoundError(`${f}: no such folder`);
  }
  if (!st.isDirectory()) throw new PathNotFoundError(`${f} is a file, not a folder: import files with \`kliq-audit audit\``);
  return folderKey(f);
}

const tilesText = (t: TilesOption | null) => (t === null ? 'tiles off' : typeof t === 'number' ? `tiles ${t}` : `tiles ${t}`);

export function describeFolder(f: FolderRow): string {
  const state = !f.watch ? 'not watched' : f.paused ? 'paused' : 'watched';
  const settings = [f.location ? `location ${f.location}` : 'no location', f.visit ? `visit ${f.visit}` : null, tilesText(f.tiles)]
    .filter(Boolean)
    .join(', ');
  const deleted = f.deletedPhotos ? ` (${f.deletedPhotos} deleted since, results kept)` : '';
  const photos = `${f.photos} photo${f.photos === 1 ? '' : 's'}${deleted}`;
  return `${f.path}\t${state}\t${settings}\t${photos}\tlast import ${f.lastImportAt}`;
}

interface WatchCliOptions {
  db: string;
  model?: string;
  provider: ProviderChoice;
  tiles?: TilesOption;
  location?: string;
  visit?: string;
}

async function watchCommand(folders: string[], o: WatchCliOptions, render: (e: AuditEvent) => void): Promise<number> {
  const keys = folders.map(existingFolder);
  const db = openDb(o.db);
  const store = new FolderStore(db);
  let rows: FolderRow[];
  if (keys.length) {
    rows = keys.map((k) => store.save(k, { location: o.location, visit: o.visit, tiles: o.tiles, watch: true }));
    for (const r of rows) if (r.paused) err(`note: ${r.path} is paused for the app and serve; watched here as asked`);
  } else {
    rows = store.watched();
    if (!rows.length) {
      db.close();
      throw new ConfigError(
        'no watched import folders in this database: name the folders (`kliq-audit watch <folder...>`), ' +
          'or add them (`kliq-audit folders add`)',
      );
    }
  }
  for (const r of rows) err(`folder ${describeFolder(r).split('\t').slice(0, 3).join(' — ')}`);
  const watcher = new FolderWatcher(
    db,
    rows.map((r) => ({ ...watchFolderOf(r), tiles: r.tiles ?? AUDIT_DEFAULTS.tiles })),
    {
      provider: o.provider,
      model: o.model,
      onEvent: (e) => {
        switch (e.type) {
          case 'watching':
            if (e.note) err(`note: ${e.note}`);
            err(`watching ${e.folders.join(', ')}${e.polling ? ' (polling)' : ''}: photos copied in are audited; Ctrl+C to stop`);
            break;
          case 'state':
            if (e.status.state === 'missing' || e.status.state === 'error') err(`${e.status.path}: ${e.status.state}: ${e.status.reason}`);
            break;
          case 'batch':
            err(`${e.files} new or changed photo${e.files === 1 ? '' : 's'} in ${e.folder}`);
            break;
          case 'audit':
            render(e.event);
            break;
          case 'removed':
            err(`deleted: ${e.path} (its observation and results are kept, marked deleted)`);
            break;
          case 'warning':
            err(`warning: ${e.message}`);
            break;
          case 'error':
            err(`error: ${e.folder ? `${e.folder}: ` : ''}${e.message} (still watching)`);
            break;
          case 'batch-done':
            break; // the audit's own "done …" line is the line of the batch
        }
      },
    },
  );
  watcher.start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  err('stopping: finishing the photos in flight');
  await watcher.stop(10_000);
  db.close();
  // everything is written and closed: a file watch handle chokidar failed to close must not keep the process alive
  setTimeout(() => process.exit(), 2000).unref();
  return 0;
}

function withStore<T>(dbFile: string, fn: (store: FolderStore) => T): T {
  if (!fs.existsSync(dbFile)) throw new ConfigError(`no database at ${dbFile}: pass the right --db`);
  const db = openDb(dbFile);
  try {
    return fn(new FolderStore(db));
  } finally {
    db.close();
  }
}

function known(store: FolderStore, f: string): string {
  const key = folderKey(f);
  if (!store.get(key)) throw new ConfigError(`${key} is not an import folder of this database (see \`kliq-audit folders list\`)`);
  return key;
}

/** Adds `watch` and `folders` to the program. `render` is the audit progress renderer of `audit`. */
export function addFolderCommands(program: Command, setExit: (code: number) => void, render: () => (e: AuditEvent) => void): void {
  program
    .command('watch')
    .description('watch folders: audit what is there, then every photo copied in, until Ctrl+C')
    .argument('[folder...]', 'folders to watch (recursively); none: every kept folder with watch on and not paused')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .option('--model <name|file>', 'model name from models/manifest.json, or an .onnx file')
    .addOption(new Option('--provider <name>', 'execution provider').choices(PROVIDER_CHOICES).default(AUDIT_DEFAULTS.provider))
    .option('--tiles <off|auto|n>', 'tiled inference (see audit --tiles; default: the folder’s kept setting, else off)', parseTilesOption)
    .option('--location <name>', 'location of the photos of these folders (kept with the folders)')
    .option('--visit <id>', 'visit id of the photos of these folders (kept with the folders)')
    .action(async (folders: string[], o: WatchCliOptions) => setExit(await watchCommand(folders, o, render())));

  const folders = program
    .command('folders')
    .description('the kept import folders: list, add, remove, pause, resume (a running serve or app follows the changes)');

  folders
    .command('list', { isDefault: true })
    .description('list the kept import folders with their settings')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .option('--json', 'print JSON', false)
    .action((o: { db: string; json: boolean }) =>
      setExit(
        withStore(o.db, (store) => {
          const rows = store.list();
          if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          else if (!rows.length) err('no import folders yet: `kliq-audit folders add <folder>`');
          else for (const r of rows) process.stdout.write(`${describeFolder(r)}\n`);
          return 0;
        }),
      ),
    );

  folders
    .command('add')
    .description('keep folders with their settings and watch them (--no-watch: keep for re-imports only)')
    .argument('<folder...>', 'folders')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .option('--location <name>', 'location of the folders’ photos ("" clears it)')
    .option('--visit <id>', 'visit id of the folders’ photos ("" clears it)')
    .option('--tiles <off|auto|n>', 'tiled inference for the folders’ photos', parseTilesOption)
    .option('--no-watch', 'keep the folders without watching them')
    .action((paths: string[], o: { db: string; location?: string; visit?: string; tiles?: TilesOption; watch: boolean }) => {
      const keys = paths.map(existingFolder);
      const db = openDb(o.db);
      try {
        const store = new FolderStore(db);
        for (const k of keys) {
          const row = store.save(k, {
            location: o.location === undefined ? undefined : o.location || null,
            visit: o.visit === undefined ? undefined : o.visit || null,
            tiles: o.tiles,
            watch: o.watch,
          });
          err(`kept ${describeFolder(row)}`);
        }
      } finally {
        db.close();
      }
      setExit(0);
    });

  folders
    .command('remove')
    .description('forget folders and stop watching them (their photos’ observations and results stay)')
    .argument('<folder...>', 'folders')
    .option('--db <file>', 'SQLite database', defaultDbPath())
    .action((paths: string[], o: { db: string }) =>
      setExit(
        withStore(o.db, (store) => {
          const keys = paths.map((p) => known(store, p));
          for (const k of keys) {
            store.remove(k);
            err(`removed ${k} (its photos' observations and results are kept)`);
          }
          return 0;
        }),
      ),
    );

  for (const [name, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    folders
      .command(name)
      .description(paused ? 'stop watching folders for now (what arrives meanwhile is audited on resume)' : 'watch paused folders again')
      .argument('<folder...>', 'folders')
      .option('--db <file>', 'SQLite database', defaultDbPath())
      .action((paths: string[], o: { db: string }) =>
        setExit(
          withStore(o.db, (store) => {
            const keys = paths.map((p) => known(store, p));
            for (const k of keys) {
              const row = store.setPaused(k, paused)!;
              if (!paused && !row.watch) store.save(k, { watch: true });
              err(`${paused ? 'paused' : 'resumed'} ${k}`);
            }
            return 0;
          }),
        ),
      );
  }
}

/** For `audit`: the kept settings of the folders audited, where no option gives them (a re-import uses them). */
export function keptSettingsFor(
  dbFolders: FolderStore,
  paths: string[],
  given: { location: boolean; visit: boolean; tiles: boolean },
): { location?: string; visit?: string; tiles?: TilesOption } {
  const saved = savedSettings(
    dbFolders,
    paths.map((p) => path.resolve(p)),
  );
  return {
    location: given.location ? undefined : saved.location,
    visit: given.visit ? undefined : saved.visit,
    tiles: given.tiles ? undefined : saved.tiles,
  };
}
