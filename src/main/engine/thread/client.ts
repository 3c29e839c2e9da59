/**
 * EngineThread: the engine (./entry.ts) in a worker thread of this process, seen from the host's thread
 * (the Electron main process): `handle(method, params)` → RpcResponse, `onEvent`, `openPhoto(id)` (the
 * checked bytes as a stream), `openThumb(id)`, `close(timeoutMs)`. Secrets stay on this side: the thread asks this
 * host's SecretStore (safeStorage in the desktop app). Native modules are loaded here before the thread
 * starts (process.dlopen is not thread-safe).
 */
import 'better-sqlite3';
import 'sharp';
import 'onnxruntime-node';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EngineEvent, RpcResponse } from '../../../shared/rpc';
import type { ProviderChoice } from '../../../shared/domain';
import type { SecretStore } from '../settings/secrets';
import type { RenditionKind } from '../thumbs';
import type { FromThread, ThreadInit, ToThread } from './protocol';

/** The built entry next to the bundle (out/main/engine-thread.js), else the TypeScript source through tsx. */
export function defaultThreadEntry(): URL {
  const js = new URL('./engine-thread.js', import.meta.url);
  return fs.existsSync(fileURLToPath(js)) ? js : new URL('./entry.ts', import.meta.url);
}

function startWorker(entry: URL, workerData: ThreadInit): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

export interface EngineThreadOptions {
  dbFile: string;
  settingsDir: string;
  secrets: SecretStore & { flush?(): Promise<void> };
  /** The settings' consent to weak secret storage, as the thread last reported it (read by an EncryptedFileSecretStore's allowWeak). */
  onAllowWeak?: (allowed: boolean) => void;
  host: 'desktop' | 'serve';
  /** The thread's console output (default: this thread's console). */
  onLog?: (level: 'info' | 'warn' | 'error', text: string) => void;
  user?: string;
  provider?: ProviderChoice;
  entry?: URL;
}

export type ThreadPhoto = { ok: true; mimeType: string; size: number; stream: Readable } | { ok: false; status: number; message: string };

export class EngineThread {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly calls = new Map<number, (r: RpcResponse) => void>();
  private readonly photos = new Map<number, { resolve: (p: ThreadPhoto) => void; stream: Readable | null }>();
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly readyPromise: Promise<void>;
  private failure: string | null = null;
  private closed: Promise<void> | null = null;

