/**
 * `kliq-audit serve`: the engine and the built renderer on 127.0.0.1, with a WebSocket transport for
 * the typed contract (src/shared/rpc). A random token, kept per database (EngineHost.serveToken, so a
 * restart keeps open pages valid; `--new-token` rotates it), is required for the WebSocket and for
 * photo pixels (/photo, /thumb); /session tells a page whether its token is still valid. The WebSocket also refuses
 * other origins and other Host names (DNS rebinding). Back-pressure per connection (SERVE_LIMITS):
 * a few requests handled at once, the socket not read while requests wait or while its answers are
 * not being read, and a client that queues too many requests is closed (1008).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { RequestSchema, type EngineEvent, type ServerMessage } from '../shared/rpc';
import { createRpcHandler } from './engine/rpc';
import type { EngineHost } from './engine/host';
import type { RenditionKind } from './engine/thumbs';
import { ConfigError } from './engine/errors';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Back-pressure per WebSocket connection. */
export interface ServeLimits {
  /** Requests of one connection handled at once; the next ones wait, in order. */
  maxInFlight: number;
  /** Requests waiting beyond those (read before reading stopped): one more and the connection is closed (1008). */
  maxQueued: number;
  /** The socket is not read while this many bytes of answers wait to be sent (the client is not reading them). */
  highWaterBytes: number;
  /** A client that lets this many bytes pile up anyway (events keep coming) is dropped. */
  maxBufferedBytes: number;
}

export const SERVE_LIMITS: ServeLimits = {
  maxInFlight: 8,
  maxQueued: 2048,
  highWaterBytes: 8 * 1024 * 1024,
  maxBufferedBytes: 64 * 1024 * 1024,
};

export interface ServeOptions {
  host: EngineHost;
  rendererDir: string;
  port: number;
  /** Replace the database's serve token with a new one (`--new-token`): pages opened with the old URL are told. */
  newToken?: boolean;
  /** Back-pressure limits (default SERVE_LIMITS). */
  limits?: Partial<ServeLimits>;
  /** Events are sent at most this often, batched (Bruno batches watcher events the same way). */
  eventIntervalMs?: number;
}

export interface Served {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export async function serve(opts: ServeOptions): Promise<Served> {
  const index = path.join(opts.rendererDir, 'index.html');
  if (!fs.existsSync(index))
    throw new ConfigError(`the UI is not built (${index} is missing): run \`npm run build\` first, or use \`npm run serve\`.`);
  const token = opts.host.serveToken({ rotate: opts.newToken });
  const rpc = createRpcHandler(opts.host);
  /** KLIQ_SLOW_MS=n: every request that took n ms or more is logged to stderr (method, ms), to find what a screen waits on. */
  const slowMs = Number(process.env.KLIQ_SLOW_MS) || 0;
  const slow = (what: string, t0: number) => {
    const ms = performance.now() - t0;
    if (slowMs && ms >= slowMs) process.stderr.write(`slow: ${what} ${ms.toFixed(1)} ms\n`);
  };
  const handle: typeof rpc = async (method, params, id) => {
    const t0 = performance.now();
    try {
      return await rpc(method, params, id);
    } finally {
      slow(`${method} ${JSON.stringify(params).slice(0, 120)}`, t0);
    }
  };
  let port = opts.port;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const origins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  /** Pixels only from the file that was audited, streamed from the handle that was checked (see engine/photo-file.ts). */
  const sendPhoto = async (id: string, head: boolean, res: http.ServerResponse) => {
    let photo;
    try {
      photo = await opts.host.openPhoto(id);
    } catch {
      res.writeHead(500).end('cannot read the photo');
      return;
    }
    if (!photo.ok) {
      res.writeHead(photo.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(photo.message);
      return;
    }
    // cacheable: what the browser keeps are the bytes that passed the check (the audited photo)
    res.writeHead(200, { 'Content-Type': photo.mimeType, 'Content-Length': photo.size, 'Cache-Control': 'private, max-age=3600' });
    if (head) {
      await photo.close();
      res.end();
      return;
    }
    const stream = photo.stream();
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  };

  /** A thumbnail (EngineHost.openThumb): kept ones at once, others made within its limit; a request closed meanwhile is dropped. */
  const sendThumb = async (id: string, kind: RenditionKind, head: boolean, res: http.ServerResponse) => {
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const thumb = await opts.host.openThumb(id, { signal: gone.signal, kind }).catch(() => null);
    if (res.destroyed) return;
    if (!thumb) {
      res.writeHead(500).end('cannot read the photo');
      return;
    }
    if (!thumb.ok) {
      res.writeHead(thumb.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(thumb.message);
      return;
    }
    // an observation is one content (sha256) for good: its thumbnail never changes; a view is kept like the
    // photo it stands for (checked against the file on every request, see EngineHost.openThumb)
    res.writeHead(200, {
      'Content-Type': thumb.mimeType,
      'Content-Length': thumb.bytes.length,
      'Cache-Control': kind === 'thumb' ? 'private, max-age=31536000, immutable' : 'private, max-age=3600',
    });
    res.end(head ? undefined : thumb.bytes);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!allowedHosts().has(req.headers.host ?? '')) {
      res.writeHead(403).end('forbidden host');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    // a page that cannot reconnect asks whether its token is still the one (204) or not (401: a new token)
    if (url.pathname === '/session') {
      res.setHeader('Cache-Control', 'no-store');
      res.writeHead(safeEqual(url.searchParams.get('token') ?? '', token) ? 204 : 401).end();
      return;
    }
    const photo = /^\/(photo|thumb|view|small)\/([A-Za-z0-9_]+)$/.exec(url.pathname);
    if (photo) {
      if (slowMs) {
        const t0 = performance.now();
        res.on('finish', () => slow(url.pathname, t0));
      }
      if (!safeEqual(url.searchParams.get('token') ?? '', token)) {
        res.writeHead(401).end('token required');
        return;
      }
      if (photo[1] !== 'photo') void sendThumb(photo[2], photo[1] as RenditionKind, req.method === 'HEAD', res);
      else void sendPhoto(photo[2], req.method === 'HEAD', res);
      return;
    }
    // the built renderer: static files, no data in them
    let rel: string;
    try {
      rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname).replace(/^\/+/, '');
    } catch {
      res.writeHead(400).end('bad path');
      return;
    }
    const file = path.resolve(opts.rendererDir, rel);
    if (!file.startsWith(path.resolve(opts.rendererDir) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'Cache-Control': rel === 'index.html' ? 'no-store' : 'public, max-age=31536000, immutable',
    });
    fs.createReadStream(file).pipe(res);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const origin = req.headers.origin;
    const refuse = (code: number, why: string) => {
      socket.end(`HTTP/1.1 ${code} ${why}\r\nConnection: close\r\n\r\n`);
    };
    if (url.pathname !== '/rpc') return refuse(404, 'Not Found');
    if (!allowedHosts().has(req.headers.host ?? '')) return refuse(403, 'Forbidden');
    // browsers always send Origin: only our own page may connect; other clients must still have the token
    if (origin !== undefined && !origins().has(origin)) return refuse(403, 'Forbidden');
    if (!safeEqual(url.searchParams.get('token') ?? '', token)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => connection(ws));
  });

