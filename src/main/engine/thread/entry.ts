/**
 * The engine thread: EngineHost (database, imports, watched folders, sync, settings) and its RPC
 * dispatcher in a worker thread of the host process, so that none of its synchronous work (SQLite
 * commits, which the kernel may hold tens of ms on a busy disk) runs on the host's thread (the Electron
 * main process). Secrets stay with the host (safeStorage lives there): the SecretStore here asks for them.
 * Started by ./client.ts (EngineThread).
 */
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import type { EngineEvent } from '../../../shared/rpc';
import type { SecretName } from '../../../shared/settings';
import { EngineHost } from '../host';
import { createRpcHandler } from '../rpc';
import type { SecretStore, SecretStoreStatus } from '../settings/secrets';
import type { RenditionKind } from '../thumbs';
import type { FromThread, ThreadInit, ToThread } from './protocol';

const port = parentPort!;
const init = workerData as ThreadInit;
const post = (m: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

// the engine's console output goes to the host, which writes it to its log (redacted there) and its console
console.log = console.info = (...a: unknown[]) => post({ type: 'log', level: 'info', text: format(...a) });
console.warn = (...a: unknown[]) => post({ type: 'log', level: 'warn', text: format(...a) });
console.error = (...a: unknown[]) => post({ type: 'log', level: 'error', text: format(...a) });

/** The host's SecretStore, asked over messages; status() answers from the last status the host sent. */
class RemoteSecretStore implements SecretStore {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: string | null) => void; reject: (e: Error) => void }>();
  constructor(
    private lastStatus: SecretStoreStatus,
    private readonly allowWeak: () => boolean,
  ) {}
  reply(m: Extract<ToThread, { type: 'secret-reply' }>): void {
    this.lastStatus = m.status;
    const w = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    if (m.error) w?.reject(new Error(m.error));
    else w?.resolve(m.value);
  }
  private ask(op: 'get' | 'set' | 'delete' | 'flush', name?: SecretName, value?: string): Promise<string | null> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      post({ type: 'secret', id, op, name, value, allowWeak: this.allowWeak() });
    });
  }
  get(name: SecretName) {
    return this.ask('get', name);
  }
  async set(name: SecretName, value: string) {
    await this.ask('set', name, value);
  }
  async delete(name: SecretName) {
    await this.ask('delete', name);
  }
  async flush() {
    await this.ask('flush');
  }
  status() {
    return this.lastStatus;
  }
}

let host: EngineHost;
let secrets: RemoteSecretStore;
try {
  secrets = new RemoteSecretStore(init.secretStatus, () => host?.settings.settings().secrets.allowWeakStorage ?? false);
  host = EngineHost.open(init.dbFile, {
    user: init.user,
    provider: init.provider,
    settings: { dir: init.settingsDir, secrets, host: init.host },
  }).start();
} catch (err) {
  post({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  port.close();
  throw err;
}
const handle = createRpcHandler(host);

// events go to the host in batches of what arrived in the same turn (the host batches again for the page)
let pending: EngineEvent[] = [];
host.onEvent((e) => {
  if (!pending.length) setImmediate(() => (post({ type: 'events', events: pending }), (pending = [])));
  pending.push(e);
});

const CHUNK = 256 * 1024;

port.on('message', (m: ToThread) => {
  switch (m.type) {
    case 'call':
      void handle(m.method, m.params, m.id).then((response) => post({ type: 'response', id: m.id, response }));
      break;
    case 'secret-reply':
      secrets.reply(m);
      break;
    case 'photo':
      void sendPhoto(m.id, m.observationId, m.head);
      break;
    case 'thumb':
      void sendThumb(m.id, m.observationId, m.kind ?? 'thumb');
      break;
    case 'close':
      void host.close({ timeoutMs: m.timeoutMs }).finally(() => {
        console.log('engine thread: closed');
        post({ type: 'closed' });
        port.close();
      });
      break;
  }
});

/** The checked photo's bytes, in transferred chunks (the same check as serve's /photo: EngineHost.openPhoto). */
async function sendPhoto(id: number, observationId: string, head: boolean): Promise<void> {
  let photo;
  try {
    photo = await host.openPhoto(observationId);
  } catch (err) {
    post({ type: 'photo-refused', id, status: 500, message: `cannot read the photo: ${(err as Error).message}` });
    return;
  }
  if (!photo.ok) {
    post({ type: 'photo-refused', id, status: photo.status, message: photo.message });
    return;
  }
  post({ type: 'photo-head', id, mimeType: photo.mimeType, size: photo.size });
  if (head) {
    await photo.close();
    post({ type: 'photo-end', id });
    return;
  }
  try {
    let buf: Buffer[] = [];
    let n = 0;
    const flush = () => {
      const chunk = new Uint8Array(n);
      let o = 0;
      for (const b of buf) {
        chunk.set(b, o);
        o += b.length;
      }
      post({ type: 'photo-chunk', id, chunk: chunk.buffer }, [chunk.buffer]);
      buf = [];
      n = 0;
    };
    for await (const b of photo.stream() as AsyncIterable<Buffer>) {
      buf.push(b);
      n += b.length;
      if (n >= CHUNK) flush();
    }
    if (n) flush();
    post({ type: 'photo-end', id });
  } catch (err) {
    post({ type: 'photo-end', id, error: (err as Error).message });
  }
}

/** A thumbnail or view (EngineHost.openThumb), as one chunk: a few kB, a few hundred for a view. */
async function sendThumb(id: number, observationId: string, kind: RenditionKind): Promise<void> {
  const thumb = await host
    .openThumb(observationId, { kind })
    .catch((err: Error) => ({ ok: false as const, status: 500, message: err.message }));
  if (!thumb.ok) {
    post({ type: 'photo-refused', id, status: thumb.status, message: thumb.message });
    return;
  }
  post({ type: 'photo-head', id, mimeType: thumb.mimeType, size: thumb.bytes.length });
  const chunk = new Uint8Array(thumb.bytes).buffer;
  post({ type: 'photo-chunk', id, chunk }, [chunk]);
  post({ type: 'photo-end', id });
}

console.log(`engine thread: database ${init.dbFile} open, settings in ${init.settingsDir}`);
// the first page warm before the window asks for it (the window loads meanwhile)
host.warmQueue();
post({ type: 'ready' });
