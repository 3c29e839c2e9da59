/**
 * The composition root of the engine: one EngineHost per open database, whatever hosts it (the
 * Electron shell, `kliq-audit serve`). It opens the database, builds the services on it and owns
 * their life: open → start → close. A new long-lived service (the watcher, sync) is added here, once.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { immediate, openDb, type Db } from './db';
import { ReviewService } from './review';
import { ImportManager } from './imports';
import { BuildingService } from './buildings';
import { ExportManager } from './export/manager';
import { WatchService, type WatchServiceOptions } from './watch-service';
import { loadManifest } from './models/manifest';
import { currentUser } from './paths';
import { PhotoFiles, type PhotoPixels, type PhotoRefused } from './photo-file';
import { SMALL_VIEW, ThumbAborted, ThumbCache, thumbsDirFor, VIEW, type RenditionKind } from './thumbs';
import type { EngineService } from './service';
import { DEFAULT_QUEUE, type EngineEvent } from '../../shared/rpc';
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

/** A thumbnail's JPEG bytes, or why not (404 no such photo, 409 changed, 410 gone, 500 not decodable). */
export type ThumbResult = { ok: true; mimeType: 'image/jpeg'; bytes: Buffer } | { ok: false; status: number; message: string };

class PhotoRefusedError extends Error {
  constructor(readonly refused: PhotoRefused) {
    super(refused.message);
  }
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
  /** Thumbnails of the photos, kept beside the database (./thumbs.ts). */
  readonly thumbs: ThumbCache;
  /** Review's screen-sized views of the photos, kept beside them (./thumbs.ts VIEW). */
  readonly views: ThumbCache;
  /** And their small views, made from the views (./thumbs.ts SMALL_VIEW). */
  readonly smallViews: ThumbCache;
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
      // the views Review will show of the large photos an import audits, made once it is done (not during it:
      // the audit has the cores), rather than when each is first shown
      if ((e.type === 'import' || e.type === 'watch') && e.event.type === 'photo' && e.event.status === 'completed')
        this.auditedPaths.push(path.resolve(e.event.path)); // shown relative to the working folder
      if ((e.type === 'import' || e.type === 'watch') && e.event.type === 'done') {
        const large = this.db.prepare<[string], string>(
          `SELECT o.id FROM observation_sources s JOIN observations o ON o.id = s.observation_id
           WHERE s.path IN (SELECT value FROM json_each(?)) AND max(o.width, o.height) > ${VIEW.size}`,
        );
        void this.warmViews(large.pluck().all(JSON.stringify(this.auditedPaths.splice(0))));
      }
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
    this.thumbs = new ThumbCache(thumbsDirFor(db.name));
    this.views = new ThumbCache(thumbsDirFor(db.name), VIEW);
    this.smallViews = new ThumbCache(thumbsDirFor(db.name), SMALL_VIEW);
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
   * Reads what the UI asks for first (the default queue's first page and its counts) once, so that a
   * restarted app answers its first page warm: its statements prepared, the pages of its indexes and
   * the facet tables read, the code that serves them compiled. The hosts call it before they announce
   * themselves (serve: ~30–100 ms at 100 000 photos, before it prints its URL). Never throws.
   */
  warmQueue(): void {
    try {
      this.review.queue({ ...DEFAULT_QUEUE, offset: 0, limit: 100 });
      this.review.queueCounts({ filter: DEFAULT_QUEUE.filter });
    } catch {
      // a database that cannot answer says so on the first real request
    }
  }

  /**
   * Stops the services (work in flight gets `timeoutMs` to write what it finished), then closes the
   * database if this host opened it. Safe to call twice.
   */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.viewsToMake.length = 0;
    const timeoutMs = opts.timeoutMs ?? 5000;
    await Promise.all([...this.services].reverse().map((s) => s.stop(timeoutMs)));
    this.listeners.clear();
    await this.checkpoints.stop(timeoutMs);
    if (this.own.ownsDb) this.db.close();
  }

  private readonly viewsToMake: string[] = [];
  private readonly auditedPaths: string[] = [];
  private viewsMaking: Promise<void> | null = null;

  /**
   * Makes the screen-sized views (./thumbs.ts VIEW, SMALL_VIEW) of these photos in the background, one at a time
   * (within the lazy limit, so a page's own requests still get a slot); resolves when every view asked
   * for so far is kept. Done after each import, so Review shows a photo without making its view first.
   */
  warmViews(observationIds: string[]): Promise<void> {
    this.viewsToMake.push(...observationIds);
    this.viewsMaking ??= this.makeViews();
    return this.viewsMaking;
  }

  private async makeViews(): Promise<void> {
    try {
      for (let id = this.viewsToMake.shift(); id !== undefined && this.state !== 'closed'; id = this.viewsToMake.shift())
        for (const kind of ['view', 'small'] as const) await this.openThumb(id, { kind }).catch(() => undefined);
    } finally {
      this.viewsMaking = null; // in the same turn as the last shift(): an id pushed later starts a new run
    }
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
   * A photo's thumbnail for the hosts (serve's /thumb, Electron's kliq-photo://<id>/thumb): the one kept
   * for its content, else made now from the photo's checked bytes (openPhoto: a file that changed or is
   * gone gives the same 409/410 and message) within the process-wide limit of lazy thumbnails; a request
   * whose `signal` aborts while it waits for a slot is dropped (499).
   */
  async openThumb(observationId: string, opts: { signal?: AbortSignal; kind?: RenditionKind } = {}): Promise<ThumbResult> {
    const cache = opts.kind === 'view' ? this.views : opts.kind === 'small' ? this.smallViews : this.thumbs;
    if (opts.kind === 'view' || opts.kind === 'small') {
      // a view stands for the photo: refused as the photo is when its file changed or is gone, even when kept
      const photo = await this.photos.open(observationId);
      if (!photo.ok) return { ok: false, status: photo.status, message: photo.message };
      await photo.close();
    }
    const row = this.db
      .prepare<[string], { sha256: string | null; mime_type: string | null }>('SELECT sha256, mime_type FROM observations WHERE id = ?')
      .get(observationId);
    if (!row?.sha256 || !row.mime_type) return { ok: false, status: 404, message: 'no such photo' };
    const photo = async () => {
      const photo = await this.photos.open(observationId);
      if (!photo.ok) throw new PhotoRefusedError(photo);
      const chunks: Buffer[] = [];
      for await (const c of photo.stream()) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    };
    // a small view is made from the view (kept, or made now in the same slot: a quarter of the pixels to decode)
    const source = opts.kind === 'small' ? () => this.views.get(row.sha256!, photo) : photo;
    try {
      return { ok: true, mimeType: 'image/jpeg', bytes: await cache.getBounded(row.sha256, source, opts.signal) };
    } catch (err) {
      if (err instanceof PhotoRefusedError) return { ok: false, status: err.refused.status, message: err.refused.message };
      if (err instanceof ThumbAborted) return { ok: false, status: 499, message: err.message };
      return { ok: false, status: 500, message: `cannot make a thumbnail of the photo: ${(err as Error).message.split('\n')[0]}` };
    }
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
