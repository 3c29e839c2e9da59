/**
 * Import folders (`import_folders`): folders imported or watched before, each with the settings its
 * photos are audited with (location, visit, tiles), whether it is watched, and whether watching it is
 * paused. A re-import of a saved folder uses its saved settings unless others are given.
 */
import path from 'node:path';
import { immediate, type Db } from './index';
import { newId } from './store';

/** Tiles as kept: `off`, `auto`, or tiles across the short side (2..8). */
export type SavedTiles = 'off' | 'auto' | number;

export interface FolderSettings {
  location: string | null;
  visit: string | null;
  tiles: SavedTiles | null;
}

export interface FolderRow extends FolderSettings {
  path: string;
  watch: boolean;
  paused: boolean;
  addedAt: string;
  lastImportAt: string;
  /** Photo files seen under the folder (sources of observations), and how many of them were deleted since. */
  photos: number;
  deletedPhotos: number;
}

interface Raw {
  path: string;
  location: string | null;
  visit: string | null;
  tiles: string | null;
  watch: number;
  paused: number;
  addedAt: string;
  lastImportAt: string;
}

const now = () => new Date().toISOString();

/** The folder path as kept: absolute, without a trailing separator. */
export function folderKey(p: string): string {
  const abs = path.resolve(p);
  return abs.length > 1 && abs.endsWith(path.sep) ? abs.slice(0, -1) : abs;
}

export function parseTiles(t: string | null): SavedTiles | null {
  if (t === null) return null;
  return t === 'off' || t === 'auto' ? t : Number(t);
}

const SELECT = `SELECT f.path, l.name AS location, f.visit_id AS visit, f.tiles, f.watch, f.paused,
  f.added_at AS addedAt, f.last_import_at AS lastImportAt
  FROM import_folders f LEFT JOIN locations l ON l.id = f.location_id`;

export class FolderStore {
  private readonly s;

  constructor(private readonly db: Db) {
    this.s = {
      all: db.prepare<[], Raw>(`${SELECT} ORDER BY f.last_import_at DESC, f.path`),
      one: db.prepare<[string], Raw>(`${SELECT} WHERE f.path = ?`),
      // sources under the folder: a range on the primary key ('/' + 1 = '0')
      counts: db.prepare<[string, string], { photos: number; deleted: number }>(
        `SELECT count(*) AS photos, count(deleted_at) AS deleted FROM observation_sources WHERE path >= ? AND path < ?`,
      ),
      locationByName: db.prepare<[string], { id: string }>('SELECT id FROM locations WHERE name = ?'),
      insertLocation: db.prepare('INSERT INTO locations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      upsert: db.prepare(
        `INSERT INTO import_folders (path, location_id, visit_id, tiles, watch, paused, added_at, last_import_at)
         VALUES (@path, @locationId, @visit, @tiles, @watch, 0, @now, @now)
         ON CONFLICT(path) DO UPDATE SET
           location_id = CASE WHEN @setLocation THEN excluded.location_id ELSE location_id END,
           visit_id = CASE WHEN @setVisit THEN excluded.visit_id ELSE visit_id END,
           tiles = CASE WHEN @setTiles THEN excluded.tiles ELSE tiles END,
           watch = CASE WHEN @setWatch THEN excluded.watch ELSE watch END,
           last_import_at = CASE WHEN @imported THEN excluded.last_import_at ELSE last_import_at END`,
      ),
      remove: db.prepare('DELETE FROM import_folders WHERE path = ?'),
      pause: db.prepare('UPDATE import_folders SET paused = ? WHERE path = ?'),
    };
  }

  private row(r: Raw, counted = true): FolderRow {
    const c = counted
      ? this.s.counts.get(r.path + path.sep, r.path + String.fromCharCode(path.sep.charCodeAt(0) + 1))!
      : { photos: 0, deleted: 0 };
    return {
      path: r.path,
      location: r.location,
      visit: r.visit,
      tiles: parseTiles(r.tiles),
      watch: r.watch === 1,
      paused: r.paused === 1,
      addedAt: r.addedAt,
      lastImportAt: r.lastImportAt,
      photos: c.photos,
      deletedPhotos: c.deleted,
    };
  }

  /** The kept folders; `counted: false` leaves photos and deletedPhotos at 0 (cheaper, for polling the list). */
  list(opts: { counted?: boolean } = {}): FolderRow[] {
    return this.s.all.all().map((r) => this.row(r, opts.counted ?? true));
  }

  get(folder: string): FolderRow | null {
    const r = this.s.one.get(folderKey(folder));
    return r ? this.row(r) : null;
  }

  /**
   * Keeps a folder (created when new). Settings given replace the saved ones (null clears one, undefined
   * keeps it); `watch` likewise; `imported` stamps last_import_at.
   */
  save(
    folder: string,
    s: { location?: string | null; visit?: string | null; tiles?: SavedTiles | null; watch?: boolean; imported?: boolean },
  ): FolderRow {
    const key = folderKey(folder);
    return immediate(this.db, () => {
      const t = now();
      let locationId: string | null = null;
      if (s.location) {
        locationId = this.s.locationByName.get(s.location)?.id ?? null;
        if (!locationId) {
          locationId = newId('loc');
          this.s.insertLocation.run(locationId, s.location, t, t);
        }
      }
      this.s.upsert.run({
        path: key,
        locationId,
        visit: s.visit ?? null,
        tiles: s.tiles === undefined || s.tiles === null ? null : String(s.tiles),
        watch: s.watch ? 1 : 0,
        now: t,
        setLocation: s.location === undefined ? 0 : 1,
        setVisit: s.visit === undefined ? 0 : 1,
        setTiles: s.tiles === undefined ? 0 : 1,
        setWatch: s.watch === undefined ? 0 : 1,
        imported: s.imported ? 1 : 0,
      });
      return this.row(this.s.one.get(key)!);
    });
  }

  /** save() for each path, in one transaction (an import of several paths). */
  saveAll(paths: string[], s: Parameters<FolderStore['save']>[1]): void {
    immediate(this.db, () => {
      for (const p of paths) this.save(p, s);
    });
  }

  /** Forgets a folder (its photos' observations and results stay). False when it was not kept. */
  remove(folder: string): boolean {
    return this.s.remove.run(folderKey(folder)).changes > 0;
  }

  /** Pauses or resumes watching a kept folder; null when it is not kept. */
  setPaused(folder: string, paused: boolean): FolderRow | null {
    const key = folderKey(folder);
    if (this.s.pause.run(paused ? 1 : 0, key).changes === 0) return null;
    return this.get(key);
  }

  /** The folders to watch: kept with watch on and not paused. */
  watched(): FolderRow[] {
    return this.list().filter((f) => f.watch && !f.paused);
  }
}

/**
 * The kept settings a re-import of `paths` uses where none are given: each setting that every kept
 * folder among the paths agrees on (an import of one kept folder gets that folder's settings).
 */
export function savedSettings(store: FolderStore, paths: string[]): { location?: string; visit?: string; tiles?: SavedTiles } {
  const rows = paths.map((p) => store.get(p)).filter((r): r is FolderRow => r !== null);
  if (!rows.length) return {};
  const agreed = <T>(values: (T | null)[]): T | undefined =>
    values.every((v) => v !== null && v === values[0]) ? (values[0] as T) : undefined;
  return {
    location: agreed(rows.map((r) => r.location)),
    visit: agreed(rows.map((r) => r.visit)),
    tiles: agreed(rows.map((r) => r.tiles)),
  };
}
