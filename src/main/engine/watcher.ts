/**
 * Watched import folders: photos that a phone sync tool, a card reader or a colleague copies in are
 * audited without anyone pressing a button.
 *
 * - One chokidar 4 watcher per folder (no globs: the filter is code, isWatchedPhoto), with
 *   awaitWriteFinish, so a file still being copied is read only once its size has stayed the same for
 *   `stableMs`. Folders can be added, removed, paused and resumed while the others keep going.
 * - Hidden and temporary files (.tmp-*, ~$*, *.part, *.crdownload, .DS_Store…) are ignored until they
 *   are renamed to a photo name (the rename is an `add`).
 * - Events are batched per folder (every `batchMs`, at most BATCH_MAX files); each batch is one runAudit
 *   with the folder's settings, one batch at a time for all folders. On start chokidar reports every file
 *   already there, so what arrived while nothing watched is picked up (content hashes make sure nothing is
 *   inferred twice), and files recorded under the folder that are gone are marked deleted.
 * - A deleted photo is recorded (its observation keeps its results, marked deleted); a moved or renamed
 *   one keeps its observation (the new path is added to its sources); new bytes at a path are a new
 *   observation (the old one is kept, marked changed). See AuditStore.
 * - A watched folder that is deleted waits, 'missing', and is watched again when it comes back; an
 *   unreadable sub-folder is reported (the rest is watched); out of inotify watches or instances (Linux),
 *   the folder says which sysctl to raise and goes on by polling.
 */
import fs from 'node:fs';
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import { runAudit, type TilesOption } from './audit';
import { isPhotoPath } from './ingest/scan';
import { AuditStore } from './db/store';
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

/** 'watching' (native events), 'polling' (the fallback), 'paused', 'missing' (deleted: waiting for it), 'error' (see reason). */
export const FOLDER_STATES = ['starting', 'watching', 'polling', 'paused', 'missing', 'error'] as const;
export type FolderState = (typeof FOLDER_STATES)[number];

export interface FolderStatus {
  path: string;
  state: FolderState;
  /** Why it polls, is missing, or is in error. */
  reason: string | null;
  /** Problems that do not stop the folder (an unreadable sub-folder…), latest last. */
  warnings: string[];
  /** Photos waiting to be audited or in the batch being audited. */
  queued: number;
  lastPhoto: string | null;
  lastPhotoAt: string | null;
}

export type WatchEvent =
  | { type: 'watching'; folders: string[]; polling: boolean; note: string | null }
  | { type: 'state'; status: FolderStatus }
  | { type: 'batch'; files: number; folder: string }
  | { type: 'audit'; folder: string; event: AuditEvent }
  | { type: 'batch-done'; folder: string; completed: number; cached: number; failed: number; elapsedMs: number; lastPhoto: string | null }
  | { type: 'removed'; path: string; observationId: string | null }
  | { type: 'warning'; folder: string; message: string }
  | { type: 'error'; folder: string | null; message: string };

export interface WatcherOptions {
  provider?: ProviderChoice;
  model?: string;
  /** Quiet time before a batch starts (ms). */
  batchMs?: number;
  /** A file is read once its size has not changed for this long (ms). */
  stableMs?: number;
  /** Poll instead of native events (network folders; also the fallback when inotify runs out). */
  usePolling?: boolean;
  /** How often a missing or unreadable folder is looked for again (ms). */
  recheckMs?: number;
  onEvent?: (e: WatchEvent) => void;
}

const BATCH_MAX = 200;
const MAX_WARNINGS = 10;

/** The message for a folder that ran out of inotify watches (ENOSPC) or instances (EMFILE). */
export function inotifyMessage(code: string | undefined): string {
  const sysctl =
    code === 'EMFILE'
      ? 'sudo sysctl fs.inotify.max_user_instances=1024 (and add it to /etc/sysctl.conf; if it persists, raise ulimit -n)'
      : 'sudo sysctl fs.inotify.max_user_watches=524288 (and add it to /etc/sysctl.conf)';
  return (
    `the system ran out of file watches (inotify, ${code}): watching by polling instead, which is slower. ` +
    `To raise the limit: ${sysctl}.`
  );
}