  const interval = opts.eventIntervalMs ?? 150;
  const limits: ServeLimits = { ...SERVE_LIMITS, ...opts.limits };
  const connection = (ws: WebSocket) => {
    /** Raw requests read but not yet handled, in order. */
    const queue: RawData[] = [];
    let inFlight = 0;
    let reading = true;
    const busy = () => inFlight >= limits.maxInFlight || ws.bufferedAmount >= limits.highWaterBytes;
    /**
     * Starts what may start; stops reading this socket while anything waits or the answers are not being read.
     * One request per turn of the event loop: most handlers are synchronous (SQLite), and starting them all in
     * one loop would hold every answer until the last had run (a fast page behind a slow count in the same
     * packet). Started one per turn, each answer is written before the next handler runs.
     */
    let turn: NodeJS.Immediate | null = null;
    const pump = () => {
      if (ws.readyState !== ws.OPEN) return;
      if (queue.length && !busy() && !turn) {
        void run(queue.shift()!);
        // frames that arrive in the same read are emitted in one go: they wait for the next turn too
        turn = setImmediate(() => {
          turn = null;
          pump();
        });
      }
      const stop = queue.length > 0 || busy();
      if (stop && reading) ws.pause();
      else if (!stop && !reading) ws.resume();
      reading = !stop;
    };
    const send = (m: ServerMessage) => {
      if (ws.readyState !== ws.OPEN) return;
      // a client that reads nothing while events keep coming: drop it rather than hold its answers
      if (ws.bufferedAmount > limits.maxBufferedBytes) return ws.terminate();
      ws.send(JSON.stringify(m), () => pump());
    };
    let pending: EngineEvent[] = [];
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      timer = null;
      if (pending.length) send({ kind: 'events', events: pending });
      pending = [];
    };
    const off = opts.host.onEvent((e) => {
      pending.push(e);
      if (pending.length >= 200) flush();
      else timer ??= setTimeout(flush, interval);
    });
    const run = async (data: RawData) => {
      inFlight++;
      try {
        let req;
        try {
          req = RequestSchema.parse(JSON.parse(data.toString()));
        } catch {
          send({
            kind: 'response',
            id: -1,
            ok: false,
            error: { code: 'bad-request', message: 'not a request: send {"id", "method", "params"}' },
          });
          return;
        }
        send({ kind: 'response', ...(await handle(req.method, req.params, req.id)) });
      } finally {
        inFlight--;
        pump();
      }
    };
    ws.on('message', (data) => {
      if (ws.readyState !== ws.OPEN) return;
      // frames already read when reading stopped still arrive: they wait, up to a limit
      if (queue.length >= limits.maxQueued) {
        queue.length = 0;
        ws.close(1008, `more than ${limits.maxQueued} requests waiting: read the answers before sending more`);
        ws.resume(); // to read the client's close frame
        return;
      }
      queue.push(data);
      pump();
    });
    // an oversized or malformed frame: drop this client, never the server
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      queue.length = 0;
      if (turn) clearImmediate(turn);
      off();
      if (timer) clearTimeout(timer);
    });
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' ? new ConfigError(`port ${opts.port} is in use: pick another --port, or --port 0 for a free one`) : err,
      ),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
