/**
 * IPC wiring: the renderer's one typed contract (src/shared/rpc) over Electron IPC.
 * - `kliq:call` (invoke): method + params → RpcResponse, answered by the engine's dispatcher
 *   (createRpcHandler, the same one `kliq-audit serve` uses), behind the sender check.
 * - `kliq:events` (send): EngineEvent[] batches, at most every 150 ms, to the windows that called.
 * - `kliq-photo://<observationId>`: a photo's original file for <img> (the page applies EXIF orientation),
 *   only while it is the file that was audited (EngineHost.openPhoto: 409 changed, 410 gone).
 * Handlers stay thin; real work belongs to the engine (src/main/engine), not here.
 */
import { Readable } from 'node:stream';
import { app, ipcMain, protocol, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { KLIQ_IPC, PHOTO_SCHEME } from '../../shared/ipc';
import type { EngineEvent, RpcResponse } from '../../shared/rpc';
import { createRpcHandler } from '../engine/rpc';
import { EngineHost } from '../engine/host';
import { defaultDbPath } from '../engine/paths';

/** Decides whether an invoke comes from our own window showing our own page. */
export type SenderCheck = (event: IpcMainInvokeEvent) => boolean;

const EVENT_INTERVAL_MS = 150;
const EVENT_BATCH_MAX = 200;

interface Engine {
  host: EngineHost;
  handle: (method: string, params: unknown) => Promise<RpcResponse>;
  close(): Promise<void>;
}

let engine: Engine | null = null;
let engineError: string | null = null;
const subscribers = new Set<WebContents>();

/** Opens the user-data database and the engine once, on first use; a failure is reported to every call. */
function getEngine(): Engine | null {
  if (engine || engineError) return engine;
  try {
    const host = EngineHost.open(defaultDbPath()).start();
    const stopEvents = host.onEvent(queueEvent);
    engine = {
      host,
      handle: createRpcHandler(host),
      close: async () => {
        stopEvents();
        await host.close({ timeoutMs: 5000 });
      },
    };
  } catch (err) {
    engineError = `cannot open the KLIQ Audit database: ${(err as Error).message}`;
    console.error(engineError);
  }
  return engine;
}

let pending: EngineEvent[] = [];
let timer: NodeJS.Timeout | null = null;

function flushEvents(): void {
  timer = null;
  const batch = pending;
  pending = [];
  if (!batch.length) return;
  for (const wc of subscribers) if (!wc.isDestroyed()) wc.send(KLIQ_IPC.events, batch);
}

function queueEvent(e: EngineEvent): void {
  pending.push(e);
  if (pending.length >= EVENT_BATCH_MAX) flushEvents();
  else timer ??= setTimeout(flushEvents, EVENT_INTERVAL_MS);
}

function subscribe(wc: WebContents): void {
  if (subscribers.has(wc)) return;
  subscribers.add(wc);
  wc.once('destroyed', () => subscribers.delete(wc));
}

export function registerIpc(isTrusted: SenderCheck): void {
  ipcMain.handle(KLIQ_IPC.call, async (event, method: unknown, params: unknown): Promise<RpcResponse> => {
    if (!isTrusted(event)) {
      // Do not tell an untrusted caller anything beyond the refusal.
      throw new Error(`${KLIQ_IPC.call}: refused (untrusted sender)`);
    }
    subscribe(event.sender);
    const e = getEngine();
    if (!e) return { id: 0, ok: false, error: { code: 'failed', message: engineError ?? 'the engine is not available' } };
    if (typeof method !== 'string') return { id: 0, ok: false, error: { code: 'bad-request', message: 'method must be a string' } };
    return e.handle(method, params);
  });

  protocol.handle(PHOTO_SCHEME, async (request) => {
    const url = new URL(request.url);
    const id = decodeURIComponent(url.hostname || url.pathname.replace(/^\/+/, ''));
    if (!/^[A-Za-z0-9_]+$/.test(id)) return new Response('bad photo id', { status: 400 });
    const host = getEngine()?.host;
    if (!host) return new Response(engineError ?? 'the engine is not available', { status: 503 });
    // the same check as serve's /photo: the audited file or a 404/409/410 with its reason (engine/photo-file.ts)
    const photo = await host.openPhoto(id).catch(() => null);
    if (!photo) return new Response('cannot read the photo', { status: 500 });
    if (!photo.ok) return new Response(photo.message, { status: photo.status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
    if (request.method === 'HEAD') {
      await photo.close();
      return new Response(null, { status: 200, headers: { 'Content-Type': photo.mimeType } });
    }
    const body = Readable.toWeb(photo.stream()) as unknown as ReadableStream<Uint8Array>;
    return new Response(body, { status: 200, headers: { 'Content-Type': photo.mimeType, 'Content-Length': String(photo.size) } });
  });

  // Quitting waits (at most 5 s) for the photos in flight to be written, then closes the database.
  app.on('before-quit', (event) => {
    const e = engine;
    if (!e) return;
    event.preventDefault();
    engine = null;
    void e.close().finally(() => app.quit());
  });
}

export function unregisterIpc(): void {
  ipcMain.removeHandler(KLIQ_IPC.call);
  protocol.unhandle(PHOTO_SCHEME);
  if (timer) clearTimeout(timer);
  timer = null;
  pending = [];
  subscribers.clear();
}
