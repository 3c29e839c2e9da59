/** The sync feature of the contract: the state behind the header badge, failed items and label conflicts (Sync screen). */
import { z } from 'zod';
import { DetectionSchema } from '../domain';
import { ok } from './common';

export const SyncStatusSchema = z.object({
  /** False when this host has no KLIQ API to sync to (serve without --api): items wait in the outbox. */
  configured: z.boolean(),
  /** API base URL and tenant (never the credentials). */
  target: z.object({ baseUrl: z.string(), tenantId: z.string() }).nullable(),
  state: z.enum(['off', 'idle', 'sending', 'offline', 'error', 'auth']),
  pending: z.number().int(),
  failed: z.number().int(),
  conflicts: z.number().int(),
  lastSyncAt: z.string().nullable(),
  lastError: z.string().nullable(),
});
export type SyncStatus = z.infer<typeof SyncStatusSchema>;

export const SyncFailedItemSchema = z.object({
  id: z.number().int(),
  kind: z.enum(['upload', 'observation', 'cvJob', 'labels']),
  observationId: z.string().nullable(),
  fileName: z.string().nullable(),
  error: z.string(),
  attempts: z.number().int(),
  failedAt: z.string(),
});
export type SyncFailedItem = z.infer<typeof SyncFailedItemSchema>;

export const SyncConflictSchema = z.object({
  id: z.number().int(),
  observationId: z.string(),
  fileName: z.string(),
  localLabels: z.array(DetectionSchema),
  remoteLabels: z.array(DetectionSchema),
  remoteVersion: z.number().int(),
  remoteBy: z.string().nullable(),
  remoteAt: z.string().nullable(),
  createdAt: z.string(),
});
export type SyncConflict = z.infer<typeof SyncConflictSchema>;

export const syncMethods = {
  syncStatus: { params: z.object({}), result: SyncStatusSchema },
  syncFailed: { params: z.object({ limit: z.number().int().min(1).max(1000).default(200) }), result: z.array(SyncFailedItemSchema) },
  /** Makes a failed item (and what waits on it) due again; without an id, every failed item. Returns how many. */
  syncRetry: { params: z.object({ id: z.number().int().optional() }), result: z.object({ retried: z.number().int() }) },
  syncConflicts: { params: z.object({}), result: z.array(SyncConflictSchema) },
  /** 'send-mine': the local label set goes over the server's; 'keep-server': the server's stays. */
  syncResolve: {
    params: z.object({ id: z.number().int(), resolution: z.enum(['send-mine', 'keep-server']) }),
    result: ok,
  },
  /** Sync now (wakes the background sync; it is also woken by edits and imports). */
  syncNow: { params: z.object({}), result: ok },
} as const;
