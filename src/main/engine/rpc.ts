/**
 * The contract's handlers (the top layer of the engine): method name + untrusted params → validated
 * call on the host's services → RpcResponse, with the engine error's stable code on failure. Used by
 * the WebSocket server and the Electron IPC handler alike.
 */
import { ZodError } from 'zod';
import {
  buildingMethods,
  exportMethods,
  methods,
  settingsMethods,
  type MethodName,
  type ParsedParams,
  type Result,
  type RpcResponse,
} from '../../shared/rpc';
import { errorCode } from './errors';
import type { EngineHost } from './host';

/** One handler per method, typed against the contract: a handler returning the wrong shape does not compile. */
export type Handlers = { [K in MethodName]: (params: ParsedParams<K>) => Result<K> | Promise<Result<K>> };

export function handlersFor(host: EngineHost): Handlers {
  const r = host.review;
  const i = host.imports;
  return {
    queue: (p) => r.queue(p),
    queueCounts: (p) => r.queueCounts(p),
    photo: (p) => r.photo(p),
    batchSummary: (p) => r.batchSummary(p),
    catalog: (p) => r.catalog(p),
    labelKeys: (p) => r.labelKeys(p),
    setLabelKeys: (p) => r.setLabelKeys(p),
    updateDetection: (p) => r.updateDetection(p),
    addDetection: (p) => r.addDetection(p),
    deleteDetection: (p) => r.deleteDetection(p),
    restoreDetection: (p) => r.restoreDetection(p),
    verifyDetection: (p) => r.verifyDetection(p),
    setReview: (p) => r.setReview(p),
    bulkReview: (p) => r.bulkReview(p),
    reauditPhotos: (p) => i.reaudit(r.selectionFiles(p.selection), p),
    startImport: (p) => i.startImport(p),
    cancelImport: (p) => i.cancel(p.importId),
    imports: () => i.list(),
    importFolders: () => host.watch.list(),
    addImportFolder: (p) => host.watch.add(p),
    removeImportFolder: (p) => host.watch.remove(p.path),
    pauseImportFolder: (p) => host.watch.setPaused(p.path, true),
    resumeImportFolder: (p) => host.watch.setPaused(p.path, false),
    syncStatus: () => host.sync.status(),
    syncFailed: (p) => host.sync.failed(p.limit),
    syncRetry: (p) => ({ retried: host.sync.retry(p.id ?? null) }),
    syncConflicts: () => host.sync.conflicts(),
    syncResolve: (p) => {
      host.sync.resolve(p.id, p.resolution);
      return { ok: true as const };
    },
    syncNow: () => {
      host.sync.nudge();
      return { ok: true as const };
    },
    catalogList: (p) => r.retail.catalog.list(p.query, p.limit),
    catalogImportCsv: (p) => r.retail.catalog.importCatalogCsv(p.csv),
    planogramLocations: () => r.retail.catalog.planogramLocations(),
    planogram: (p) => r.retail.catalog.planogram(p.location),
    setPlanogram: (p) => r.retail.catalog.setPlanogram(p.location, p.rows),
    compliance: (p) => r.compliance(p),
    ...settingsHandlers(host),
    ...buildingHandlers(host),
    ...exportHandlers(host),
  };
}

type HandlersOf<T> = { [K in keyof T & MethodName]: Handlers[K] };

function buildingHandlers(host: EngineHost): HandlersOf<typeof buildingMethods> {
  const b = host.buildings;
  return {
    buildings: () => b.buildings(),
    buildingAssets: (p) => b.buildingAssets(p),
    assetVisits: (p) => b.assetVisits(p),
    photoContext: (p) => b.photoContext(p),
    setDetectionCondition: (p) => b.setDetectionCondition(p),
    setAssetCondition: (p) => b.setAssetCondition(p),
  };
}

function exportHandlers(host: EngineHost): HandlersOf<typeof exportMethods> {
  const e = host.exports;
  return {
    startExport: (p) => e.startExport(p),
    cancelExport: (p) => e.cancel(p.exportId),
    exports: () => e.list(),
    checkExportDir: (p) => e.check(p),
  };
}

function settingsHandlers(host: EngineHost): Pick<Handlers, keyof typeof settingsMethods> {
  const s = host.settings;
  return {
    settings: () => s.view(),
    saveSettings: (p) => s.save(p.settings, p.secrets),
    testConnection: (p) => s.test({ api: p.api, auth: p.auth }, p.secret),
    signIn: (p) => s.signIn(p),
    signOut: () => s.signOut(),
    allowWeakSecretStorage: () => s.allowWeakStorage(),
  };
}

export function createRpcHandler(host: EngineHost): (method: string, params: unknown, id?: number) => Promise<RpcResponse> {
  const handlers = handlersFor(host);
  return async (method, params, id = 0) => {
    if (!Object.hasOwn(methods, method)) return { id, ok: false, error: { code: 'bad-request', message: `unknown method ${method}` } };
    const name = method as MethodName;
    try {
      const parsed = methods[name].params.parse(params ?? {});
      // the table is typed per method above; this is the one place the name is only known at run time
      const result = await (handlers[name] as (p: unknown) => unknown)(parsed);
      return { id, ok: true, result };
    } catch (err) {
      if (err instanceof ZodError) {
        const message = err.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
        return { id, ok: false, error: { code: 'bad-request', message } };
      }
      return { id, ok: false, error: { code: errorCode(err), message: err instanceof Error ? err.message : String(err) } };
    }
  };
}
