/**
 * The watched import folders as a long-lived service of the engine host (the desktop app, `kliq-audit
 * serve`): it watches every kept folder with watch on and not paused, with the folder's settings, and
 * follows the kept list: folders added, removed, paused or resumed here (the Import screen) or by
 * another process (`kliq-audit folders …` on the same database) are picked up within `syncMs`.
 */
import fs from 'node:fs';
import { FolderStore, folderKey, type FolderRow } from './db/folders';
import { InvalidRequestError, NotFoundError, PathNotFoundError } from './errors';
import { FolderWatcher, type FolderStatus, type WatchFolder, type WatcherOptions } from './watcher';
import type { Db } from './db';
import type { EngineService } from './service';
import type { EngineEvent, ImportFolder, ParsedParams } from '../../shared/rpc';
import type { ProviderChoice } from '../../shared/domain';

export interface WatchServiceOptions extends Pick<WatcherOptions, 'batchMs' | 'stableMs' | 'recheckMs' | 'usePolling'> {
  provider?: ProviderChoice;
  model?: string;
  /** How often the kept list is read again for changes made by other processes (ms). */
  syncMs?: number;
}

/** What a kept folder's photos are audited with. */
export function watchFolderOf(row: Pick<FolderRow, 'path' | 'location' | 'visit' | 'tiles'>): WatchFolder {
  return {
    path: row.path,
    location: row.location ?? undefined,
    tiles: row.tiles ?? undefined,
    metadata: row.visit ? { visit_id: row.visit } : undefined,
  };
}

export class WatchService implements EngineService {
  readonly folders: FolderStore;
  private readonly watcher: FolderWatcher;
  private timer: NodeJS.Timeout | null = null;
  /** The kept list as last applied: path → a key of its settings, paused. */
  private applied = new Map<string, string>();

  constructor(
    db: Db,
    private readonly emit: (e: EngineEvent) => void,
    private readonly opts: WatchServiceOptions = {},
  ) {
    this.folders = new FolderStore(db);
    this.watcher = new FolderWatcher(db, [], {
      provider: opts.provider,
      model: opts.model,
      batchMs: opts.batchMs,
      stableMs: opts.stableMs,
      recheckMs: opts.recheckMs,
      usePolling: opts.usePolling,
      onEvent: (e) => {
        if (e.type === 'state') this.emit({ type: 'watch-state', status: e.status });
        else if (e.type === 'audit' && (e.event.type === 'photo' || e.event.type === 'model' || e.event.type === 'done'))
          this.emit({ type: 'watch', folder: e.folder, event: e.event });
        else if (e.type === 'removed') {
          // the folder's counts changed (the UI batches events: a folder emptied at once is a few list reads)
          this.emit({ type: 'import-folders' });
          if (e.observationId) this.emit({ type: 'changed', observationIds: [e.observationId] });
        }
      },
    });
  }

  start(): void {
    this.sync();
    this.watcher.start();
    this.timer = setInterval(() => this.sync(), this.opts.syncMs ?? 2000);
    this.timer.unref?.();
  }

  /** Applies the kept list to the watcher: new folders watched, forgotten ones dropped, settings and pauses followed. */
  sync(): void {
    let rows: FolderRow[];
    try {
      rows = this.folders.list({ counted: false }).filter((f) => f.watch);
    } catch {
      return; // a database busy past its timeout: the next tick tries again
    }
    const next = new Map(rows.map((r) => [r.path, JSON.stringify([r.location, r.visit, r.tiles, r.paused])]));
    let changed = false;
    for (const r of rows) {
      if (this.applied.get(r.path) === next.get(r.path)) continue;
      this.watcher.add(watchFolderOf(r), { paused: r.paused });
      changed = true;
    }
    for (const p of this.applied.keys()) {
      if (next.has(p)) continue;
      void this.watcher.remove(p);
      changed = true;
    }
    this.applied = next;
    if (changed) this.emit({ type: 'import-folders' });
  }

  private info(row: FolderRow, statuses: Map<string, FolderStatus>): ImportFolder {
    return { ...row, status: row.watch ? (statuses.get(row.path) ?? null) : null };
  }

  list(): ImportFolder[] {
    const statuses = new Map(this.watcher.status().map((s) => [s.path, s]));
    return this.folders.list().map((r) => this.info(r, statuses));
  }

  private one(folder: string): ImportFolder {
    const row = this.folders.get(folder);
    if (!row) throw new NotFoundError(`${folder} is not an import folder (add it first)`);
    return this.info(row, new Map(this.watcher.status().map((s) => [s.path, s])));
  }

  add(p: ParsedParams<'addImportFolder'>): ImportFolder {
    const key = folderKey(p.path);
    let st: fs.Stats;
    try {
      st = fs.statSync(key);
    } catch {
      throw new PathNotFoundError(`${p.path}: no such folder (the path is read on the machine running the engine)`);
    }
    if (!st.isDirectory())
      throw new InvalidRequestError(`${p.path} is a file: only folders can be kept and watched; import files with Start import`);
    this.folders.save(key, { location: p.location, visit: p.visit, tiles: p.tiles, watch: p.watch });
    this.sync();
    return this.one(key);
  }

  remove(folder: string): { ok: true } {
    if (!this.folders.remove(folder)) throw new NotFoundError(`${folder} is not an import folder`);
    this.sync();
    return { ok: true };
  }

  setPaused(folder: string, paused: boolean): ImportFolder {
    if (!this.folders.setPaused(folder, paused)) throw new NotFoundError(`${folder} is not an import folder`);
    this.sync();
    return this.one(folder);
  }

  /** Stops watching; batches in flight write their photos in flight (at most `timeoutMs`). */
  async stop(timeoutMs: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.watcher.stop(timeoutMs);
  }

  idle(): Promise<void> {
    return this.watcher.idle();
  }
}
