/**
 * The one RPC contract between the UI and the engine, whatever the host (Electron IPC, or the
 * WebSocket of `kliq-audit serve`): method name → params schema → result schema, plus one
 * discriminated-union event stream. Both sides validate with these zod schemas at the boundary.
 * Like Actual Budget's single Handlers map: `call<K extends MethodName>(name, params)`.
 */
import { z } from 'zod';
import { BoundingBoxSchema, CvSummarySchema, OBSERVATION_STATUSES, type AuditEvent } from './domain';

export const REVIEW_STATUSES = ['unreviewed', 'reviewed', 'flagged'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export const QUEUE_SORTS = ['uncertain', 'confident', 'newest', 'path'] as const;
export type QueueSort = (typeof QUEUE_SORTS)[number];

export const QueueFilterSchema = z.object({
  status: z.enum(OBSERVATION_STATUSES).optional(),
  review: z.enum(REVIEW_STATUSES).optional(),
  location: z.string().optional(),
  visit: z.string().optional(),
  model: z.string().optional(),
  label: z.string().optional(),
  /** Confidence band on each photo's top (highest) detection confidence; photos without detections count as 0. */
  confMin: z.number().min(0).max(1).optional(),
  confMax: z.number().min(0).max(1).optional(),
});
export type QueueFilter = z.infer<typeof QueueFilterSchema>;

export const QueueItemSchema = z.object({
  observationId: z.string(),
  fileName: z.string(),
  sourcePath: z.string(),
  status: z.enum(OBSERVATION_STATUSES),
  review: z.enum(REVIEW_STATUSES),
  flagReason: z.string().nullable(),
  location: z.string().nullable(),
  visit: z.string().nullable(),
  model: z.string().nullable(),
  detectionCount: z.number().int(),
  topConfidence: z.number().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  error: z.string().nullable(),
});
export type QueueItem = z.infer<typeof QueueItemSchema>;

export const ReviewDetectionSchema = z.object({
  id: z.number().int(),
  objectName: z.string(),
  confidence: z.number(),
  boundingBox: BoundingBoxSchema,
  /** 'model' as detected (possibly corrected since), 'user' drawn by the auditor. */
  source: z.enum(['model', 'user']),
  corrected: z.boolean(),
});
export type ReviewDetection = z.infer<typeof ReviewDetectionSchema>;

const Counted = z.array(z.object({ name: z.string(), n: z.number().int() }));

export const PhotoDetailSchema = z.object({
  item: QueueItemSchema,
  detections: z.array(ReviewDetectionSchema),
  summary: CvSummarySchema,
  labelCounts: Counted,
});
export type PhotoDetail = z.infer<typeof PhotoDetailSchema>;

export const CatalogEntrySchema = z.object({
  label: z.string(),
  source: z.enum(['model', 'catalog']),
  sku: z.string().nullable(),
  /** How often the auditor's photos use it (current detections): the 1–9 keys take the top ones. */
  uses: z.number().int(),
});
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;

export const ImportInfoSchema = z.object({
  importId: z.string(),
  paths: z.array(z.string()),
  startedAt: z.string(),
  state: z.enum(['running', 'done', 'cancelled', 'failed']),
  done: z.number().int(),
  total: z.number().int(),
  failed: z.number().int(),
  photosPerSecond: z.number(),
  errorsByReason: Counted,
  error: z.string().nullable(),
});
export type ImportInfo = z.infer<typeof ImportInfoSchema>;

const ok = z.object({ ok: z.literal(true) });

/** The methods: params and result schemas. Queries read; commands write (each edit is a correction row + outbox row). */
export const methods = {
  queue: {
    params: z.object({
      filter: QueueFilterSchema.default({}),
      sort: z.enum(QUEUE_SORTS).default('uncertain'),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(500).default(100),
    }),
    result: z.object({ total: z.number().int(), items: z.array(QueueItemSchema) }),
  },
  queueCounts: {
    params: z.object({ filter: QueueFilterSchema.default({}) }),
    result: z.object({
      total: z.number().int(),
      byReview: z.object({ unreviewed: z.number().int(), reviewed: z.number().int(), flagged: z.number().int() }),
      byStatus: z.object({
        pending: z.number().int(),
        processing: z.number().int(),
        completed: z.number().int(),
        failed: z.number().int(),
      }),
      locations: Counted,
      visits: Counted,
      models: Counted,
      labels: Counted,
    }),
  },
  photo: {
    params: z.object({ observationId: z.string() }),
    result: PhotoDetailSchema,
  },
  batchSummary: {
    params: z.object({ filter: QueueFilterSchema.default({}) }),
    result: z.object({ photos: z.number().int(), summary: CvSummarySchema, labelCounts: Counted }),
  },
  catalog: {
    params: z.object({ query: z.string().default(''), limit: z.number().int().min(1).max(1000).default(200) }),
    result: z.array(CatalogEntrySchema),
  },
  updateDetection: {
    params: z.object({
      detectionId: z.number().int(),
      objectName: z.string().min(1).optional(),
      boundingBox: BoundingBoxSchema.optional(),
    }),
    result: ReviewDetectionSchema,
  },
  addDetection: {
    params: z.object({ observationId: z.string(), objectName: z.string().min(1), boundingBox: BoundingBoxSchema }),
    result: ReviewDetectionSchema,
  },
  deleteDetection: { params: z.object({ detectionId: z.number().int() }), result: ok },
  restoreDetection: { params: z.object({ detectionId: z.number().int() }), result: ReviewDetectionSchema },
  setReview: {
    params: z.object({ observationId: z.string(), review: z.enum(REVIEW_STATUSES), reason: z.string().max(500).optional() }),
    result: QueueItemSchema,
  },
  startImport: {
    params: z.object({
      paths: z.array(z.string().min(1)).min(1),
      location: z.string().optional(),
      model: z.string().optional(),
      tiles: z.union([z.enum(['off', 'auto']), z.number().int().min(2).max(8)]).optional(),
    }),
    result: z.object({ importId: z.string() }),
  },
  cancelImport: { params: z.object({ importId: z.string() }), result: ok },
  imports: { params: z.object({}), result: z.array(ImportInfoSchema) },
  /** Folders and files imported before (kept in the database), most recent first. */
  importFolders: {
    params: z.object({}),
    result: z.array(z.object({ path: z.string(), location: z.string().nullable(), addedAt: z.string(), lastImportAt: z.string() })),
  },
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type Params<K extends MethodName> = z.input<Methods[K]['params']>;
export type Result<K extends MethodName> = z.infer<Methods[K]['result']>;

/** Server → UI events, batched by the host (at most every 150 ms). */
export type EngineEvent =
  | { type: 'import'; importId: string; event: AuditEvent }
  | { type: 'import-state'; info: ImportInfo }
  | { type: 'changed'; observationIds: string[] };

/** Wire format of the WebSocket transport (Electron IPC carries the same payloads). */
export const RequestSchema = z.object({ id: z.number().int(), method: z.string(), params: z.unknown() });
export type RpcResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: 'bad-request' | 'not-found' | 'failed'; message: string } };
export type ServerMessage = ({ kind: 'response' } & RpcResponse) | { kind: 'events'; events: EngineEvent[] };

/** What the renderer talks to, in any host. */
export interface KliqApi {
  call<K extends MethodName>(method: K, params: Params<K>): Promise<Result<K>>;
  onEvents(listener: (events: EngineEvent[]) => void): () => void;
  /** URL of a photo's pixels for <img>, EXIF orientation applied. */
  photoUrl(observationId: string): string;
}