interface Unit {
  folder: WatchFolder;
  fsw: FSWatcher | null;
  polling: boolean;
  paused: boolean;
  state: FolderState;
  reason: string | null;
  /** Set while the last batch failed as a whole (a model that cannot load…). */
  auditError: string | null;
  warnings: string[];
  waiting: Set<string>;
  inFlight: number;
  lastPhoto: string | null;
  lastPhotoAt: string | null;
  timer: NodeJS.Timeout | null;
  recheck: NodeJS.Timeout | null;
  /** The watched folder's inode: a folder deleted and made again under the same name is another one to watch. */
  ino: number | null;
  controller: AbortController;
}

export class FolderWatcher implements EngineService {
  private readonly units = new Map<string, Unit>();
  private chain: Promise<void> = Promise.resolve();
  private started = false;
  private stopped = false;
  private readonly store: AuditStore;

  constructor(
    private readonly db: Db,
    folders: WatchFolder[],
    private readonly opts: WatcherOptions = {},
  ) {
    this.store = new AuditStore(db);
    for (const f of folders) this.makeUnit(f);
  }

  private emit(e: WatchEvent): void {
    this.opts.onEvent?.(e);
  }

  private makeUnit(f: WatchFolder): Unit {
    const folder = { ...f, path: path.resolve(f.path) };
    const u: Unit = {
      folder,
      fsw: null,
      polling: this.opts.usePolling ?? false,
      paused: false,
      state: 'starting',
      reason: null,
      auditError: null,
      warnings: [],
      waiting: new Set(),
      inFlight: 0,
      lastPhoto: null,
      lastPhotoAt: null,
      timer: null,
      recheck: null,
      ino: null,
      controller: new AbortController(),
    };
    this.units.set(folder.path, u);
    return u;
  }

  private statusOf(u: Unit): FolderStatus {
    return {
      path: u.folder.path,
      state: u.state,
      reason: u.reason,
      warnings: [...u.warnings],
      queued: u.waiting.size + u.inFlight,
      lastPhoto: u.lastPhoto,
      lastPhotoAt: u.lastPhotoAt,
    };
  }

  private setState(u: Unit, state: FolderState, reason: string | null): void {
    u.state = state;
    u.reason = reason;
    this.changed(u);
  }

  private changed(u: Unit): void {
    if (this.units.get(u.folder.path) === u) this.emit({ type: 'state', status: this.statusOf(u) });
  }

