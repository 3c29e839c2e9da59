/**
 * The sync engine: drains the outbox to the KLIQ API with bounded concurrency, in dependency order,
 * each item with its stored idempotency key, retrying what may succeed later (no connection, 429, 5xx)
 * with capped exponential backoff and jitter, stopping what will not (400, 403, 404, 413…) with its reason
 * without blocking the rest. It resumes wherever a crash or a lost connection left it: the outbox and the
 * remote ids are in the database, and a run that died gives its leased items back at once.
 *
 *   const sync = new SyncEngine(db, { target, credentials: { apiKey } });
 *   for await (const e of sync.events()) switch (e.type) { case 'progress': …; case 'done': … }
 *
 * Modes: 'drain' ends when nothing is left to send (the CLI), 'continuous' keeps going until stopped,
 * woken by nudge() when something is enqueued (serve and the desktop app).
 */
import { KliqClient, type KliqClientOptions, type TenantClient } from '../../../kliq/client';
import { KliqError } from '../../../kliq/errors';
import { syncErrorEvent, type SyncDoneEvent, type SyncEvent } from '../../../kliq/events';
import { isBusy, type Db } from '../db';
import { OFFLINE_PREFIX, Outbox, type OutboxItem, type OutboxKind } from '../db/outbox';
import { AuditStore } from '../db/store';
import { PhotoFiles } from '../photo-file';
import { LabelsConflict, PermanentError, RemoteRefs, send, WaitError, type SendContext } from './send';
import { SyncStore, type SyncTarget } from './store';
import { syncCatalog } from './catalog';

export type SyncCredentials = Pick<KliqClientOptions, 'apiKey' | 'accessToken' | 'refreshToken' | 'clientId' | 'clientSecret'>;

export interface SyncOptions {
  target: SyncTarget;
  credentials: SyncCredentials;
  /** 'drain' (default): stop when nothing is left; 'continuous': keep syncing until stop(). */
  mode?: 'drain' | 'continuous';
  /** Items in flight at once. Default 4. */
  concurrency?: number;
  /** Backoff of a retried item: base × 2^(attempts−1), capped, times a random 0.5–1. Defaults 500 ms and 30 s. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** How long a claimed item stays reserved for this run. Default 120 s (a dead run's items are freed at once anyway). */
  leaseMs?: number;
  /** Drain mode: stop ('stalled') when nothing reached the server for this long while items remain. Default 120 s. */
  stallMs?: number;
  /** Accept a target other than the one the database synced to so far (its remote ids are then meaningless). */
  rebind?: boolean;
  /** Pull the tenant's catalog and push local SKUs at the start. Default true. */
  catalog?: boolean;
  signal?: AbortSignal;
  /** For tests and tools: the client to use (default: a KliqClient made from target and credentials). */
  client?: KliqClient;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
  /** Told when the client obtains new tokens (a rotated refresh token must be kept). */
  onTokens?: KliqClientOptions['onTokens'];
}

export type SyncState = 'idle' | 'sending' | 'offline' | 'error' | 'auth';

/** A snapshot for badges and status lines. */
export interface SyncSnapshot {
  state: SyncState;
  pending: number;
  failed: number;
  conflicts: number;
  lastSyncAt: string | null;
  lastError: string | null;
}

const ZERO = () => ({ upload: 0, observation: 0, cvJob: 0, labels: 0, failed: 0, unchanged: 0 });

export class SyncEngine {
  readonly store: SyncStore;
  readonly outbox: Outbox;
  private readonly client: KliqClient;
  private readonly tenant: TenantClient;
  private readonly opts: Required<
    Pick<SyncOptions, 'mode' | 'concurrency' | 'backoffBaseMs' | 'backoffCapMs' | 'leaseMs' | 'stallMs' | 'catalog'>
  >;
  private readonly abort = new AbortController();
  private reason: NonNullable<SyncDoneEvent['reason']> | null = null;
  private inflight = 0;
  private offline = false;
  private wakers = new Set<() => void>();
  private lastError: string | null = null;
  private authFailed = false;
  private running: Promise<SyncDoneEvent> | null = null;

