/** The imports feature of the contract: imports started from the UI, their progress, the import folders and their watching. */
import { z } from 'zod';
import { IdSchema, LIMITS, NameSchema, PathSchema } from '../limits';
import { Counted, ok } from './common';
import { PhotoSelectionSchema, SkippedPhotoSchema } from './review';

export const ImportInfoSchema = z.object({
  importId: z.string(),
  paths: z.array(z.string()),
  /** What the import is when its paths do not say it (a re-audit of chosen photos: its first paths only). */
  label: z.string().nullable(),
  startedAt: z.string(),
  state: z.enum(['running', 'done', 'cancelled', 'failed']),
  done: z.number().int(),
  total: z.number().int(),
  failed: z.number().int(),
  photosPerSecond: z.number(),
  errorsByReason: Counted,
  /** The files that failed, by name with their error (the first 50). */
  failures: z.array(z.object({ path: z.string(), error: z.string() })),
  error: z.string().nullable(),
});
export type ImportInfo = z.infer<typeof ImportInfoSchema>;

export const TilesSchema = z.union([z.enum(['off', 'auto']), z.number().int().min(2).max(8)]);

/**
 * A watched folder's state in the engine that hosts the UI: 'watching' (native events), 'polling' (the
 * fallback: out of inotify watches, see reason), 'paused', 'missing' (deleted or not mounted: watched
 * again when it is back), 'error' (see reason), 'starting'.
 */
export const WATCH_STATES = ['starting', 'watching', 'polling', 'paused', 'missing', 'error'] as const;
export const WatchStatusSchema = z.object({
  path: z.string(),
  state: z.enum(WATCH_STATES),
  reason: z.string().nullable(),
  /** Problems that do not stop the folder (an unreadable sub-folder…). */
  warnings: z.array(z.string()),
  /** Photos waiting to be audited or being audited. */
  queued: z.number().int(),
  lastPhoto: z.string().nullable(),
  lastPhotoAt: z.string().nullable(),
});
export type WatchStatus = z.infer<typeof WatchStatusSchema>;

/** A kept import folder: the settings its photos are audited with (a re-import uses them), and its watching. */
export const ImportFolderSchema = z.object({
  path: z.string(),
  location: z.string().nullable(),
  visit: z.string().nullable(),
  tiles: TilesSchema.nullable(),
  watch: z.boolean(),
  paused: z.boolean(),
  addedAt: z.string(),
  lastImportAt: z.string(),
  /** Photo files recorded under the folder, and how many of them were deleted since (their results are kept). */
  photos: z.number().int(),
  deletedPhotos: z.number().int(),
  /** Null when the folder is not watched. */
  status: WatchStatusSchema.nullable(),
});
export type ImportFolder = z.infer<typeof ImportFolderSchema>;

const FolderPath = z.object({ path: PathSchema });

export const importMethods = {
  startImport: {
    params: z.object({
      paths: z.array(PathSchema).min(1).max(1000),
      /** Left out: a kept import folder's own (a re-import uses the folder's settings). */
      location: NameSchema.optional(),
      visit: NameSchema.optional(),
      model: z.string().max(LIMITS.path).optional(),
      tiles: TilesSchema.optional(),
    }),
    result: z.object({ importId: z.string() }),
  },
  /**
   * Audits chosen photos again with other settings (an import of their files that keeps no import
   * folder). The new result becomes current only where nobody has reviewed or corrected the photo.
   * Photos whose file is gone or holds other content now are skipped and named.
   */
  reauditPhotos: {
    params: z.object({
      selection: PhotoSelectionSchema,
      model: z.string().max(LIMITS.path).optional(),
      confThreshold: z.number().min(0.01).max(0.99).optional(),
      tiles: TilesSchema.optional(),
    }),
    result: z.object({
      /** Null when no photo could be audited again. */
      importId: z.string().nullable(),
      photos: z.number().int(),
      skippedCount: z.number().int(),
      skipped: z.array(SkippedPhotoSchema),
    }),
  },
  cancelImport: { params: z.object({ importId: IdSchema }), result: ok },
  imports: { params: z.object({}), result: z.array(ImportInfoSchema) },
  /** Folders and files imported or watched before (kept in the database), most recent first. */
  importFolders: { params: z.object({}), result: z.array(ImportFolderSchema) },
  /**
   * Keeps a folder with its settings (given ones replace the kept ones; null clears one) and, with
   * `watch` (the default), watches it: what it holds is audited, then every photo copied in.
   */
  addImportFolder: {
    params: z.object({
      path: PathSchema,
      location: NameSchema.nullable().optional(),
      visit: NameSchema.nullable().optional(),
      tiles: TilesSchema.nullable().optional(),
      watch: z.boolean().default(true),
    }),
    result: ImportFolderSchema,
  },
  /** Forgets a folder and stops watching it; its photos' observations and results stay. */
  removeImportFolder: { params: FolderPath, result: ok },
  pauseImportFolder: { params: FolderPath, result: ImportFolderSchema },
  resumeImportFolder: { params: FolderPath, result: ImportFolderSchema },
} as const;
