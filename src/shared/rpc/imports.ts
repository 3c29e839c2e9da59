/** The imports feature of the contract: imports started from the UI, their progress, the import folders. */
import { z } from 'zod';
import { IdSchema, LIMITS, NameSchema, PathSchema } from '../limits';
import { Counted, ok } from './common';

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

export const importMethods = {
  startImport: {
    params: z.object({
      paths: z.array(PathSchema).min(1).max(1000),
      location: NameSchema.optional(),
      model: z.string().max(LIMITS.path).optional(),
      tiles: z.union([z.enum(['off', 'auto']), z.number().int().min(2).max(8)]).optional(),
    }),
    result: z.object({ importId: z.string() }),
  },
  cancelImport: { params: z.object({ importId: IdSchema }), result: ok },
  imports: { params: z.object({}), result: z.array(ImportInfoSchema) },
  /** Folders and files imported before (kept in the database), most recent first. */
  importFolders: {
    params: z.object({}),
    result: z.array(z.object({ path: z.string(), location: z.string().nullable(), addedAt: z.string(), lastImportAt: z.string() })),
  },
} as const;
