/**
 * Domain types shared by every layer (engine, CLI, renderer, KLIQ client).
 * Field names follow the KLIQ API documents in ../shared/seeds (Observation, CvJob, CV result).
 * This module imports nothing of ours and nothing from Node, the DOM or Electron.
 */
import { z } from 'zod';

export const OBSERVATION_STATUSES = ['pending', 'processing', 'completed', 'failed'] as const;
export type ObservationStatus = (typeof OBSERVATION_STATUSES)[number];

export const CV_JOB_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;
export type CvJobStatus = (typeof CV_JOB_STATUSES)[number];

/** Output layout of a detector: the raw YOLOX head, or the Ultralytics (YOLOv8/YOLO11) export layout. */
export type ModelFormat = 'yolox' | 'ultralytics';

/** Execution provider the user asks for; `auto` = CUDA on Linux, DirectML on Windows, then CPU. */
export const PROVIDER_CHOICES = ['auto', 'cpu', 'cuda', 'dml'] as const;
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number];
/** Execution provider a session actually runs on. */
export type ProviderName = 'cpu' | 'cuda' | 'dml';

export const BoundingBoxSchema = z.object({
  x: z.number(),
  y: z.number(),
  width: z.number(),
  height: z.number(),
});
export type BoundingBox = z.infer<typeof BoundingBoxSchema>;

/** One detection in the seed's CV result format. Box in original-photo pixels after EXIF orientation. */
export const DetectionSchema = z.object({
  objectName: z.string(),
  confidence: z.number().min(0).max(1),
  boundingBox: BoundingBoxSchema,
  attributes: z.record(z.string(), z.unknown()),
});
export type Detection = z.infer<typeof DetectionSchema>;

/** The seed's `summary`; outOfStock and complianceScore are null without an expected-label list. */
export const CvSummarySchema = z.object({
  totalProducts: z.number().int().nonnegative(),
  uniqueSKUs: z.number().int().nonnegative(),
  outOfStock: z.array(z.string()).nullable(),
  complianceScore: z.number().min(0).max(1).nullable(),
});
export type CvSummary = z.infer<typeof CvSummarySchema>;

export const CvResultSchema = z.object({
  detections: z.array(DetectionSchema),
  summary: CvSummarySchema,
});
export type CvResult = z.infer<typeof CvResultSchema>;

/** One photo in `kliq-audit audit --json`. */
export const AuditPhotoSchema = z.object({
  path: z.string(),
  observationId: z.string().nullable(),
  status: z.enum(OBSERVATION_STATUSES),
  error: z.string().optional(),
  /** true when the result came from the local cache (no inference in this run). */
  cached: z.boolean(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  detections: z.array(DetectionSchema),
  summary: CvSummarySchema.nullable(),
});
export type AuditPhoto = z.infer<typeof AuditPhotoSchema>;

export const AuditReportSchema = z.object({
  photos: z.array(AuditPhotoSchema),
  summary: CvSummarySchema,
  model: z.string(),
  provider: z.enum(['cpu', 'cuda', 'dml']),
  /** Why the requested provider was not used (null when it was). */
  providerFallback: z.string().nullable(),
  counts: z.object({
    total: z.number().int(),
    completed: z.number().int(),
    failed: z.number().int(),
    cached: z.number().int(),
    cancelled: z.number().int(),
  }),
  cancelled: z.boolean(),
  elapsedMs: z.number(),
});
export type AuditReport = z.infer<typeof AuditReportSchema>;

export const StatsSchema = z.object({
  observations: z.number().int(),
  byStatus: z.object({
    pending: z.number().int(),
    processing: z.number().int(),
    completed: z.number().int(),
    failed: z.number().int(),
  }),
  detections: z.number().int(),
});
export type Stats = z.infer<typeof StatsSchema>;

/**
 * Progress and status stream of an audit run: one discriminated union, like the kube-q seed's
 * TokenEvent | StatusEvent | ... | ErrorEvent. The CLI renders it; the UI will receive it over IPC/WebSocket.
 */
export type AuditEvent =
  | { type: 'scan'; files: number; skipped: { path: string; reason: string }[] }
  | { type: 'model'; model: string; provider: ProviderName; fallback: string | null; inputSize: [number, number] }
  | {
      type: 'photo';
      path: string;
      status: ObservationStatus;
      cached: boolean;
      error?: string;
      detections: number;
      /** Something the auditor should know, e.g. this file is the same photo as one imported from elsewhere. */
      note?: string;
    }
  | { type: 'progress'; done: number; total: number; failed: number; photosPerSecond: number; etaSeconds: number | null }
  | { type: 'cancelling'; reason: string }
  | { type: 'done'; report: AuditReport };
