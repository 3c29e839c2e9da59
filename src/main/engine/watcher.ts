/**
 * Watched import folders: photos that a phone sync tool, a card reader or a colleague copies in are
 * audited without anyone pressing a button.
 *
 * - chokidar 4 (no globs: the filter is code, isWatchedPhoto), with awaitWriteFinish, so a file still
 *   being copied is read only once its size has stayed the same for `stableMs`.
 * - Hidden and temporary files (.tmp-*, ~$*, *.part, *.crdownload, .DS_Store…) are ignored until they
 *   are renamed to a photo name (the rename is an `add`).
 * - Events are batched (every `batchMs`, at most BATCH_MAX files) and each batch is one runAudit, one at
 *   a time; on start chokidar reports every file already there, so what arrived while nothing watched is
 *   picked up, and content hashes make sure nothing is inferred twice.
 * - Out of inotify watches (Linux): says which sysctl to raise and goes on by polling.
 */
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import { runAudit, type TilesOption } from './audit';
import { isPhotoPath } from './ingest/scan';
import type { Db } from './db';
import type { EngineService } from './service';
import type { AuditEvent, ProviderChoice } from '../../shared/domain';

/** Hidden files, office lock files, and the temporary names copy and download tools write to first. */
const TEMPORARY = [/^\./, /^~\$/, /\.(tmp|temp|part|partial|crdownload|download|swp)$/i, /^thumbs\.db$/i, /^desktop\.ini$/i];

export function isIgnoredName(file: string): boolean {
  const base = path.basename(file);
  return TEMPORARY.some((re) => re.test(base));
}

/** A file the watcher audits: a photo name, not hidden or temporary. */
export function isWatchedPhoto(file: string): boolean {
  return isPhotoPath(file) && !isIgnoredName(file);
}

export interface WatchFolder {
  path: string;
  location?: string;
  tiles?: TilesOption;
  metadata?: Record<string, string>;
}

export type WatchEvent =
  | { type: 'watching'; folders: string[]; polling: boolean; note: string | null }
  | { type: 'batch'; files: number; folder: string }
  | { type: 'audit'; event: AuditEvent }
  | { type: 'batch-done'; folder: string; completed: number; cached: number; failed: number; elapsedMs: number; lastPhoto: string | null }
  | { type: 'removed'; path: string }
  | { type: 'error'; message: string };

export interface WatcherOptions {
  provider?: ProviderChoice;
  model?: string;
  /** Quiet time before a batch starts (ms). */
  batchMs?: number;
  /** A file is read once its size has not changed for this long (ms). */
  stableMs?: number;
  /** Poll instead of native events (network folders; also the fallback when inotify runs out). */
  usePolling?: boolean;
  onEvent?: (e: WatchEvent) => void;
}

const BATCH_MAX = 200;

export class FolderWatcher implements EngineService {
  private watcher: FSWatcher | null = null;
  private readonly queue = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private controller = new AbortController();
  private stopped = false;
  private polling: boolean;

  constructor(
    private readonly db: Db,
    private readonly folders: WatchFolder[],
    private readonly opts: WatcherOptions = {},
  ) {
    this.polling = opts.usePolling ?? false;
    this.folders = folders.map((f) => ({ ...f, path: path.resolve(f.path) }));
  }

  private emit(e: WatchEvent): void {
    this.opts.onEvent?.(e);
  }

  start(note: string | null = null): void {
    if (this.stopped) return;
    const stableMs = this.opts.stableMs ?? 1000;
    const w = chokidar.watch(
      this.folders.map((f) => f.path),
      {
        ignoreInitial: false,
        persistent: true,
        usePolling: this.polling,
        interval: 500,
        ignorePermissionErrors: true,
        awaitWriteFinish: { stabilityThreshold: stableMs, pollInterval: Math.min(100, stableMs) },
        ignored: (p, stats) => this.ignored(p, stats),
      },
    );
    this.watcher = w;
    w.on('add', (p) => this.enqueue(p));
    w.on('change', (p) => this.enqueue(p));
    w.on('unlink', (p) => {
      if (isWatchedPhoto(p)) this.emit({ type: 'removed', path: p });
    });
    w.on('error', (err) => this.onError(err as NodeJS.ErrnoException));
    w.on('ready', () => this.emit({ type: 'watching', folders: this.folders.map((f) => f.path), polling: this.polling, note }));
  }

  /** Files that are not photos, and hidden or temporary files and folders (they wait for their rename); never a watched root. */
  private ignored(p: string, stats?: { isFile(): boolean }): boolean {
    const abs = path.resolve(p);
    if (this.folders.some((f) => f.path === abs)) return false;
    if (stats?.isFile()) return !isWatchedPhoto(abs);
    return isIgnoredName(abs);
  }

  private onError(err: NodeJS.ErrnoException): void {
    if ((err.code === 'ENOSPC' || err.code === 'EMFILE') && !this.polling) {
      const note =
        'the system ran out of file watches (inotify): watching by polling instead, which is slower. ' +
        'To raise the limit: sudo sysctl fs.inotify.max_user_watches=524288 (and add it to /etc/sysctl.conf).';
      this.polling = true;
      void this.watcher?.close().then(() => this.start(note));
      return;
    }
    this.emit({ type: 'error', message: `watching failed: ${err.message}` });
  }

  private enqueue(file: string): void {
    if (this.stopped || !isWatchedPhoto(file)) return;
    this.queue.add(path.resolve(file));
    if (this.queue.size >= BATCH_MAX) this.flush();
    else {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), this.opts.batchMs ?? 500);
    }
  }

  private folderOf(file: string): WatchFolder {
    let best = this.folders[0];
    for (const f of this.folders) if (file.startsWith(f.path + path.sep) && f.path.length >= best.path.length) best = f;
    return best;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.queue.size) return;
    const files = [...this.queue];
    this.queue.clear();
    const byFolder = new Map<WatchFolder, string[]>();
    for (const f of files) {
      const folder = this.folderOf(f);
      byFolder.set(folder, [...(byFolder.get(folder) ?? []), f]);
    }
    for (const [folder, batch] of byFolder) {
      this.chain = this.chain.then(() => this.audit(folder, batch));
    }
  }

  private async audit(folder: WatchFolder, files: string[]): Promise<void> {
    if (this.stopped) return;
    this.emit({ type: 'batch', files: files.length, folder: folder.path });
    const t0 = performance.now();
    let lastPhoto: string | null = null;
    try {
      const report = await runAudit({
        paths: files,
        db: this.db,
        provider: this.opts.provider,
        model: this.opts.model,
        location: folder.location,
        tiles: folder.tiles,
        metadata: folder.metadata,
        collect: false,
        signal: this.controller.signal,
        onEvent: (event) => {
          if (event.type === 'photo') lastPhoto = event.path;
          this.emit({ type: 'audit', event });
        },
      });
      const c = report.counts;
      this.emit({
        type: 'batch-done',
        folder: folder.path,
        completed: c.completed,
        cached: c.cached,
        failed: c.failed,
        elapsedMs: Math.round(performance.now() - t0),
        lastPhoto,
      });
    } catch (err) {
      // a vanished file between the event and the scan, a model that cannot load…: say so, keep watching
      this.emit({ type: 'error', message: (err as Error).message });
    }
  }

  /** Stops watching; the batch in flight finishes its photos in flight (at most `timeoutMs`). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.clear();
    await this.watcher?.close();
    this.controller.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Resolves when every batch so far has been audited. */
  idle(): Promise<void> {
    return this.chain;
  }
}
