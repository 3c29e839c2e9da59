/** The export feature of the contract: datasets for retraining, written from what a queue filter shows. */
import { z } from 'zod';
import { IdSchema, PathSchema } from '../limits';
import { ok } from './common';
import { MAX_SELECTED_IDS, QueueFilterSchema } from './review';

export const EXPORT_FORMATS = ['yolo', 'coco', 'voc'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const ExportOptionsSchema = z.object({
  filter: QueueFilterSchema.default({}),
  /** Only these photos of the filter (a selection in the queue). */
  ids: z.array(IdSchema).min(1).max(MAX_SELECTED_IDS).optional(),
  format: z.enum(EXPORT_FORMATS),
  /** The output folder on the machine running the engine: absolute, new or empty (or `force`). */
  out: PathSchema,
  reviewedOnly: z.boolean().default(false),
  /** Photos audited or edited on or after this date (YYYY-MM-DD, UTC, or an ISO time). */
  since: z.string().max(40).optional(),
  /** Share of the photos in train (the rest in val), 0 < split ≤ 1. */
  split: z.number().gt(0).max(1).default(0.8),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .default(0),
  images: z.enum(['copy', 'link']).default('copy'),
  /** A non-empty output folder is moved aside (to OUT.bak-TIME), never deleted. */
  force: z.boolean().default(false),
});
export type ExportOptions = z.output<typeof ExportOptionsSchema>;

export const ExportInfoSchema = z.object({
  exportId: z.string(),
  out: z.string(),
  format: z.enum(EXPORT_FORMATS),
  state: z.enum(['running', 'done', 'cancelled', 'failed']),
  done: z.number().int(),
  total: z.number().int(),
  images: z.number().int(),
  boxes: z.number().int(),
  skipped: z.number().int(),
  /** Where a --force export moved what the folder held before. */
  movedAside: z.string().nullable(),
  error: z.string().nullable(),
});
export type ExportInfo = z.infer<typeof ExportInfoSchema>;

export const exportMethods = {
  startExport: { params: ExportOptionsSchema, result: z.object({ exportId: z.string() }) },
  cancelExport: { params: z.object({ exportId: IdSchema }), result: ok },
  exports: { params: z.object({}), result: z.array(ExportInfoSchema) },
  /** Checks an output folder before starting: `ok`, or what is wrong with it and what to do. */
  checkExportDir: {
    params: z.object({ out: PathSchema, force: z.boolean().default(false) }),
    result: z.object({ ok: z.boolean(), message: z.string() }),
  },
} as const;