  constructor(
    readonly db: Db,
    private readonly o: SyncOptions,
  ) {
    this.store = new SyncStore(db);
    this.outbox = new Outbox(db);
    this.client =
      o.client ??
      new KliqClient({
        ...o.credentials,
        baseUrl: o.target.baseUrl,
        timeoutMs: o.timeoutMs ?? 30_000,
        onTokens: o.onTokens,
        // the engine owns retries (per item, persisted, with backoff): the client raises at once, except 429s
        retryDelaysMs: [],
      });
    this.tenant = this.client.forTenant(o.target.tenantId);
    this.opts = {
      mode: o.mode ?? 'drain',
      concurrency: Math.max(1, o.concurrency ?? 4),
      backoffBaseMs: o.backoffBaseMs ?? 500,
      backoffCapMs: o.backoffCapMs ?? 30_000,
      leaseMs: o.leaseMs ?? 120_000,
      stallMs: o.stallMs ?? 120_000,
      catalog: o.catalog ?? true,
    };
    o.signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Something was enqueued, or the network may be back: idle workers look again now. */
  nudge(): void {
    if (this.offline) this.probeNow?.();
    for (const w of [...this.wakers]) w();
  }

  /** Stops: items in flight finish (or are given back when their request is aborted); the run ends with 'cancelled'. */
  stop(): void {
    if (!this.reason) this.reason = 'cancelled';
    this.abort.abort(new Error('sync stopped'));
    this.nudge();
  }

  snapshot(): SyncSnapshot {
    const c = this.outbox.counts();
    const state: SyncState = this.authFailed
      ? 'auth'
      : this.offline
        ? 'offline'
        : this.inflight > 0
          ? 'sending'
          : this.lastError && c.pending > 0
            ? 'error'
            : 'idle';
    return {
      state,
      pending: c.pending,
      failed: c.failed,
      conflicts: this.store.conflicts().length,
      lastSyncAt: this.store.lastSyncAt(),
      lastError: this.lastError,
    };
  }

  /** The run as a stream of typed events, ending with 'done'. */
  async *events(): AsyncGenerator<SyncEvent, void, undefined> {
    const queue: SyncEvent[] = [];
    let notify: (() => void) | null = null;
    let finished = false;
    const run = this.run((e) => {
      // a slow reader gets the latest progress, not every step of it
      if (e.type === 'progress' && queue.at(-1)?.type === 'progress') queue[queue.length - 1] = e;
      else queue.push(e);
      notify?.();
    }).finally(() => {
      finished = true;
      notify?.();
    });
    try {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (finished) break;
        await new Promise<void>((r) => (notify = r));
        notify = null;
      }
      await run; // rethrows what broke the run
    } finally {
      if (!finished) this.stop();
    }
  }

  /** Runs once (a second call returns the same run); `onEvent` sees every event. */
  run(onEvent: (e: SyncEvent) => void = () => {}): Promise<SyncDoneEvent> {
    this.running ??= this.drain(onEvent);
    return this.running;
  }

  private probeNow: (() => void) | null = null;

  private async drain(emit: (e: SyncEvent) => void): Promise<SyncDoneEvent> {
    const started = Date.now();
    this.store.bindTarget(this.o.target, { rebind: this.o.rebind });
    const runs = new AuditStore(this.db);
    const runId = runs.beginRun();
    const beat = setInterval(() => {
      try {
        runs.heartbeat();
      } catch {
        /* busy: the next beat renews it */
      }
    }, 10_000);
    beat.unref();
    const counts = ZERO();
    const failedBefore = this.outbox.counts().failed;
    let lastProgress = Date.now();
    let done = 0;
    let total = this.outbox.counts().pending;
    try {
      this.outbox.releaseDead((id) => id === runId || runs.isRunLive(id));
      if (this.opts.catalog && !this.reason) {
        try {
          await syncCatalog(this.db, this.tenant, this.abort.signal);
        } catch (err) {
          if (!this.reason) this.noteError(err, emit, null, null);
        }
      }
      const ctx: SendContext = {
        store: this.store,
        outbox: this.outbox,
        tenant: this.tenant,
        http: this.client.http,
        photos: new PhotoFiles(this.db),
        remote: new RemoteRefs(this.store, this.tenant),
        signal: this.abort.signal,
      };

      // one label set per observation at a time: its items are covered by one PUT, and two 409s must not make two conflicts
      const busy = new Map<string, Promise<unknown>>();
      const serial = <R>(key: string, fn: () => Promise<R>): Promise<R> => {
        const prev = busy.get(key) ?? Promise.resolve();
        const next = prev.then(fn, fn);
        const tail = next.catch(() => undefined);
        busy.set(key, tail);
        void tail.then(() => busy.get(key) === tail && busy.delete(key));
        return next;
      };

      const processItem = async (item: OutboxItem) => {
        try {
          const r = item.kind === 'labels' ? await serial(item.ref, () => send(ctx, item)) : await send(ctx, item);
          if (item.kind !== 'labels') this.outbox.ack(item.id);
          const covered = r.covered ?? 1;
          if (r.action === 'unchanged') counts.unchanged += covered;
          else counts[item.kind] += covered;
          done += covered;
          lastProgress = Date.now();
          this.lastError = null;
          if (covered > 0) emit({ type: 'item', kind: item.kind, localId: item.ref, remoteId: r.remoteId, action: r.action });
        } catch (err) {
          if (this.abort.signal.aborted) {
            this.outbox.fail(item.id, 'stopped before an answer came', Date.now());
            return;
          }
          const settled = this.settle(item, err, emit);
          if (settled) {
            done++;
            lastProgress = Date.now();
          }
        }
        total = Math.max(total, done + this.outbox.counts().pending);
        emit({ type: 'progress', phase: item.kind, done, total });
      };

      const worker = async () => {
        while (!this.reason) {
          if (this.offline) {
            await this.waitOnline(emit, () => Date.now() - lastProgress > this.opts.stallMs);
            continue;
          }
          let item: OutboxItem | undefined;
          try {
            [item] = this.outbox.claim(1, { leaseMs: this.opts.leaseMs, owner: runId });
          } catch (err) {
            if (!isBusy(err)) throw err;
          }
          if (!item) {
            if (this.opts.mode === 'drain' && this.inflight === 0) {
              const next = this.outbox.nextAttemptAt();
              if (next === null) {
                this.reason ??= 'drained';
                break;
              }
              if (Date.now() - lastProgress > this.opts.stallMs) {
                this.reason ??= 'stalled';
                break;
              }
              await this.idle(Math.max(50, Math.min(next - Date.now(), 1000)));
            } else await this.idle(this.opts.mode === 'drain' ? 250 : 5000);
            continue;
          }
          this.inflight++;
          try {
            await processItem(item);
          } finally {
            this.inflight--;
            this.nudge();
          }
        }
      };
      await Promise.all(Array.from({ length: this.opts.concurrency }, worker));
    } finally {
      clearInterval(beat);
      for (const w of [...this.wakers]) w();
      try {
        runs.endRun();
      } catch {
        /* the run's lease expires on its own */
      }
    }
    counts.failed = Math.max(0, this.outbox.counts().failed - failedBefore);
    const end: SyncDoneEvent = {
      type: 'done',
      counts,
      cancelled: this.reason === 'cancelled',
      elapsedMs: Date.now() - started,
      reason: this.reason ?? 'drained',
      pending: this.outbox.counts().pending,
    };
    emit(end);
    return end;
  }

