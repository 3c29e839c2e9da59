/**
 * IPC wiring: the renderer's one typed contract (src/shared/rpc) over Electron IPC.
 * - `kliq:call` (invoke): method + params → RpcResponse, answered by the engine's dispatcher
 *   (createRpcHandler, the same one `kliq-audit serve` uses), behind the sender check.
 * - `kliq:events` (send): EngineEvent[] batches, at most every 150 ms, to the windows that called.
 * - `kliq-photo://<observationId>`: a photo's original file for <img> (the page applies EXIF orientation),
 *   only while it is the file that was audited (EngineHost.openPhoto: 409 changed, 410 gone);
 *   `kliq-photo://<observationId>/thumb` its thumbnail (EngineHost.openThumb).
 * The engine runs in its own worker thread (engine/thread: EngineThread), so that none of its synchronous
 * work (SQLite commits) runs on this, the main, thread: handlers here only relay.
 * Handlers stay thin; real work belongs to the engine (src/main/engine), not here.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { app, ipcMain, Notification, protocol, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { KLIQ_IPC, PHOTO_SCHEME } from '../../shared/ipc';
import type { EngineEvent, RpcResponse, ShellCommand } from '../../shared/rpc';
import { SECRET_NAMES } from '../../shared/settings';
import { EngineThread } from '../engine/thread/client';
import { DB_FILE_NAME, userDataDir } from '../engine/paths';
import type { RenditionKind } from '../engine/thumbs';
import { EncryptedFileSecretStore, type SecretStore } from '../engine/settings';
import { safeStorageEncryptor } from './safe-storage';
import { watchBatchNotification } from './notify';
import { boundedShutdown } from './shutdown';
import type { RotatingLog } from './log';

/** Decides whether an invoke comes from our own window showing our own page. */
export type SenderCheck = (event: IpcMainInvokeEvent) => boolean;

const EVENT_INTERVAL_MS = 150;
const EVENT_BATCH_MAX = 200;

interface Engine {
  thread: EngineThread;
  handle: (method: string, params: unknown) => Promise<RpcResponse>;
  close(): Promise<void>;
}

let engine: Engine | null = null;
let starting: Promise<Engine | null> | null = null;
let engineError: string | null = null;
const subscribers = new Set<WebContents>();

let log: RotatingLog | null = null;
/** Secret values the log takes out of every line (refreshed when the settings change). */
let knownSecrets: (string | null)[] = [];
let refreshSecrets = (): void => undefined;

/** Where the shell writes its log; set once by app.ts. */
export function setShellLog(l: RotatingLog): void {
  log = l;
}
export function secretValues(): (string | null)[] {
  return knownSecrets;
}

/**
 * Opens the user-data database and the engine once, on first use; a failure is reported to every call.
 * Settings: settings.json in the user-data folder; secrets: encrypted with safeStorage (OS keychain) in
 * secrets.enc.json beside it, in memory only on Linux without a keyring until the auditor allows weak storage.
 */
export function getEngine(): Promise<Engine | null> {
  starting ??= (async () => {
    try {
      const userData = userDataDir();
      let allowWeak = false;
      const store = new EncryptedFileSecretStore(userData, safeStorageEncryptor(), () => allowWeak);
      // every change (a save, a sign-in, a refresh token rotated by sync) refreshes the values the log redacts
      const secrets: SecretStore & { flush(): Promise<void> } = {
        get: (n) => store.get(n),
        set: async (n, v) => {
          knownSecrets = [...knownSecrets, v];
          await store.set(n, v);
          refreshSecrets();
        },
        delete: async (n) => {
          await store.delete(n);
          refreshSecrets();
        },
        flush: () => store.flush(),
        status: () => store.status(),
      };
      const thread = await EngineThread.start({
        dbFile: path.join(userData, DB_FILE_NAME),
        settingsDir: userData,
        secrets,
        onAllowWeak: (allowed) => (allowWeak = allowed),
        host: 'desktop',
        // the engine's console lines: into the log (redacted) and the terminal
        onLog: (level, text) => console[level === 'info' ? 'log' : level](`[engine] ${text}`),
      });
      refreshSecrets = () =>
        void Promise.all(SECRET_NAMES.map((n) => store.get(n))).then(
          (v) => (knownSecrets = v),
          () => undefined,
        );
      refreshSecrets();
      const stopEvents = thread.onEvent((e) => {
        queueEvent(e);
      });
      engine = {
        thread,
        handle: (method, params) => thread.handle(method, params),
        close: async () => {
          stopEvents();
          await thread.close(8000);
        },
      };
      return engine;
    } catch (err) {
      engineError = `cannot open the KLIQ Audit database: ${(err as Error).message}`;
      console.error(engineError);
      return null;
    }
  })();
  return starting;
}

