/**
 * Background sync for the hosts (serve, the desktop app): a continuous SyncEngine while the host runs,
 * woken by edits and imports, restarted after an error; its state as a SyncStatus for the header badge
 * (pushed as 'sync' events when it changes), and the Sync screen's lists and actions. Without a target
 * (no --api) it still answers: the items wait in the outbox and the screen says so.
 */
import path from 'node:path';
import type { Db } from '../db';
import { Outbox } from '../db/outbox';
import { NotFoundError } from '../errors';
import type { EngineService } from '../service';
import type { SyncConflict, SyncFailedItem, SyncStatus } from '../../../shared/rpc/sync';
import { SyncEngine, type SyncCredentials, type SyncOptions } from './engine';
import { SyncStore, type SyncTarget } from './store';

export interface SyncConfig {
  target: SyncTarget;
  credentials: SyncCredentials;
  onTokens?: SyncOptions['onTokens'];
}

/** Where the config comes from: fixed (serve --api), or the settings (the desktop app), read at start and on reconfigure(). */
export type SyncConfigSource = SyncConfig | null | (() => Promise<{ ok: true; config: SyncConfig } | { ok: false; reason: string }>);

export class SyncService implements EngineService {
  private readonly store: SyncStore;
  private readonly outbox: Outbox;
  private engine: SyncEngine | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private last = '';
  private timer: NodeJS.Timeout | null = null;
  private fatal: string | null = null;
  private config: SyncConfig | null = null;
  /** Why there is no config (sync off, no credential…), for the badge. */
  private offReason: string | null = null;
  private generation = 0;

  constructor(
    private readonly db: Db,
    private readonly source: SyncConfigSource,
    private readonly onStatus: (s: SyncStatus) => void,
  ) {
    this.store = new SyncStore(db);
    this.outbox = new Outbox(db);
    if (source && typeof source !== 'function') this.config = source;
  }

  start(): void {
    void this.reconfigure();
    // the badge follows the outbox even when nothing else happens (another process syncing, items coming due)
    this.timer = setInterval(() => this.publish(), 2000);
    this.timer.unref();
  }

  /** (Re)reads the config (the settings changed) and restarts the background sync with it. */
  async reconfigure(): Promise<void> {
    const gen = ++this.generation;
    if (typeof this.source === 'function') {
      const r = await this.source().catch((err: unknown) => ({
        ok: false as const,
        reason: err instanceof Error ? err.message : String(err),
      }));
      if (gen !== this.generation || this.stopped) return;
      this.config = r.ok ? r.config : null;
      this.offReason = r.ok ? null : r.reason;
    }
    const old = this.engine;
    const oldRun = this.running;
    this.engine = null;
    this.running = null;
    this.fatal = null;
    if (old) {
      old.stop();
      await oldRun;
    }
    if (gen !== this.generation) return;
    this.launch();
    this.publish();
  }

  private launch(): void {
    if (!this.config || this.stopped) return;
    const engine = new SyncEngine(this.db, { ...this.config, mode: 'continuous' });
    this.engine = engine;
    this.running = engine
      .run(() => this.publish())
      .then((done) => {
        if (done.reason === 'auth') this.fatal = 'the KLIQ API refused the credentials (401): check the API key and tenant, then restart';
      })
      .catch((err: unknown) => {
        // a target mismatch or a bug: shown in the badge; not retried in a loop
        this.fatal = err instanceof Error ? err.message : String(err);
      })
      .finally(() => this.publish());
  }

  /** Edits or imports happened: send them soon. */
  nudge(): void {
    this.engine?.nudge();
  }

  status(): SyncStatus {
    const c = this.outbox.counts();
    const base = {
      configured: this.config !== null,
      target: this.config ? this.config.target : this.store.target(),
      pending: c.pending,
      failed: c.failed,
      conflicts: this.store.conflicts().length,
      lastSyncAt: this.store.lastSyncAt(),
    };
    if (!this.config) return { ...base, state: 'off', lastError: this.offReason };
    if (this.fatal) return { ...base, state: this.fatal.includes('401') ? 'auth' : 'error', lastError: this.fatal };
    const snap = this.engine?.snapshot();
    return { ...base, state: snap?.state ?? 'idle', lastError: snap?.lastError ?? null };
  }

  private publish(): void {
    try {
      const s = this.status();
      const key = JSON.stringify(s);
      if (key === this.last) return;
      this.last = key;
      this.onStatus(s);
    } catch {
      /* the database is closing */
    }
  }

  failed(limit: number): SyncFailedItem[] {
    return this.outbox.failed(limit).map((f) => {
      const obsId = f.kind === 'cvJob' ? this.observationOfJob(f.ref) : f.ref;
      const o = obsId ? this.store.observation(obsId) : undefined;
      return {
        id: f.id,
        kind: f.kind,
        observationId: o?.id ?? null,
        fileName: o ? path.basename(o.source_path) : null,
        error: f.error,
        attempts: f.attempts,
        failedAt: f.failedAt,
      };
    });
  }

  private observationOfJob(jobId: string): string | null {
    return this.store.job(jobId)?.observation_id ?? null;
  }

  retry(id: number | null): number {
    const n = this.outbox.retryFailed(id);
    this.publish();
    this.nudge();
    return n;
  }

  conflicts(): SyncConflict[] {
    return this.store.conflicts();
  }

  resolve(id: number, resolution: 'send-mine' | 'keep-server'): void {
    if (this.store.resolveConflict(id, resolution) === null) throw new NotFoundError(`no open label conflict #${id}`);
    this.publish();
    this.nudge();
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.engine?.stop();
    if (this.running) await Promise.race([this.running, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }
}
