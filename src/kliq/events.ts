/**
 * Progress of long operations as one typed discriminated union, the seed-004 way (kube-q's
 * TokenEvent | StatusEvent | … | ErrorEvent): consumers `switch (event.type)` and TypeScript narrows.
 * Sync (a later issue) emits SyncEvent; the zod schema lets it cross IPC or a WebSocket validated.
 */
import { z } from 'zod';

/** What a sync moves: photos (uploads), observations, CV results, corrected labels. */
export const SYNC_ITEM_KINDS = ['upload', 'observation', 'cvJob', 'labels'] as const;
export type SyncItemKind = (typeof SYNC_ITEM_KINDS)[number];
const Kind = z.enum(SYNC_ITEM_KINDS);

export const SyncEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), phase: Kind, done: z.number().int().nonnegative(), total: z.number().int().nonnegative() }),
  z.object({
    type: z.literal('item'),
    kind: Kind,
    /** Id in the local database. */
    localId: z.string(),
    /** Id on the KLIQ API (obs_…, job_…). */
    remoteId: z.string(),
    action: z.enum(['created', 'updated', 'unchanged']),
  }),
  z.object({
    type: z.literal('error'),
    kind: Kind.nullable(),
    localId: z.string().nullable(),
    /** HTTP status (0: no response), from KliqError.statusCode. */
    statusCode: z.number().int(),
    code: z.string().nullable(),
    message: z.string(),
    /** Whether a later sync may succeed (transport, 429, 5xx) or the item needs a fix (400, 403, 404). */
    retryable: z.boolean(),
  }),
  z.object({
    type: z.literal('done'),
    counts: z.object({
      upload: z.number().int(),
      observation: z.number().int(),
      cvJob: z.number().int(),
      labels: z.number().int(),
      failed: z.number().int(),
      /** Items the server already had (an idempotent replay, or the same label set). */
      unchanged: z.number().int().optional(),
    }),
    cancelled: z.boolean(),
    elapsedMs: z.number(),
    /**
     * Why the sync ended: everything was sent or failed for good ('drained'), the user stopped it, the API
     * stayed unreachable or kept failing past the allowed wait ('stalled': the items wait for the next sync),
     * or the credentials were refused ('auth').
     */
    reason: z.enum(['drained', 'cancelled', 'stalled', 'auth']).optional(),
    /** Items still waiting to be sent when it ended. */
    pending: z.number().int().optional(),
  }),
]);
export type SyncEvent = z.infer<typeof SyncEventSchema>;
export type SyncEventType = SyncEvent['type'];
export type SyncProgressEvent = Extract<SyncEvent, { type: 'progress' }>;
export type SyncItemEvent = Extract<SyncEvent, { type: 'item' }>;
export type SyncErrorEvent = Extract<SyncEvent, { type: 'error' }>;
export type SyncDoneEvent = Extract<SyncEvent, { type: 'done' }>;

/** Whether an error with this status is worth retrying later. */
export const isRetryableStatus = (statusCode: number) => statusCode === 0 || statusCode === 429 || statusCode >= 500;

/** The `error` event for anything a client call threw (KliqError or not). */
export function syncErrorEvent(err: unknown, kind: SyncItemKind | null = null, localId: string | null = null): SyncErrorEvent {
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  const statusCode = typeof e?.statusCode === 'number' ? e.statusCode : 0;
  return {
    type: 'error',
    kind,
    localId,
    statusCode,
    code: typeof e?.code === 'string' ? e.code : null,
    message: typeof e?.message === 'string' ? e.message : String(err),
    retryable: isRetryableStatus(statusCode),
  };
}
