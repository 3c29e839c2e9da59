/**
 * The composition root of the engine: one EngineHost per open database, whatever hosts it (the
 * Electron shell, `kliq-audit serve`). It opens the database, builds the services on it and owns
 * their life: open → start → close. A new long-lived service (the watcher, sync) is added here, once.
 */
import crypto from 'node:crypto';
import { immediate, openDb, type Db } from './db';
import { ReviewService } from './review';
import { ImportManager } from './imports';
import { BuildingService } from './buildings';
import { ExportManager } from './export/manager';
import { WatchService, type WatchServiceOptions } from './watch-service';
import { loadManifest } from './models/manifest';
import { currentUser } from './paths';
import { PhotoFiles, type PhotoPixels, type PhotoRefused } from './photo-file';
import type { EngineService } from './service';
import type { EngineEvent } from '../../shared/rpc';
import type { ProviderChoice } from '../../shared/domain';
import { SyncService, type SyncConfig } from './sync/service';

export interface HostOptions {
  /** Who makes the edits (corrections.who). */
  user: string;
  /** Labels the catalog picker offers besides the imported SKUs (default: the default model's). */
  modelLabels?: string[];
  /** Execution provider for imports started from the UI. */
  provider?: ProviderChoice;
  /** The KLIQ API to sync to in the background (serve --api, the desktop app's settings); none: items wait in the outbox. */
  sync?: SyncConfig | null;
  /** The watched import folders (timings; tests shorten them). */
  watch?: Omit<WatchServiceOptions, 'provider'>;
}

export class EngineHost {
  readonly review: ReviewService;
  readonly imports: ImportManager;
  readonly sync: SyncService;
  readonly buildings: BuildingService;
  readonly exports: ExportManager;
  readonly watch: WatchService;
  private readonly services: EngineService[];
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly photos: PhotoFiles;
  private state: 'open' | 'started' | 'closed' = 'open';

  /** Opens the database file (created and migrated when needed) and builds the host on it; close() closes it. */
  static open(dbFile: string, opts: Partial<HostOptions> = {}): EngineHost {
    const db = openDb(dbFile);
    try {
      const manifest = loadManifest();
      const labels = opts.modelLabels ?? manifest.models.find((m) => m.name === manifest.default)?.labels ?? [];
      return new EngineHost(
        db,
        { user: opts.user ?? currentUser(), provider: opts.provider, modelLabels: labels, sync: opts.sync, watch: opts.watch },
        { ownsDb: true },
      );
    } catch (err) {
      db.close();
      throw err;
    }
  }

  constructor(
    readonly db: Db,
    opts: HostOptions,
    private readonly own: { ownsDb?: boolean } = {},
  ) {
    const emit = (e: EngineEvent) => {
      for (const l of this.listeners) l(e);
      // what was just written (an edit, a photo audited) goes to the KLIQ API soon
      if (e.type === 'changed' || ((e.type === 'import' || e.type === 'watch') && e.event.type === 'photo')) this.sync?.nudge();
    };
    this.review = new ReviewService(db, {
      user: opts.user,
      modelLabels: opts.modelLabels,
      onChanged: (ids) => emit({ type: 'changed', observationIds: ids }),
    });
    this.imports = new ImportManager(db, emit, { provider: opts.provider });
    this.sync = new SyncService(db, opts.sync ?? null, (status) => emit({ type: 'sync', status }));
    this.buildings = new BuildingService(db, { user: opts.user, onChanged: (ids) => emit({ type: 'changed', observationIds: ids }) });
    this.exports = new ExportManager(db, emit);
    this.watch = new WatchService(db, emit, { ...opts.watch, provider: opts.provider });
    // on close each gets the same bounded time: imports, exports and the watcher write their last results, sync ends its requests
    this.services = [this.sync, this.imports, this.exports, this.watch];
    this.photos = new PhotoFiles(db);
  }

  /** Starts the long-lived services. */
  start(): this {
    if (this.state !== 'open') return this;
    for (const s of this.services) s.start();
    this.state = 'started';
    return this;
  }

  /**
   * Stops the services (work in flight gets `timeoutMs` to write what it finished), then closes the
   * database if this host opened it. Safe to call twice.
   */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    const timeoutMs = opts.timeoutMs ?? 5000;
    await Promise.all([...this.services].reverse().map((s) => s.stop(timeoutMs)));
    this.listeners.clear();
    if (this.own.ownsDb) this.db.close();
  }

  /**
   * A photo's pixels for the hosts that serve them (serve's /photo, Electron's kliq-photo:): the file
   * opened once and checked on its handle against what was audited (size and mtime, else sha256), or
   * why not: 'not-found' (404), 'changed' (409: re-import it), 'gone' (410). See ./photo-file.ts.
   */
  openPhoto(observationId: string): Promise<PhotoPixels | PhotoRefused> {
    return this.photos.open(observationId);
  }

  /**
   * The access token of `kliq-audit serve` for this database, kept in its settings ('serve_token') so
   * that a restart keeps the printed URL (and open pages) valid; created on first use, replaced when
   * `rotate` (`--new-token`). It guards nothing the database file does not already hold.
   */
  serveToken(opts: { rotate?: boolean } = {}): string {
    return immediate(this.db, () => {
      const row = this.db.prepare<[], { value: string }>("SELECT value FROM settings WHERE key = 'serve_token'").get();
      if (row && !opts.rotate) return row.value;
      const token = crypto.randomBytes(24).toString('base64url');
      this.db
        .prepare("INSERT INTO settings (key, value) VALUES ('serve_token', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        .run(token);
      return token;
    });
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