  private constructor(private readonly o: EngineThreadOptions) {
    this.worker = startWorker(o.entry ?? defaultThreadEntry(), {
      dbFile: o.dbFile,
      settingsDir: o.settingsDir,
      host: o.host,
      user: o.user,
      provider: o.provider,
      secretStatus: o.secrets.status(),
    });
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (m: FromThread) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'failed') {
          this.failure = m.message;
          reject(new Error(m.message));
        } else this.onMessage(m);
      });
      this.worker.on('error', (err) => {
        this.fail(err.message);
        reject(err);
      });
      this.worker.on('exit', (code) => {
        this.fail(`the engine thread stopped (exit code ${code})`);
        reject(new Error(this.failure ?? 'the engine thread stopped'));
      });
    });
    this.readyPromise.catch(() => undefined);
  }

  /** Starts the engine thread; resolves once its database is open (rejects with why it could not). */
  static async start(o: EngineThreadOptions): Promise<EngineThread> {
    const t = new EngineThread(o);
    await t.readyPromise;
    return t;
  }

  private fail(message: string): void {
    this.failure ??= message;
    for (const [id, resolve] of this.calls)
      resolve({ id, ok: false, error: { code: 'failed', message: `the engine stopped: ${this.failure}` } });
    this.calls.clear();
    for (const p of this.photos.values()) {
      if (p.stream) p.stream.destroy(new Error(this.failure));
      else p.resolve({ ok: false, status: 503, message: this.failure });
    }
    this.photos.clear();
  }

  private onMessage(m: FromThread): void {
    switch (m.type) {
      case 'response': {
        this.calls.get(m.id)?.(m.response);
        this.calls.delete(m.id);
        break;
      }
      case 'events':
        for (const e of m.events) for (const l of this.listeners) l(e);
        break;
      case 'secret':
        void this.answerSecret(m);
        break;
      case 'log':
        if (this.o.onLog) this.o.onLog(m.level, m.text);
        else console[m.level === 'info' ? 'log' : m.level](m.text);
        break;
      case 'photo-refused': {
        this.photos.get(m.id)?.resolve({ ok: false, status: m.status, message: m.message });
        this.photos.delete(m.id);
        break;
      }
      case 'photo-head': {
        const p = this.photos.get(m.id);
        if (!p) break;
        p.stream = new Readable({ read() {} });
        p.resolve({ ok: true, mimeType: m.mimeType, size: m.size, stream: p.stream });
        break;
      }
      case 'photo-chunk':
        this.photos.get(m.id)?.stream?.push(Buffer.from(m.chunk));
        break;
      case 'photo-end': {
        const s = this.photos.get(m.id)?.stream;
        this.photos.delete(m.id);
        if (m.error) s?.destroy(new Error(m.error));
        else s?.push(null);
        break;
      }
    }
  }

  private async answerSecret(m: Extract<FromThread, { type: 'secret' }>): Promise<void> {
    const s = this.o.secrets;
    this.o.onAllowWeak?.(m.allowWeak);
    let value: string | null = null;
    let error: string | undefined;
    try {
      if (m.op === 'get') value = await s.get(m.name!);
      else if (m.op === 'set') await s.set(m.name!, m.value!);
      else if (m.op === 'delete') await s.delete(m.name!);
      else await s.flush?.();
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    this.post({ type: 'secret-reply', id: m.id, value, status: s.status(), error });
  }

  private post(m: ToThread): void {
    this.worker.postMessage(m);
  }

  /** One call of the contract, answered by the engine thread's dispatcher (the same one serve uses). */
  handle(method: string, params: unknown): Promise<RpcResponse> {
    const id = this.nextId++;
    if (this.failure || this.closed)
      return Promise.resolve({
        id,
        ok: false,
        error: { code: 'failed', message: `the engine is not running: ${this.failure ?? 'closed'}` },
      });
    return new Promise((resolve) => {
      this.calls.set(id, resolve);
      this.post({ type: 'call', id, method, params });
    });
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A photo's checked bytes (EngineHost.openPhoto in the thread), or why not (404, 409, 410). */
  openPhoto(observationId: string, opts: { head?: boolean } = {}): Promise<ThreadPhoto> {
    return this.bytes((id) => ({ type: 'photo', id, observationId, head: opts.head ?? false }));
  }

  /** A photo's thumbnail (EngineHost.openThumb in the thread), or why not (404, 409, 410, 500). */
  openThumb(observationId: string, kind: RenditionKind = 'thumb'): Promise<ThreadPhoto> {
    return this.bytes((id) => ({ type: 'thumb', id, observationId, kind }));
  }

  private bytes(request: (id: number) => ToThread): Promise<ThreadPhoto> {
    const id = this.nextId++;
    if (this.failure || this.closed) return Promise.resolve({ ok: false, status: 503, message: 'the engine is not running' });
    return new Promise((resolve) => {
      this.photos.set(id, { resolve, stream: null });
      this.post(request(id));
    });
  }

  /** Closes the engine in its thread (imports and sync get `timeoutMs` to finish writing), then ends the thread. */
  close(timeoutMs = 8000): Promise<void> {
    this.closed ??= (async () => {
      if (this.failure) return;
      const done = new Promise<void>((resolve) => {
        this.worker.on('message', (m: FromThread) => m.type === 'closed' && resolve());
        this.worker.once('exit', () => resolve());
      });
      this.post({ type: 'close', timeoutMs });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs + 2000)))]);
      clearTimeout(timer);
      await this.worker.terminate();
    })();
    return this.closed;
  }
}
