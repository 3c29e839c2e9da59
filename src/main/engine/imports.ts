import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FolderStore, savedSettings } from './db/folders';
import { PathNotFoundError } from './errors';
import { runAudit, type TilesOption } from './audit';
import type { Db } from './db';
import type { AuditEvent } from '../../shared/domain';
import type { EngineEvent, ImportInfo, Result, SkippedPhoto } from '../../shared/rpc';
import type { EngineService } from './service';

/** Failed files named in an import's info (the rest are counted by reason). */
const FAILURES_NAMED = 50;
/** Files of a re-audit listed in its info. */
const REAUDIT_PATHS_SHOWN = 20;

/**
 * Imports started from the UI: each runs the batch audit in this process (inference in its worker
 * thread), one at a time in start order, with live progress and cancel.
 */
export class ImportManager implements EngineService {
  private readonly infos = new Map<string, ImportInfo>();
  private readonly controllers = new Map<string, AbortController>();
  private chain: Promise<void> = Promise.resolve();
  private readonly folders: FolderStore;

  constructor(
    private readonly db: Db,
    private readonly emit: (e: EngineEvent) => void,
    private readonly defaults: {
      provider?: 'auto' | 'cpu' | 'cuda' | 'dml';
      /** What an import takes when neither the request nor the folder's kept settings say (the Settings screen). */
      settings?: () => { model?: string; tiles?: TilesOption; confThreshold?: number };
    } = {},
  ) {
    this.folders = new FolderStore(db);
  }

  startImport(p: {
    paths: string[];
    location?: string;
    visit?: string;
    model?: string;
    tiles?: TilesOption;
    /** Detections below it are not kept (default: the audit's). */
    confThreshold?: number;
    /** Chosen photos audited again (see reaudit): no import folder is kept or consulted. */
    reaudit?: boolean;
  }): { importId: string } {
    for (const f of p.paths)
      if (!fs.existsSync(f))
        throw new PathNotFoundError(`${f}: no such file or folder (the path is read on the machine running the engine)`);
    // a re-import of kept folders uses their settings where none are given
    const saved = p.reaudit ? {} : savedSettings(this.folders, p.paths);
    const location = p.location || saved.location;
    const visit = p.visit || saved.visit;
    const fallback = this.defaults.settings?.() ?? {};
    // the request, else the folder's kept settings, else the Settings screen's
    const tiles = p.tiles ?? saved.tiles ?? fallback.tiles;
    const model = p.model ?? fallback.model;
    const confThreshold = p.confThreshold ?? fallback.confThreshold;
    if (!p.reaudit)
      this.folders.saveAll(p.paths, { location: p.location || undefined, visit: p.visit || undefined, tiles: p.tiles, imported: true });
    const importId = `imp_${crypto.randomUUID().slice(0, 8)}`;
    const info: ImportInfo = {
      importId,
      // a re-audit may hold thousands of files: its events carry the first ones and a label
      paths: p.reaudit ? p.paths.slice(0, REAUDIT_PATHS_SHOWN) : p.paths,
      label: p.reaudit ? `Re-audit of ${p.paths.length} photo${p.paths.length === 1 ? '' : 's'}` : null,
      startedAt: new Date().toISOString(),
      state: 'running',
      done: 0,
      total: 0,
      failed: 0,
      photosPerSecond: 0,
      errorsByReason: [],
      failures: [],
      error: null,
    };
    this.infos.set(importId, info);
    const controller = new AbortController();
    this.controllers.set(importId, controller);
    const reasons = new Map<string, number>();
    const onEvent = (event: AuditEvent) => {
      if (event.type === 'progress')
        Object.assign(info, { done: event.done, total: event.total, failed: event.failed, photosPerSecond: event.photosPerSecond });
      if (event.type === 'scan') info.total = event.files;
      if (event.type === 'photo' && event.error) {
        // group by the reason, not the file: "file is 21.0 MB; …" and "file is 30.2 MB; …" are one reason
        const reason = event.error
          .replace(/\d+(\.\d+)?/g, 'N')
          .replace(/\(.*\)$/, '')
          .trim();
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        info.errorsByReason = [...reasons].map(([name, n]) => ({ name, n })).sort((a, b) => b.n - a.n);
        // and by file, so the auditor knows which photo to look at
        if (info.failures.length < FAILURES_NAMED) info.failures.push({ path: event.path, error: event.error });
      }
      this.emit({ type: 'import', importId, event });
      if (event.type === 'progress' || event.type === 'scan') this.emit({ type: 'import-state', info: { ...info } });
    };
    this.chain = this.chain.then(async () => {
      try {
        if (controller.signal.aborted) {
          info.state = 'cancelled';
          return;
        }
        const report = await runAudit({
          paths: p.paths,
          model,
          location,
          tiles,
          confThreshold,
          metadata: visit ? { visit_id: visit } : undefined,
          db: this.db,
          provider: this.defaults.provider,
          collect: false,
          signal: controller.signal,
          onEvent,
        });
        info.state = report.cancelled ? 'cancelled' : 'done';
      } catch (err) {
        info.state = 'failed';
        info.error = (err as Error).message;
      } finally {
        this.controllers.delete(importId);
        this.emit({ type: 'import-state', info: { ...info } });
      }
    });
    this.emit({ type: 'import-state', info: { ...info } });
    return { importId };
  }

  /**
   * Audits chosen photos again with other settings (model, confidence, tiles): an import of their files.
   * The new result becomes current only where nobody has reviewed or corrected the photo (the store's
   * rule). A photo whose file was deleted, is missing, or holds another photo now is skipped and named.
   */
  reaudit(
    files: { rows: { id: string; sourcePath: string; sourceState: 'present' | 'deleted' | 'changed' }[]; missing: string[] },
    p: { model?: string; confThreshold?: number; tiles?: TilesOption },
  ): Result<'reauditPhotos'> {
    const skipped: SkippedPhoto[] = files.missing.map((id) => ({ observationId: id, fileName: id, reason: 'no such photo' }));
    const paths = new Set<string>();
    for (const r of files.rows) {
      const fileName = path.basename(r.sourcePath);
      if (r.sourceState === 'deleted') skipped.push({ observationId: r.id, fileName, reason: 'the file was deleted' });
      else if (r.sourceState === 'changed') skipped.push({ observationId: r.id, fileName, reason: 'the file holds another photo now' });
      else if (!fs.existsSync(r.sourcePath)) skipped.push({ observationId: r.id, fileName, reason: 'the file is missing' });
      else paths.add(r.sourcePath);
    }
    const settings = { model: p.model, confThreshold: p.confThreshold, tiles: p.tiles };
    const importId = paths.size ? this.startImport({ paths: [...paths], ...settings, reaudit: true }).importId : null;
    return { importId, photos: paths.size, skippedCount: skipped.length, skipped: skipped.slice(0, 100) };
  }

  cancel(importId: string): { ok: true } {
    this.controllers.get(importId)?.abort();
    return { ok: true };
  }

  list(): ImportInfo[] {
    return [...this.infos.values()].map((i) => ({ ...i })).reverse();
  }

  start(): void {
    // imports start on request; nothing runs in the background yet
  }

  /** Cancels running imports and waits (at most `timeoutMs`) for the photos in flight to be written. */
  async stop(timeoutMs: number): Promise<void> {
    for (const c of this.controllers.values()) c.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Resolves when every started import has ended. */
  idle(): Promise<void> {
    return this.chain;
  }
}