  /** Decides what a failed attempt means for its item. True when the item is settled (failed for good). */
  private settle(item: OutboxItem, err: unknown, emit: (e: SyncEvent) => void): boolean {
    const now = Date.now();
    const backoff = () => {
      const exp = Math.min(this.opts.backoffCapMs, this.opts.backoffBaseMs * 2 ** Math.min(20, item.attempts - 1));
      return now + Math.round(exp * (0.5 + Math.random() * 0.5));
    };
    if (err instanceof LabelsConflict) {
      this.noteError(err, emit, item.kind, item.ref, 409, 'label_conflict');
      return true;
    }
    if (err instanceof PermanentError) {
      this.outbox.fail(item.id, err.message, null, now);
      this.noteError(err, emit, item.kind, item.ref);
      return true;
    }
    if (err instanceof WaitError) {
      this.outbox.fail(item.id, `waiting: ${err.message}`, backoff(), now);
      return false;
    }
    if (err instanceof KliqError) {
      const s = err.statusCode;
      if (s === 0) {
        this.outbox.fail(item.id, `${OFFLINE_PREFIX}${err.message}`, backoff(), now);
        if (!this.offline) this.noteError(err, emit, item.kind, item.ref);
        this.offline = true;
        return false;
      }
      if (s === 401) {
        this.outbox.fail(item.id, `HTTP 401: ${err.message}`, now, now);
        this.authFailed = true;
        this.reason ??= 'auth';
        this.noteError(err, emit, item.kind, item.ref);
        return false;
      }
      if (s === 429 || s === 408 || s >= 500 || (s === 409 && err.code === 'idempotency_in_progress')) {
        this.outbox.fail(item.id, `HTTP ${s}: ${err.message}`, backoff(), now);
        this.noteError(err, emit, item.kind, item.ref);
        return false;
      }
      this.outbox.fail(item.id, `HTTP ${s}${err.code ? ` ${err.code}` : ''}: ${err.message}`, null, now);
      this.noteError(err, emit, item.kind, item.ref);
      return true;
    }
    if (isBusy(err)) {
      this.outbox.fail(item.id, 'the database was busy', backoff(), now);
      return false;
    }
    // not the network, not the API: a bug or the machine; kept with its reason, the rest goes on
    const msg = err instanceof Error ? err.message : String(err);
    this.outbox.fail(item.id, `could not be sent (${msg}); this is a bug: please report it with this message`, null, now);
    this.noteError(err, emit, item.kind, item.ref);
    return true;
  }

  private noteError(
    err: unknown,
    emit: (e: SyncEvent) => void,
    kind: OutboxKind | null,
    ref: string | null,
    status?: number,
    code?: string,
  ): void {
    const e = syncErrorEvent(err, kind, ref);
    if (status !== undefined) e.statusCode = status;
    if (code !== undefined) e.code = code;
    if (err instanceof PermanentError) e.retryable = false;
    this.lastError = e.message;
    emit(e);
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  /** Offline: one worker probes health with growing delays; the others wait. Back online, items that failed for want of it are due now. */
  private probing: Promise<void> | null = null;
  private waitOnline(emit: (e: SyncEvent) => void, stalled: () => boolean): Promise<void> {
    this.probing ??= (async () => {
      let delay = 500;
      while (this.offline && !this.reason) {
        if (this.opts.mode === 'drain' && stalled()) {
          this.reason = 'stalled';
          break;
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.probeNow = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.probeNow = null;
        if (this.reason) break;
        if (await this.client.health()) {
          this.offline = false;
          this.outbox.wakeOffline();
          this.lastError = null;
        } else delay = Math.min(30_000, delay * 2);
      }
    })().finally(() => {
      this.probing = null;
    });
    return this.probing;
  }
}