/** Asks the page to show something (menus: Import, Settings, Shortcuts…). */
export function sendShellCommand(command: ShellCommand): void {
  queueEvent({ type: 'shell', command });
  flushEvents();
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
  const note = watchBatchNotification(e as { type: string });
  if (note && Notification.isSupported()) new Notification({ title: note.title, body: note.body }).show();
  pending.push(e);
  if (pending.length >= EVENT_BATCH_MAX) flushEvents();
  else timer ??= setTimeout(flushEvents, EVENT_INTERVAL_MS);
}

function subscribe(wc: WebContents): void {
  if (subscribers.has(wc)) return;
  subscribers.add(wc);
  wc.once('destroyed', () => subscribers.delete(wc));
}

/**
 * `pageOrigin`: the renderer's origin (app://kliq, or the Vite dev server). Its fetches of kliq-photo:// are
 * cross-origin, so every answer, errors included (the page reads a failed photo's status), allows it.
 */
export function registerIpc(isTrusted: SenderCheck, pageOrigin: string): void {
  ipcMain.handle(KLIQ_IPC.call, async (event, method: unknown, params: unknown): Promise<RpcResponse> => {
    if (!isTrusted(event)) {
      // Do not tell an untrusted caller anything beyond the refusal.
      throw new Error(`${KLIQ_IPC.call}: refused (untrusted sender)`);
    }
    subscribe(event.sender);
    const e = await getEngine();
    if (!e) return { id: 0, ok: false, error: { code: 'failed', message: engineError ?? 'the engine is not available' } };
    if (typeof method !== 'string') return { id: 0, ok: false, error: { code: 'bad-request', message: 'method must be a string' } };
    return e.handle(method, params);
  });

  const cors = { 'Access-Control-Allow-Origin': pageOrigin };
  const text = (body: string, status: number): Response =>
    new Response(body, { status, headers: { ...cors, 'Content-Type': 'text/plain; charset=utf-8' } });
  protocol.handle(PHOTO_SCHEME, async (request) => {
    const url = new URL(request.url);
    const id = decodeURIComponent(url.hostname || url.pathname.replace(/^\/+/, ''));
    if (!/^[A-Za-z0-9_]+$/.test(id)) return text('bad photo id', 400);
    // kliq-photo://<id>/thumb, /view, /small: its thumbnail, its screen-sized views (serve's /thumb, /view, /small)
    const kind =
      url.hostname !== '' && ['/thumb', '/view', '/small'].includes(url.pathname) ? (url.pathname.slice(1) as RenditionKind) : null;
    const e = await getEngine();
    if (!e) return text(engineError ?? 'the engine is not available', 503);
    // the same check as serve's /photo, in the engine thread: the audited file or a 404/409/410 with its reason
    const head = request.method === 'HEAD';
    const photo = await (kind ? e.thread.openThumb(id, kind) : e.thread.openPhoto(id, { head })).catch(() => null);
    if (!photo) return text('cannot read the photo', 500);
    if (!photo.ok) return text(photo.message, photo.status);
    if (head) {
      photo.stream.destroy();
      return new Response(null, { status: 200, headers: { ...cors, 'Content-Type': photo.mimeType } });
    }
    const body = Readable.toWeb(photo.stream) as unknown as ReadableStream<Uint8Array>;
    return new Response(body, {
      status: 200,
      headers: { ...cors, 'Content-Type': photo.mimeType, 'Content-Length': String(photo.size) },
    });
  });

  // Quitting waits (bounded: 10 s) for the photos in flight to be written and the sync requests in
  // progress to end (EngineHost.close stops each service with its own bound), then closes the database.
  app.on('before-quit', (event) => {
    const e = engine;
    if (!e) return;
    event.preventDefault();
    engine = null;
    void boundedShutdown([{ name: 'engine (imports, sync, database)', run: () => e.close() }], 10_000)
      .then((r) => {
        if (r.timedOut.length) log?.warn(`quit: gave up waiting for ${r.timedOut.join(', ')} after 10 s`);
        for (const f of r.failed) log?.error(`quit: ${f.name} failed: ${f.error}`);
        if (!r.timedOut.length && !r.failed.length) log?.info('quit: everything written and closed');
      })
      .finally(() => app.quit());
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
