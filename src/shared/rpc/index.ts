/**
 * The one RPC contract between the UI and the engine, whatever the host (Electron IPC, or the
 * WebSocket of `kliq-audit serve`): method name → params schema → result schema, plus one
 * discriminated-union event stream. Both sides validate with these zod schemas at the boundary.
 * Like Actual Budget's single Handlers map: `call<K extends MethodName>(name, params)`.
 * Methods are defined by feature (./review.ts, ./imports.ts, ./sync.ts) and merged here.
 */
import { z } from 'zod';
import type { AuditEvent } from '../domain';
import type { ErrorCode } from '../errors';
import { importMethods, type ImportInfo, type WatchStatus } from './imports';
import { reviewMethods } from './review';
import { syncMethods, type SyncStatus } from './sync';
import { buildingMethods } from './buildings';
import { exportMethods, type ExportInfo } from './export';
import { retailMethods } from './retail';
import { settingsMethods } from './settings';

export * from './review';
export * from './imports';
export * from './sync';
export * from './buildings';
export * from './export';
export * from './retail';
export * from './settings';

/** The methods: params and result schemas. Queries read; commands write. */
export const methods = {
  ...reviewMethods,
  ...importMethods,
  ...syncMethods,
  ...buildingMethods,
  ...exportMethods,
  ...retailMethods,
  ...settingsMethods,
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
/** What a caller passes (defaults may be left out). */
export type Params<K extends MethodName> = z.input<Methods[K]['params']>;
/** What a handler receives: the params after validation, defaults filled in. */
export type ParsedParams<K extends MethodName> = z.output<Methods[K]['params']>;
export type Result<K extends MethodName> = z.infer<Methods[K]['result']>;

/** Server → UI events, batched by the host (at most every 150 ms). */
export type EngineEvent =
  | { type: 'import'; importId: string; event: AuditEvent }
  | { type: 'import-state'; info: ImportInfo }
  | { type: 'changed'; observationIds: string[] }
  /** A bulk review's progress (photos done of total), under the client's bulkId. */
  | { type: 'bulk'; bulkId: string; done: number; total: number }
  | { type: 'sync'; status: SyncStatus }
  | { type: 'export-state'; info: ExportInfo }
  /** A watched folder's state, queue or last photo changed; and the photos its batches audit. */
  | { type: 'watch-state'; status: WatchStatus }
  | { type: 'watch'; folder: string; event: AuditEvent }
  /** The kept import folders changed (added, removed, paused, resumed, here or by another process): list them again. */
  | { type: 'import-folders' }
  /** The desktop shell's menus (File, Help) ask the page to show something. */
  | { type: 'shell'; command: ShellCommand };

export type ShellCommand = 'show-import' | 'show-settings' | 'show-shortcuts' | 'show-queue' | 'show-export';

/** Wire format of the WebSocket transport (Electron IPC carries the same payloads). */
export const RequestSchema = z.object({ id: z.number().int(), method: z.string(), params: z.unknown() });
export type RpcResponse =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { code: ErrorCode; message: string } };
export type ServerMessage = ({ kind: 'response' } & RpcResponse) | { kind: 'events'; events: EngineEvent[] };

/** What the renderer talks to, in any host. */
export interface KliqApi {
  call<K extends MethodName>(method: K, params: Params<K>): Promise<Result<K>>;
  onEvents(listener: (events: EngineEvent[]) => void): () => void;
  /** URL of a photo's pixels for <img>, EXIF orientation applied. */
  photoUrl(observationId: string): string;
  /** URL of a photo's thumbnail (JPEG, 256 px on the long side, EXIF orientation applied) for grids and filmstrips. */
  thumbUrl(observationId: string): string;
  /** URL of a photo's screen-sized view (JPEG, 2000 px on the long side): Review shows it until zoomed in past it. */
  viewUrl(observationId: string): string;
  /** URL of its small view (JPEG, 1280 px on the long side): what Review decodes at fit where that is enough. */
  smallViewUrl(observationId: string): string;
}
