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
import type { AuditEvent, ProviderChoice } from '../../shared/domain';
import { SyncService, type SyncConfig } from './sync/service';
import { MemorySecretStore, SettingsService, secretsFromEnv, type SettingsServiceOptions } from './settings';
import { userDataDir } from './paths';
import { WalCheckpointer } from './db/checkpoint';

export interface HostOptions {
  /** Who makes the edits (corrections.who). */
  user: string;
  /** Labels the catalog picker offers besides the imported SKUs (default: the default model's). */
  modelLabels?: string[];
  /** Execution provider for imports started from the UI. */
  provider?: ProviderChoice;
  /** The KLIQ API to sync to in the background given on the command line (serve --api); else the settings' (Settings screen). */
  sync?: SyncConfig | null;
  /** The watched import folders (timings; tests shorten them). */
  watch?: Omit<WatchServiceOptions, 'provider'>;
  /** Settings file folder and secret store (default: the user-data folder, secrets from the environment, in memory). */
  settings?: Partial<SettingsServiceOptions>;
}

export class EngineHost {
  readonly review: ReviewService;
  readonly imports: ImportManager;
  readonly sync: SyncService;
  readonly buildings: BuildingService;
  readonly exports: ExportManager;
  readonly watch: WatchService;
  readonly settings: SettingsService;
  private readonly services: EngineService[];
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly photos: PhotoFiles;
  /** WAL checkpoints in a worker thread, so that no commit on this thread pays for one (db/checkpoint.ts). */
  readonly checkpoints: WalCheckpointer;
  private state: 'open' | 'started' | 'closed' = 'open';

  /** Opens the database file (created and migrated when needed) and builds the host on it; close() closes it. */
  static open(dbFile: string, opts: Partial<HostOptions> = {}): EngineHost {
    const db = openDb(dbFile);
    try {
      const manifest = loadManifest();
      const labels = opts.modelLabels ?? manifest.models.find((m) => m.name === manifest.default)?.labels ?? [];
      return new EngineHost(
        db,
        {
          user: opts.user ?? currentUser(),
          provider: opts.provider,
          modelLabels: labels,
          sync: opts.sync,
          watch: opts.watch,
          settings: opts.settings,
        },
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
    this.settings = new SettingsService({
      dir: userDataDir(),
      secrets: new MemorySecretStore(secretsFromEnv()),
      host: 'serve',
      providerOverride: opts.provider,
      ...opts.settings,
    });
    const emit = (e: EngineEvent) => {
      // the provider really running, from any audit of this host (imports, watched folders)
      const audit = (e as { event?: AuditEvent }).event;
      if (audit?.type === 'model') this.settings.noteAuditEvent(audit);
      for (const l of this.listeners) l(e);
      // what was just written (an edit, a photo audited) goes to the KLIQ API soon
      if (e.type === 'changed' || ((e.type === 'import' || e.type === 'watch') && e.event.type === 'photo')) this.sync?.nudge();
    };
    this.review = new ReviewService(db, {
      user: opts.user,
      modelLabels: opts.modelLabels,
      onChanged: (ids) => emit({ type: 'changed', observationIds: ids }),
      onBulkProgress: (bulkId, done, total) => emit({ type: 'bulk', bulkId, done, total }),
    });
    const settings = this.settings;
    this.imports = new ImportManager(db, emit, {
      get provider() {
        return settings.provider();
      },
      settings: () => settings.importDefaults({}),
    });
    // sync: to the API given on the command line, else to the one in the settings (read again when they change)
    this.sync = new SyncService(db, opts.sync !== undefined ? opts.sync : () => settings.syncConfig(), (status) =>
      emit({ type: 'sync', status }),
    );
    if (opts.sync === undefined) settings.onChange(() => void this.sync.reconfigure());
    this.buildings = new BuildingService(db, { user: opts.user, onChanged: (ids) => emit({ type: 'changed', observationIds: ids }) });
    this.exports = new ExportManager(db, emit);
    this.watch = new WatchService(db, emit, {
      ...opts.watch,
      get provider() {
        return settings.provider();
      },
    });
    // on close each gets the same bounded time: imports, exports and the watcher write their last results, sync ends its requests
    this.services = [this.sync, this.imports, this.exports, this.watch];
    this.photos = new PhotoFiles(db);
    this.checkpoints = new WalCheckpointer(db);
  }

  /** Starts the long-lived services. */
  start(): this {
    if (this.state !== 'open') return this;
    if (this.own.ownsDb) this.checkpoints.start();
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
    await this.checkpoints.stop(timeoutMs);
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
