import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuditStore } from './db/store';
import { PathNotFoundError } from './errors';
import { runAudit, type TilesOption } from './audit';
import { immediate, type Db } from './db';
import type { AuditEvent } from '../../shared/domain';
import type { EngineEvent, ImportInfo } from '../../shared/rpc';
import type { EngineService } from './service';

/**
 * Imports started from the UI: each runs the batch audit in this process (inference in its worker
 * thread), one at a time in start order, with live progress and cancel.
 */
export class ImportManager implements EngineService {
  private readonly infos = new Map<string, ImportInfo>();
  private readonly controllers = new Map<string, AbortController>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly emit: (e: EngineEvent) => void,
    private readonly defaults: { provider?: 'auto' | 'cpu' | 'cuda' | 'dml' } = {},
  ) {}

  startImport(p: {
    paths: string[];
    location?: string;
    model?: string;
    tiles?: TilesOption;
    /** Detections below it are not kept (default: the audit's). */
    confThreshold?: number;
  }): { importId: string } {
    for (const f of p.paths)
      if (!fs.existsSync(f))
        throw new PathNotFoundError(`${f}: no such file or folder (the path is read on the machine running the engine)`);
    this.remember(p.paths, p.location);
    const importId = `imp_${crypto.randomUUID().slice(0, 8)}`;
    const info: ImportInfo = {
      importId,
      paths: p.paths,
      startedAt: new Date().toISOString(),
      state: 'running',
      done: 0,
      total: 0,
      failed: 0,
      photosPerSecond: 0,
      errorsByReason: [],
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
          ...p,
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

  /** Keeps the imported folders (and files) in import_folders, for the list of import folders. */
  private remember(paths: string[], location: string | undefined): void {
    const t = new Date().toISOString();
    const locationId = location ? new AuditStore(this.db).locationId(location) : null;
    const upsert = this.db.prepare(
      `INSERT INTO import_folders (path, location_id, added_at, last_import_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(path) DO UPDATE SET last_import_at = excluded.last_import_at, location_id = coalesce(excluded.location_id, location_id)`,
    );
    immediate(this.db, () => {
      for (const p of paths) upsert.run(path.resolve(p), locationId, t, t);
    });
  }

  folders(): { path: string; location: string | null; addedAt: string; lastImportAt: string }[] {
    return this.db
      .prepare<[], { path: string; location: string | null; addedAt: string; lastImportAt: string }>(
        `SELECT f.path, l.name AS location, f.added_at AS addedAt, f.last_import_at AS lastImportAt
         FROM import_folders f LEFT JOIN locations l ON l.id = f.location_id ORDER BY f.last_import_at DESC, f.path`,
      )
      .all();
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
