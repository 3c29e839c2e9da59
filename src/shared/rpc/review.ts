/**
 * The review feature of the contract: queues, photo detail, catalog, summaries and the edits an
 * auditor makes (each edit is a correction row + an outbox row in the engine).
 */
import { z } from 'zod';
import { BoundingBoxSchema, CvSummarySchema, OBSERVATION_STATUSES } from '../domain';
import { IdSchema, LabelSchema, NameSchema, QuerySchema, ReasonSchema } from '../limits';
import { Counted } from './common';
import { CONDITIONS } from '../condition';

export const REVIEW_STATUSES = ['unreviewed', 'reviewed', 'flagged'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export const QUEUE_SORTS = ['uncertain', 'confident', 'newest', 'path'] as const;
export type QueueSort = (typeof QUEUE_SORTS)[number];

export const QueueFilterSchema = z.object({
  status: z.enum(OBSERVATION_STATUSES).optional(),
  review: z.enum(REVIEW_STATUSES).optional(),
  location: NameSchema.optional(),
  visit: NameSchema.optional(),
  model: NameSchema.optional(),
  label: NameSchema.optional(),
  /**
   * Confidence band: photos with a model box (of `label`, when given) whose confidence is within it.
   * Drawn boxes are the auditor's and never count.
   */
  confMin: z.number().min(0).max(1).optional(),
  confMax: z.number().min(0).max(1).optional(),
  /** BuildingScan: photos of a building (by name), of an asset (by id), with a box or asset of a grade. */
  building: NameSchema.optional(),
  asset: IdSchema.optional(),
  condition: z.enum(CONDITIONS).optional(),
  /** Photos whose file name holds this text (case-insensitive for ASCII letters; `%` and `_` are plain characters). */
  name: QuerySchema.optional(),
});
export type QueueFilter = z.infer<typeof QueueFilterSchema>;

/** What the queue opens on when the URL says nothing else: the photos still to review, uncertain first. */
export const DEFAULT_QUEUE: { filter: QueueFilter; sort: QueueSort } = { filter: { review: 'unreviewed' }, sort: 'uncertain' };

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
  /** On the KLIQ API: 'synced' (all of it), 'pending' (waiting in the outbox), 'failed' (an item failed for good); null before any sync. */
  sync: z.enum(['synced', 'pending', 'failed']).nullable(),
  /** The photo file: 'present', 'deleted' (results kept), or 'changed' (other content at its path now: another observation). */
  sourceState: z.enum(['present', 'deleted', 'changed']),
});
export type QueueItem = z.infer<typeof QueueItemSchema>;

export const ReviewDetectionSchema = z.object({
  id: z.number().int(),
  objectName: z.string(),
  confidence: z.number(),
  boundingBox: BoundingBoxSchema,
  /** 'model' as detected (possibly corrected since), 'user' drawn by the auditor. */
  source: z.enum(['model', 'user']),
  /** True exactly when the box differs from what the model gave (a drawn box always). */
  corrected: z.boolean(),
  /** Bumped by every edit; an edit names the version it was made on, and a stale one is refused ('conflict'). */
  version: z.number().int(),
  /** BuildingScan: the auditor's grade of the box (attributes.condition), null when ungraded. */
  condition: z.enum(CONDITIONS).nullable().optional(),
  /** The auditor checked this box (an edit of its own, like a move: `verifyDetection`). */
  verified: z.boolean(),
});
export type ReviewDetection = z.infer<typeof ReviewDetectionSchema>;

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
  brand: z.string().nullable().optional(),
  /** How often the auditor's photos use it (current detections): the 1–9 keys take the top ones. */
  uses: z.number().int(),
});
export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;

export const LabelKeysSchema = z.object({
  /** Up to 9 labels, key 1 first. */
  labels: z.array(z.string()),
  /** Whose set it is: the location's own, or the default. */
  scope: z.enum(['location', 'default']),
});
export type LabelKeys = z.infer<typeof LabelKeysSchema>;

/** At most this many photo ids are sent by the page; a bigger selection is sent as its filter (all of it). */
export const MAX_SELECTED_IDS = 5000;

/** Photos chosen in the queue: some by id (in any order), or every photo of a filter (Ctrl+A). */
export const PhotoSelectionSchema = z
  .object({
    ids: z
      .array(IdSchema)
      .min(1)
      .max(MAX_SELECTED_IDS, `at most ${MAX_SELECTED_IDS} photo ids: select all of the filter instead`)
      .optional(),
    filter: QueueFilterSchema.optional(),
  })
  .refine((s) => (s.ids === undefined) !== (s.filter === undefined), 'a selection gives either photo ids or a filter');
