/**
 * WAL checkpoints off the host's thread. SQLite checkpoints the WAL into the database file when a
 * commit finds it over 1000 pages (wal_autocheckpoint), inside that commit, on the committing thread:
 * page copies and two fsyncs, 30–60 ms on a busy disk (measured by `npm run bench:mainthread`, where they
 * were the only blocks of the engine's thread over 50 ms). For a long-lived host (the desktop app's main
 * process, serve) the host's connection stops auto-checkpointing and a worker thread with its own
 * connection runs PASSIVE checkpoints every second (a PASSIVE checkpoint never blocks the writer, and is
 * never blocked by it: it copies what it can). If the worker cannot start or dies, auto-checkpoints are
 * turned back on. CLI runs keep SQLite's default.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './index';

// CommonJS, so it needs no file of its own in the build: better-sqlite3 is required by absolute path
// (already loaded in the main thread: native modules are loaded there before any worker starts).
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
let failures = 0;
const run = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    failures = 0;
    return r;
  } catch (err) {
    if (++failures === 3) parentPort.postMessage({ type: 'error', message: String(err && err.message || err) });
    return null;
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m && m.type === 'now') parentPort.postMessage({ type: 'checkpoint', id: m.id, result: run() });
  if (m && m.type === 'stop') {
    clearInterval(timer);
    run();
    db.close();
    parentPort.postMessage({ type: 'stopped' });
    parentPort.close();
  }
});
parentPort.postMessage({ type: 'ready' });
`;

export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

export class WalCheckpointer {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: CheckpointResult | null) => void>();
  /** Why checkpoints are back on the host's thread, if they are. */
  problem: string | null = null;

  constructor(
    private readonly db: Db,
    private readonly opts: { intervalMs?: number } = {},
  ) {}

  /** Moves checkpoints to a worker thread (a file database in WAL mode only). */
  start(): void {
    if (this.worker || this.db.memory || this.db.readonly) return;
    if (String(this.db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return;
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    let worker: Worker;
    try {
      worker = new Worker(WORKER_CODE, {
        eval: true,
        workerData: { module, file: this.db.name, intervalMs: this.opts.intervalMs ?? 1000 },
      });
    } catch (err) {
      this.problem = `checkpoint worker not started: ${(err as Error).message}`;
      return;
    }
    this.worker = worker;
    this.db.pragma('wal_autocheckpoint = 0');
    worker.unref();
    worker.on('message', (m: { type: string; id?: number; result?: CheckpointResult | null; message?: string }) => {
      if (m.type === 'checkpoint' && m.id !== undefined) {
        this.waiting.get(m.id)?.(m.result ?? null);
        this.waiting.delete(m.id);
      }
      if (m.type === 'error') this.fallBack(`checkpoints keep failing in the worker: ${m.message}`);
    });
    worker.on('error', (err) => this.fallBack(`checkpoint worker failed: ${err.message}`));
    worker.on('exit', () => {
      if (this.worker === worker) this.fallBack('checkpoint worker ended');
    });
  }

  private fallBack(why: string): void {
    this.problem = why;
    const w = this.worker;
    this.worker = null;
    for (const resolve of this.waiting.values()) resolve(null);
    this.waiting.clear();
    if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    void w?.terminate();
  }

  /** True while checkpoints run in the worker. */
  get active(): boolean {
    return this.worker !== null;
  }

  /** A checkpoint now (tests, and before a backup); null when the worker is not running. */
  checkpointNow(): Promise<CheckpointResult | null> {
    const w = this.worker;
    if (!w) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      w.postMessage({ type: 'now', id });
    });
  }

  /** A last checkpoint in the worker, then auto-checkpoints back on the host's connection (bounded wait). */
  async stop(timeoutMs = 5000): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        w.on('message', (m: { type: string }) => m.type === 'stopped' && resolve());
        w.once('exit', () => resolve());
        w.postMessage({ type: 'stop' });
      }),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    await w.terminate();
    if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
  }
}
