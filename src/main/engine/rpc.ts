import { ZodError } from 'zod';
import { methods, type EngineEvent, type MethodName, type RpcResponse } from '../../shared/rpc';
import { InvalidRequestError, NotFoundError, ReviewService } from './review';
import { ImportManager } from './imports';
import { ConfigError } from './models/manifest';
import { PathNotFoundError } from './ingest/scan';
import type { Db } from './db';

/** The engine behind the contract: one object per open database, whatever the transport. */
export class EngineHost {
  readonly review: ReviewService;
  readonly imports: ImportManager;
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly photoStmt;

  constructor(
    readonly db: Db,
    opts: { user: string; modelLabels?: string[]; provider?: 'auto' | 'cpu' | 'cuda' | 'dml' },
  ) {
    const emit = (e: EngineEvent) => {
      for (const l of this.listeners) l(e);
    };
    this.review = new ReviewService(db, {
      user: opts.user,
      modelLabels: opts.modelLabels,
      onChanged: (ids) => emit({ type: 'changed', observationIds: ids }),
    });
    this.imports = new ImportManager(db, emit, { provider: opts.provider });
    this.photoStmt = db.prepare<[string], { source_path: string; mime_type: string | null }>(
      'SELECT source_path, mime_type FROM observations WHERE id = ?',
    );
  }

  /** The file behind a photo id, for the hosts that serve pixels (serve's /photo, Electron's kliq-photo:). */
  photoFile(observationId: string): { path: string; mimeType: string | null } | null {
    const row = this.photoStmt.get(observationId);
    return row ? { path: row.source_path, mimeType: row.mime_type } : null;
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

type Handlers = { [K in MethodName]: (params: never) => unknown };

/**
 * method name + untrusted params → validated call → RpcResponse. Used by the WebSocket server and the
 * Electron IPC handler alike.
 */
export function createRpcHandler(host: EngineHost): (method: string, params: unknown, id?: number) => Promise<RpcResponse> {
  const r = host.review;
  const handlers: Handlers = {
    queue: (p) => r.queue(p),
    queueCounts: (p) => r.queueCounts(p),
    photo: (p) => r.photo(p),
    batchSummary: (p) => r.batchSummary(p),
    catalog: (p) => r.catalog(p),
    updateDetection: (p) => r.updateDetection(p),
    addDetection: (p) => r.addDetection(p),
    deleteDetection: (p) => r.deleteDetection(p),
    restoreDetection: (p) => r.restoreDetection(p),
    setReview: (p) => r.setReview(p),
    startImport: (p) => host.imports.start(p),
    cancelImport: (p: { importId: string }) => host.imports.cancel(p.importId),
    imports: () => host.imports.list(),
    importFolders: () => host.imports.folders(),
  };
  return async (method, params, id = 0) => {
    if (!Object.hasOwn(methods, method)) return { id, ok: false, error: { code: 'bad-request', message: `unknown method ${method}` } };
    const name = method as MethodName;
    try {
      const parsed = methods[name].params.parse(params ?? {});
      const result = await (handlers[name] as (p: unknown) => unknown)(parsed);
      return { id, ok: true, result };
    } catch (err) {
      if (err instanceof ZodError)
        return {
          id,
          ok: false,
          error: { code: 'bad-request', message: err.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ') },
        };
      if (err instanceof NotFoundError) return { id, ok: false, error: { code: 'not-found', message: err.message } };
      if (err instanceof InvalidRequestError || err instanceof ConfigError || err instanceof PathNotFoundError)
        return { id, ok: false, error: { code: 'bad-request', message: err.message } };
      return { id, ok: false, error: { code: 'failed', message: (err as Error).message } };
    }
  };
}