export type PhotoSelection = z.infer<typeof PhotoSelectionSchema>;

/** A photo a bulk action left alone, and why (not audited, no file…). */
export const SkippedPhotoSchema = z.object({ observationId: z.string(), fileName: z.string(), reason: z.string() });
export type SkippedPhoto = z.infer<typeof SkippedPhotoSchema>;

export const reviewMethods = {
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
    params: z.object({ observationId: IdSchema }),
    result: PhotoDetailSchema,
  },
  batchSummary: {
    params: z.object({ filter: QueueFilterSchema.default({}) }),
    result: z.object({ photos: z.number().int(), summary: CvSummarySchema, labelCounts: Counted }),
  },
  catalog: {
    params: z.object({ query: QuerySchema.default(''), limit: z.number().int().min(1).max(1000).default(200) }),
    result: z.array(CatalogEntrySchema),
  },
  /**
   * The labels behind the number keys 1–9 in Review: the location's set when it has one, else the default
   * set (made once from the most used labels, then kept: keys never change meaning during work).
   */
  labelKeys: {
    params: z.object({ location: NameSchema.nullable().default(null) }),
    result: LabelKeysSchema,
  },
  /** Saves a key set: the location's (`location`), or the default one (null). `labels: []` with a location drops its own set. */
  setLabelKeys: {
    params: z.object({ location: NameSchema.nullable().default(null), labels: z.array(LabelSchema).max(9) }),
    result: LabelKeysSchema,
  },
  // Edits. `version` is the detection's version the edit was made on (a mismatch is a 'conflict');
  // `clientEditId`, made by the client once per edit, makes a retry (answer lost, reconnect) apply once.
  updateDetection: {
    params: z.object({
      detectionId: z.number().int(),
      version: z.number().int(),
      objectName: LabelSchema.optional(),
      boundingBox: BoundingBoxSchema.optional(),
      clientEditId: IdSchema.optional(),
    }),
    result: ReviewDetectionSchema,
  },
  addDetection: {
    params: z.object({
      observationId: IdSchema,
      objectName: LabelSchema,
      boundingBox: BoundingBoxSchema,
      clientEditId: IdSchema.optional(),
    }),
    result: ReviewDetectionSchema,
  },
  /** Returns the deleted box (with its new version, for undo). */
  deleteDetection: {
    params: z.object({ detectionId: z.number().int(), version: z.number().int(), clientEditId: IdSchema.optional() }),
    result: ReviewDetectionSchema,
  },
  restoreDetection: {
    params: z.object({ detectionId: z.number().int(), version: z.number().int(), clientEditId: IdSchema.optional() }),
    result: ReviewDetectionSchema,
  },
  /** Marks the box as checked by the auditor (or clears the mark); returns the box with its new version. */
  verifyDetection: {
    params: z.object({
      detectionId: z.number().int(),
      version: z.number().int(),
      verified: z.boolean(),
      clientEditId: IdSchema.optional(),
    }),
    result: ReviewDetectionSchema,
  },
  setReview: {
    params: z.object({
      observationId: IdSchema,
      review: z.enum(REVIEW_STATUSES),
      reason: ReasonSchema.optional(),
      clientEditId: IdSchema.optional(),
    }),
    result: QueueItemSchema,
  },
  /**
   * Accepts or flags many photos: each one a real edit (correction row + outbox row), a transaction per
   * batch of photos, progress as 'bulk' events under `bulkId` (made by the client, which also makes a
   * retry apply each photo once). Photos that cannot be accepted (not audited) are skipped and named.
   */
  bulkReview: {
    params: z.object({
      selection: PhotoSelectionSchema,
      review: z.enum(['reviewed', 'flagged']),
      reason: ReasonSchema.optional(),
      bulkId: IdSchema,
    }),
    result: z.object({
      total: z.number().int(),
      /** Photos changed (one correction each). */
      changed: z.number().int(),
      /** Photos already in that state (nothing written). */
      unchanged: z.number().int(),
      skippedCount: z.number().int(),
      /** The first 100 skipped photos. */
      skipped: z.array(SkippedPhotoSchema),
    }),
  },
} as const;
