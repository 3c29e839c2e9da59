/**
 * Exports started from the UI (Summary and Queue: what the current filter shows), one at a time, with
 * live progress and cancel, like the ImportManager. The output folder is a path on the machine running
 * the engine, typed by the user: it must be absolute, in an existing writable folder, and new or empty
 * (or moved aside with `force`).
 */
import crypto from 'node:crypto';
import type { Db } from '../db';
import { ConfigError } from '../errors';
import type { EngineService } from '../service';
import type { EngineEvent, ExportInfo, ExportOptions } from '../../../shared/rpc';
import { checkOutDir, parseSince, runExport } from './index';

export class ExportManager implements EngineService {
  private readonly infos = new Map<string, ExportInfo>();
  private readonly controllers = new Map<string, AbortController>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly emit: (e: EngineEvent) => void,
  ) {}

  check(p: { out: string; force: boolean }): { ok: boolean; message: string } {
    const problem = checkOutDir(p.out, { force: p.force, absolute: true });
    return problem ? { ok: false, message: problem } : { ok: true, message: `${p.out}: ready for the export` };
  }

  start(): void {}

  startExport(p: ExportOptions): { exportId: string } {
    const problem = checkOutDir(p.out, { force: p.force, absolute: true });
    if (problem) throw new ConfigError(problem);
    if (p.since) parseSince(p.since);
    for (const i of this.infos.values())
      if (i.state === 'running' && i.out === p.out)
        throw new ConfigError(`an export into ${p.out} is already running: wait for it or cancel it`);
    const exportId = `exp_${crypto.randomUUID().slice(0, 8)}`;
    const info: ExportInfo = {
      exportId,
      out: p.out,
      format: p.format,
      state: 'running',
      done: 0,
      total: 0,
      images: 0,
      boxes: 0,
      skipped: 0,
      movedAside: null,
      error: null,
    };
    this.infos.set(exportId, info);
    const controller = new AbortController();
    this.controllers.set(exportId, controller);
    const send = () => this.emit({ type: 'export-state', info: { ...info } });
    let last = 0;
    this.chain = this.chain.then(async () => {
      try {
        if (controller.signal.aborted) {
          info.state = 'cancelled';
          return;
        }
        const r = await runExport(this.db, p, {
          signal: controller.signal,
          onProgress: (e) => {
            Object.assign(info, e);
            if (Date.now() - last > 150 || e.done === e.total) {
              last = Date.now();
              send();
            }
          },
        });
        Object.assign(info, {
          state: r.cancelled ? 'cancelled' : 'done',
          images: r.images,
          boxes: r.boxes,
          skipped: r.skipped.length,
          movedAside: r.movedAside,
        });
      } catch (err) {
        info.state = 'failed';
        info.error = (err as Error).message;
      } finally {
        this.controllers.delete(exportId);
        send();
      }
    });
    send();
    return { exportId };
  }

  cancel(exportId: string): { ok: true } {
    this.controllers.get(exportId)?.abort();
    return { ok: true };
  }

  list(): ExportInfo[] {
    return [...this.infos.values()].map((i) => ({ ...i })).reverse();
  }

  async stop(timeoutMs: number): Promise<void> {
    for (const c of this.controllers.values()) c.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  idle(): Promise<void> {
    return this.chain;
  }
}
