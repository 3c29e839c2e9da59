/**
 * Progress of long operations as one typed discriminated union, the seed-004 way (kube-q's
 * TokenEvent | StatusEvent | … | ErrorEvent): consumers `switch (event.type)` and TypeScript narrows.
 * Sync (a later issue) emits SyncEvent; the client's own long operations use the same shapes.
 */

/** What a sync moves: photos (uploads), observations, CV results, corrected labels. */
export type SyncItemKind = 'upload' | 'observation' | 'cvJob' | 'labels';

export interface SyncProgressEvent {
  type: 'progress';
  phase: SyncItemKind;
  done: number;
  total: number;
}
export interface SyncItemEvent {
  type: 'item';
  kind: SyncItemKind;
  /** Id in the local database. */
  localId: string;
  /** Id on the KLIQ API (obs_…, job_…). */
  remoteId: string;
  action: 'created' | 'updated' | 'unchanged';
}
export interface SyncErrorEvent {
  type: 'error';
  kind: SyncItemKind | null;
  localId: string | null;
  /** HTTP status (0: no response), from KliqError.statusCode. */
  statusCode: number;
  code: string | null;
  message: string;
  /** Whether a later sync may succeed (transport, 429, 5xx) or the item needs a fix (400, 403, 404). */
  retryable: boolean;
}
export interface SyncDoneEvent {
  type: 'done';
  counts: Record<SyncItemKind, number> & { failed: number };
  cancelled: boolean;
  elapsedMs: number;
}
export type SyncEvent = SyncProgressEvent | SyncItemEvent | SyncErrorEvent | SyncDoneEvent;
export type SyncEventType = SyncEvent['type'];

/** Whether an error with this status is worth retrying later. */
export const isRetryableStatus = (statusCode: number) => statusCode === 0 || statusCode === 429 || statusCode >= 500;
