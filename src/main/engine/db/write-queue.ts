import { dbEnvironmentError, isBusy, type Db } from './index';

const BUSY_ATTEMPTS = 3;
import { DbWriteError } from '../errors';

/**
 * Batches the engine's writes: queued in order, run together in one transaction when `maxBatch` are
 * waiting or `maxDelayMs` after the first one, and on flush(). A crash loses at most the queued
 * writes of photos that are not yet completed in the database, which the next run redoes.
 */
export class WriteQueue {
  private queue: { write: () => void; fallback?: (err: Error) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private failure: DbWriteError | null = null;

  constructor(
    private readonly db: Db,
    private readonly opts: { maxBatch: number; maxDelayMs: number; onFlush?: (ms: number, writes: number) => void } = {
      maxBatch: 64,
      maxDelayMs: 100,
    },
  ) {}

  /**
   * Queues a write. Each write runs in its own savepoint inside the batch: when the database refuses
   * it (a constraint), only it is rolled back and `fallback` runs instead (e.g. mark that photo failed).
   */
  push(write: () => void, fallback?: (err: Error) => void): void {
    if (this.failure) throw this.failure;
    this.queue.push({ write, fallback });
    if (this.queue.length >= this.opts.maxBatch) this.flush();
    else {
      this.timer ??= setTimeout(() => {
        try {
          this.flush();
        } catch {
          // kept in this.failure: the next push() or flush() throws it to the engine
        }
      }, this.opts.maxDelayMs);
    }
  }

  /** Runs every queued write now, in one transaction; throws (and keeps throwing) if the database refused it. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.failure) throw this.failure;
    if (!this.queue.length) return;
    const batch = this.queue;
    this.queue = [];
    const t0 = performance.now();
    // IMMEDIATE: the write lock before the first read (no SQLITE_BUSY_SNAPSHOT when another connection
    // commits); each attempt waits up to busy_timeout for the lock, and a batch is tried BUSY_ATTEMPTS times.
    for (let attempt = 1; ; attempt++) {
      try {
        this.runBatch(batch);
        break;
      } catch (err) {
        if (isBusy(err) && attempt < BUSY_ATTEMPTS) continue;
        this.failure =
          dbEnvironmentError(err) ??
          new DbWriteError(`cannot write to the database: ${(err as Error).message}. Run again (completed photos are kept).`);
        throw this.failure;
      }
    }
    this.opts.onFlush?.(performance.now() - t0, batch.length);
  }

  private runBatch(batch: { write: () => void; fallback?: (err: Error) => void }[]): void {
    this.db
      .transaction(() => {
        for (const { write, fallback } of batch) {
          if (!fallback) {
            write();
            continue;
          }
          try {
            this.db.transaction(write)();
          } catch (err) {
            if (!(err instanceof Error) || !('code' in err) || !String(err.code).startsWith('SQLITE_CONSTRAINT')) throw err;
            fallback(err);
          }
        }
      })
      .immediate();
  }
}
