import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
// Native modules are loaded in the main thread before any worker starts (process.dlopen is not thread-safe).
import 'onnxruntime-node';
import type { InferRequest, InitRequest, WorkerDetection, WorkerResponse } from './protocol';
import type { ProviderName } from '../../../shared/domain';

/**
 * Where the worker entry is. Built (electron-vite) hosts pass the bundled file; under tsx (CLI, tests)
 * the TypeScript source is used and tsx's loader, inherited through execArgv, compiles it.
 */
export function defaultWorkerEntry(): URL {
  const js = new URL('./worker.js', import.meta.url);
  return fs.existsSync(fileURLToPath(js)) ? js : new URL('./worker.ts', import.meta.url);
}

/** A .ts entry gets tsx's loader registered inside the worker first (CLI and tests run from source). */
export function startWorker(entry: URL | string): Worker {
  const url = typeof entry === 'string' ? new URL(`file://${entry}`) : entry;
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true });
}

export interface InferResult {
  detections: WorkerDetection[];
  inferMs: number;
  postMs: number;
  /** The input buffer, handed back for reuse. */
  tensor: Float32Array;
}

export interface ReadyInfo {
  provider: ProviderName;
  fallback: string | null;
  inputWidth: number;
  inputHeight: number;
}

/** The engine's handle on the inference worker: one long-lived worker, one session, requests by id. */
export class InferenceWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: InferResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private readyPromise: Promise<ReadyInfo>;
  private fatal: Error | null = null;
  private exited = false;

  constructor(init: Omit<InitRequest, 'type'>, entry: URL | string = defaultWorkerEntry()) {
    // onnxruntime's native module is loaded by the worker; sharp and better-sqlite3 stay in the main thread.
    this.worker = startWorker(entry);
    this.readyPromise = new Promise<ReadyInfo>((resolve, reject) => {
      const onMessage = (msg: WorkerResponse) => {
        if (msg.type === 'ready') {
          resolve({ provider: msg.provider, fallback: msg.fallback, inputWidth: msg.inputWidth, inputHeight: msg.inputHeight });
        } else if (msg.type === 'error' && msg.id === null) {
          reject(new Error(msg.message));
        } else if (msg.type === 'result') {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          p?.resolve({ detections: msg.detections, inferMs: msg.inferMs, postMs: msg.postMs, tensor: msg.tensor });
        } else if (msg.type === 'error' && msg.id !== null) {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          p?.reject(new Error(msg.message));
        }
      };
      this.worker.on('message', onMessage);
      this.worker.on('error', (err) => this.die(err, reject));
      this.worker.on('exit', (code) => {
        this.exited = true;
        if (code !== 0 || this.pending.size) this.die(new Error(`the inference worker stopped (exit code ${code})`), reject);
      });
    });
    this.readyPromise.catch(() => {});
    this.worker.postMessage({ type: 'init', ...init } satisfies InitRequest);
  }

  private die(err: Error, rejectReady: (e: Error) => void) {
    this.fatal ??= err;
    rejectReady(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  ready(): Promise<ReadyInfo> {
    return this.readyPromise;
  }

  infer(req: Omit<InferRequest, 'type' | 'id'>): Promise<InferResult> {
    if (this.fatal) return Promise.reject(this.fatal);
    const id = this.nextId++;
    return new Promise<InferResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'infer', id, ...req } satisfies InferRequest, [req.tensor.buffer as ArrayBuffer]);
    });
  }

  /** Releases the session and ends the worker thread. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' });
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}