  /** The folders and their state. */
  status(): FolderStatus[] {
    return [...this.units.values()].map((u) => this.statusOf(u));
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const u of this.units.values()) if (!u.paused) this.startUnit(u, null);
  }

  /** Watches one more folder (or updates the settings of one already watched: they apply to the next batch). */
  add(f: WatchFolder, opts: { paused?: boolean } = {}): void {
    if (this.stopped) return;
    const existing = this.units.get(path.resolve(f.path));
    if (existing) {
      Object.assign(existing.folder, { location: f.location, tiles: f.tiles, metadata: f.metadata });
      if (opts.paused !== undefined && opts.paused !== existing.paused) {
        if (opts.paused) void this.pause(existing.folder.path);
        else this.resume(existing.folder.path);
      }
      return;
    }
    const u = this.makeUnit(f);
    if (opts.paused) {
      u.paused = true;
      this.setState(u, 'paused', null);
    } else if (this.started) this.startUnit(u, null);
  }

  /** Stops watching a folder; the photos of its batch in flight are finished, the rest dropped. */
  async remove(folder: string): Promise<void> {
    const u = this.units.get(path.resolve(folder));
    if (!u) return;
    this.units.delete(u.folder.path);
    await this.halt(u);
  }

  /** Stops watching a folder for now (what arrives meanwhile is picked up on resume). */
  async pause(folder: string): Promise<void> {
    const u = this.units.get(path.resolve(folder));
    if (!u || u.paused) return;
    u.paused = true;
    await this.halt(u);
    this.setState(u, 'paused', null);
  }

  resume(folder: string): void {
    const u = this.units.get(path.resolve(folder));
    if (!u || !u.paused || this.stopped) return;
    u.paused = false;
    u.controller = new AbortController();
    this.setState(u, 'starting', null);
    if (this.started) this.startUnit(u, null);
  }

  private async halt(u: Unit): Promise<void> {
    if (u.timer) clearTimeout(u.timer);
    if (u.recheck) clearInterval(u.recheck);
    u.timer = u.recheck = null;
    u.waiting.clear();
    u.controller.abort();
    const w = u.fsw;
    u.fsw = null;
    await w?.close();
  }

  private startUnit(u: Unit, note: string | null): void {
    if (this.stopped || u.paused) return;
    const root = u.folder.path;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.unreadable(u, err as Error);
        return;
      }
    }
    if (!st?.isDirectory()) {
      this.missing(u);
      return;
    }
    try {
      fs.readdirSync(root);
    } catch (err) {
      this.unreadable(u, err as Error);
      return;
    }
    u.ino = st.ino;
    this.recheck(u);
    const stableMs = this.opts.stableMs ?? 1000;
    const w = chokidar.watch(root, {
      ignoreInitial: false,
      persistent: true,
      usePolling: u.polling,
      interval: 500,
      binaryInterval: 500,
      // reported (an unreadable sub-folder), not silently skipped
      ignorePermissionErrors: false,
      awaitWriteFinish: { stabilityThreshold: stableMs, pollInterval: Math.min(100, stableMs) },
      ignored: (p, stats) => this.ignored(root, p, stats),
    });
    u.fsw = w;
    const live = () => u.fsw === w && this.units.get(root) === u;
    w.on('add', (p) => live() && this.enqueue(u, p));
    w.on('change', (p) => live() && this.enqueue(u, p));
    w.on('unlink', (p) => live() && this.unlinked(u, p));
    w.on('unlinkDir', (p) => {
      // closed once chokidar is done with the removal: closed from inside this event, chokidar 4.0.3 leaves
      // an fs.watch handle open (a process that never exits)
      if (live() && path.resolve(p) === root) setTimeout(() => void this.rootGone(u, w), 100);
    });
    w.on('error', (err) => live() && this.onError(u, err as NodeJS.ErrnoException));
    w.on('ready', () => {
      if (!live()) return;
      // files recorded under the folder that are gone were deleted while nothing watched
      try {
        for (const p of this.store.vanishedUnder(root)) this.emit({ type: 'removed', path: p, observationId: null });
      } catch (err) {
        this.emit({ type: 'error', folder: root, message: `could not check for deleted photos: ${(err as Error).message}` });
      }
      this.setState(u, u.auditError ? 'error' : u.polling ? 'polling' : 'watching', u.auditError ?? note);
      this.emit({ type: 'watching', folders: [root], polling: u.polling, note });
    });
  }

  /** Files that are not photos, and hidden or temporary files and folders (they wait for their rename); never the root. */
  private ignored(root: string, p: string, stats?: { isFile(): boolean }): boolean {
    const abs = path.resolve(p);
    if (abs === root) return false;
    if (stats?.isFile()) return !isWatchedPhoto(abs);
    return isIgnoredName(abs);
  }

  /** The folder is not there: say so, and look for it again until it comes back. */
  private missing(u: Unit): void {
    this.setState(u, 'missing', 'the folder does not exist (deleted, moved, or a drive not connected): watching resumes when it is back');
    this.recheck(u);
  }

  private unreadable(u: Unit, err: Error): void {
    this.setState(u, 'error', `cannot read the folder (${err.message}): give this user read access; watching resumes by itself`);
    this.recheck(u);
  }

  /**
   * Every `recheckMs` while the folder is not paused: a missing or unreadable folder is watched again once
   * it is back; a watched folder that is gone, or was deleted and made again (another inode: the watch on
   * the old one sees nothing), is closed and watched again when present (chokidar does not always report
   * the deletion of the folder it watches).
   */
  private recheck(u: Unit): void {
    if (u.recheck || this.stopped) return;
    u.recheck = setInterval(() => {
      if (this.stopped || u.paused || this.units.get(u.folder.path) !== u) return;
      let st: fs.Stats | null = null;
      try {
        st = fs.statSync(u.folder.path);
        // readable again? (only while not watched: listing a large folder every second costs)
        if (!u.fsw && st.isDirectory()) fs.opendirSync(u.folder.path).closeSync();
      } catch {
        st = null;
      }
      const present = !!st?.isDirectory();
      if (u.fsw) {
        if (!present || st!.ino !== u.ino) void this.rootGone(u, u.fsw);
      } else if (present && (u.state === 'missing' || u.state === 'error')) this.startUnit(u, null);
    }, this.opts.recheckMs ?? 1000); // not unref'd: a missing folder is still watched for (the process stays)
  }

  private async rootGone(u: Unit, w: FSWatcher): Promise<void> {
    if (u.fsw !== w) return;
    u.fsw = null;
    await w.close();
    try {
      for (const p of this.store.vanishedUnder(u.folder.path)) this.emit({ type: 'removed', path: p, observationId: null });
    } catch {
      // reported again when the folder comes back
    }
    this.missing(u);
  }

  private onError(u: Unit, err: NodeJS.ErrnoException): void {
    const root = u.folder.path;
    if ((err.code === 'ENOSPC' || err.code === 'EMFILE') && !u.polling) {
      const note = inotifyMessage(err.code);
      u.polling = true;
      const w = u.fsw;
      u.fsw = null;
      void w?.close().then(() => this.startUnit(u, note));
      return;
    }
    const where = (err as { path?: string }).path;
    if ((err.code === 'EACCES' || err.code === 'EPERM') && where && path.resolve(where) !== root) {
      const message =
        `cannot read ${where} (permission denied): its photos are not audited. ` +
        'Give this user read access to it, then pause and resume the folder.';
      if (!u.warnings.includes(message)) {
        u.warnings.push(message);
        if (u.warnings.length > MAX_WARNINGS) u.warnings.shift();
        this.emit({ type: 'warning', folder: root, message });
        this.changed(u);
      }
      return;
    }
    if ((err.code === 'EACCES' || err.code === 'EPERM') && where) {
      const w = u.fsw;
      u.fsw = null;
      void w?.close();
      this.unreadable(u, err);
      return;
    }
    this.emit({ type: 'error', folder: root, message: `watching failed: ${err.message}` });
  }

  private unlinked(u: Unit, file: string): void {
    if (!isWatchedPhoto(file)) return;
    const abs = path.resolve(file);
    if (u.waiting.delete(abs)) this.changed(u);
    let observationId: string | null = null;
    try {
      observationId = this.store.markSourceDeleted(abs);
    } catch (err) {
      this.emit({ type: 'error', folder: u.folder.path, message: `could not record ${abs} as deleted: ${(err as Error).message}` });
    }
    this.emit({ type: 'removed', path: abs, observationId });
  }

  private enqueue(u: Unit, file: string): void {
    if (this.stopped || u.paused || !isWatchedPhoto(file)) return;
    u.waiting.add(path.resolve(file));
    this.changed(u);
    if (u.timer) clearTimeout(u.timer);
    u.timer = null;
    if (u.waiting.size >= BATCH_MAX) this.flush(u);
    else u.timer = setTimeout(() => this.flush(u), this.opts.batchMs ?? 500);
  }

  private flush(u: Unit): void {
    if (u.timer) clearTimeout(u.timer);
    u.timer = null;
    if (!u.waiting.size) return;
    const files = [...u.waiting];
    u.waiting.clear();
    u.inFlight += files.length;
    const controller = u.controller;
    this.chain = this.chain.then(() => this.audit(u, files, controller));
  }

  private async audit(u: Unit, files: string[], controller: AbortController): Promise<void> {
    let left = files.length;
    const settle = () => {
      u.inFlight -= left;
      left = 0;
      this.changed(u);
    };
    if (this.stopped || controller.signal.aborted) return settle();
    const folder = u.folder;
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
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === 'photo') {
            lastPhoto = path.resolve(event.path);
            if (event.status !== 'pending') {
              u.lastPhoto = lastPhoto;
              u.lastPhotoAt = new Date().toISOString();
            }
            left--;
            u.inFlight--;
            this.changed(u);
          }
          this.emit({ type: 'audit', folder: folder.path, event });
        },
      });
      const c = report.counts;
      if (u.auditError) {
        u.auditError = null;
        if (u.state === 'error') this.setState(u, u.polling ? 'polling' : 'watching', null);
      }
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
      // a model that cannot load, a database that refuses writes…: say so, keep watching
      const message = (err as Error).message;
      u.auditError = `the last batch could not be audited: ${message}`;
      if (u.state === 'watching' || u.state === 'polling') this.setState(u, 'error', u.auditError);
      this.emit({ type: 'error', folder: folder.path, message });
    } finally {
      settle();
    }
  }

  /** Stops watching; the batch in flight finishes its photos in flight and writes them (at most `timeoutMs`). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    const units = [...this.units.values()];
    await Promise.all(units.map((u) => this.halt(u)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Resolves when every batch so far has been audited. */
  idle(): Promise<void> {
    return this.chain;
  }
}
