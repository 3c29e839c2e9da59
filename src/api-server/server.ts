/**
 * The local KLIQ API server: every endpoint of seeds 000–002 under /v1 on 127.0.0.1 only, backed by SQLite,
 * CV jobs on the engine's ONNX pipeline, signed webhooks, signed uploads, idempotency, rate limits and
 * fault injection. `startApiServer(opts)` runs it in-process (tests); src/api-server/main.ts is the CLI.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ProviderChoice } from '../shared/domain';
import { MAX_UPLOAD_BYTES, UPLOAD_CONTENT_TYPES } from '../kliq/wire';
import { CvRunner } from './cv';
import { HttpError, prng, readBody, type Ctx, type Principal, type Reply } from './http';
import { Jwt } from './jwt';
import { buildRoutes, uploadIdOf } from './routes';
import { nowIso, randomId, sha256, Store } from './store';
import { DEFAULT_WEBHOOK_RETRY_DELAYS_MS, WebhookDispatcher } from './webhooks';

export interface SeedTenant {
  id: string;
  apiKey?: string;
  users?: { email: string; password: string }[];
  clients?: { id: string; secret: string }[];
}

export interface ApiServerOptions {
  /** 0 (default): any free port. */
  port?: number;
  /** SQLite file; ':memory:' (default) keeps nothing. Uploads go to FILE.uploads/, the engine's db to FILE.engine.db. */
  db?: string;
  tenants?: SeedTenant[];
  /** Share of requests (0–1) that fail: a 500, a dropped connection, or a response lost after the work is done. */
  faultRate?: number;
  /** Seed of the fault PRNG (reproducible runs). */
  faultSeed?: number;
  /** Added to every request. */
  latencyMs?: number;
  /** Requests per second per credential (or per client address without one) before 429. Default 100. */
  rateLimitPerSecond?: number;
  accessTokenTtlMs?: number;
  refreshTokenTtlMs?: number;
  uploadUrlTtlMs?: number;
  /** Execution provider of CV jobs. Default 'cpu'. */
  provider?: ProviderChoice;
  webhookRetryDelaysMs?: number[];
  /** Accept CV jobs but leave them queued until a server without this flag runs on the same db. */
  cvPaused?: boolean;
}

export interface ApiServer {
  url: string;
  port: number;
  /** Counters for tests and logs. */
  stats: { requests: number; faults: number; rateLimited: number; replays: number };
  close(): Promise<void>;
}

const JSON_LIMIT = 6 * 1024 * 1024;

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const dbFile = opts.db ?? ':memory:';
  const memory = dbFile === ':memory:';
  const store = new Store(dbFile);
  const uploadsDir = memory ? fs.mkdtempSync(path.join(os.tmpdir(), 'kliq-api-uploads-')) : `${dbFile}.uploads`;
  fs.mkdirSync(uploadsDir, { recursive: true });
  const jwt = new Jwt(
    Buffer.from(
      store.meta('jwt-secret', () => crypto.randomBytes(32).toString('hex')),
      'hex',
    ),
  );
  const uploadSecret = Buffer.from(
    store.meta('upload-secret', () => crypto.randomBytes(32).toString('hex')),
    'hex',
  );
  const signUpload = (id: string, expires: number) => crypto.createHmac('sha256', uploadSecret).update(`${id}.${expires}`).digest('hex');
  for (const t of opts.tenants ?? []) store.provisionTenant(t);
  // requests a crash left half-done never replay
  store.db.prepare("DELETE FROM idempotency WHERE state = 'pending'").run();

  const webhooks = new WebhookDispatcher(store, opts.webhookRetryDelaysMs ?? DEFAULT_WEBHOOK_RETRY_DELAYS_MS);
  const uploadFile = (tenantId: string, imageUrl: string): string | null => {
    const id = uploadIdOf(imageUrl);
    if (!id) return null;
    const row = store.db.prepare('SELECT tenant_id, file FROM uploads WHERE id = ?').get(id) as
      { tenant_id: string; file: string | null } | undefined;
    return row && row.tenant_id === tenantId && row.file ? path.join(uploadsDir, row.file) : null;
  };
  const cv = new CvRunner({
    store,
    webhooks,
    engineDbFile: memory ? ':memory:' : `${dbFile}.engine.db`,
    provider: opts.provider ?? 'cpu',
    imageFile: uploadFile,
    paused: opts.cvPaused,
  });

  let publicUrl = '';
  const routes = buildRoutes({
    store,
    jwt,
    webhooks,
    kickCv: () => cv.kick(),
    accessTokenTtlMs: opts.accessTokenTtlMs ?? 3_600_000,
    refreshTokenTtlMs: opts.refreshTokenTtlMs ?? 30 * 86_400_000,
    uploadUrlTtlMs: opts.uploadUrlTtlMs ?? 15 * 60_000,
    publicUrl: () => publicUrl,
    signUpload,
  });

  const stats = { requests: 0, faults: 0, rateLimited: 0, replays: 0 };
  const random = prng(opts.faultSeed ?? crypto.randomInt(2 ** 31));
  const faultRate = opts.faultRate ?? 0;
  const rateLimit = opts.rateLimitPerSecond ?? 100;
  const windows = new Map<string, { start: number; count: number }>();

  function send(res: http.ServerResponse, r: Reply): void {
    if (res.headersSent || res.destroyed) return;
    for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
    if (r.status === 204 || r.body === undefined) {
      res.writeHead(r.status).end();
      return;
    }
    const text = JSON.stringify(r.body);
    res.writeHead(r.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
  }
  const errorReply = (err: HttpError, requestId: string): Reply => ({
    status: err.status,
    headers: err.headers,
    body: {
      error: { code: err.code, message: err.message, requestId, ...(err.fields ? { fields: err.fields } : {}), ...(err.extra ?? {}) },
    },
  });

  function authenticate(req: http.IncomingMessage): Principal {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new HttpError(401, 'unauthorized', 'missing credentials: send Authorization: Bearer <api key or access token>');
    const token = m[1];
    if (token.split('.').length === 3) {
      const claims = jwt.verify(token, 'access');
      if (!claims) throw new HttpError(401, 'invalid_token', 'the access token is invalid or expired');
      return { tenantId: claims.tid, subject: claims.sub, kind: claims.sub.includes('@') ? 'user' : 'client' };
    }
    const tenantId = store.tenantOfApiKey(token);
    if (!tenantId) throw new HttpError(401, 'invalid_api_key', 'unknown API key');
    return { tenantId, subject: `api-key:${sha256(token).slice(0, 8)}`, kind: 'apiKey' };
  }

  function rateLimited(key: string): number | null {
    const now = Date.now();
    let w = windows.get(key);
    if (!w || now - w.start >= 1000) {
      w = { start: now, count: 0 };
      windows.set(key, w);
      if (windows.size > 10_000) for (const [k, v] of windows) if (now - v.start >= 1000) windows.delete(k);
    }
    w.count++;
    return w.count > rateLimit ? Math.max(1, Math.ceil((w.start + 1000 - now) / 1000)) : null;
  }

  /** PUT /v1/uploads/{id}?expires&signature: the signed upload (no bearer credential). */
  async function handleUpload(req: http.IncomingMessage, id: string, query: URLSearchParams): Promise<Reply> {
    const expires = Number(query.get('expires'));
    const signature = query.get('signature') ?? '';
    const want = Buffer.from(signUpload(id, expires));
    const got = Buffer.from(signature);
    const row = store.db.prepare('SELECT * FROM uploads WHERE id = ?').get(id) as
      { id: string; tenant_id: string; content_type: string; uploaded_at: string | null } | undefined;
    if (!row || got.length !== want.length || !crypto.timingSafeEqual(got, want)) {
      req.resume();
      throw new HttpError(403, 'invalid_signature', 'the upload URL is not valid');
    }
    if (Date.now() > expires) {
      req.resume();
      throw new HttpError(403, 'upload_url_expired', 'the upload URL has expired: ask for a new one');
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!(UPLOAD_CONTENT_TYPES as readonly string[]).includes(type) || type !== row.content_type) {
      req.resume();
      throw new HttpError(415, 'unsupported_media_type', `Content-Type must be ${row.content_type} (JPEG or PNG only)`);
    }
    const length = Number(req.headers['content-length']);
    if (length > MAX_UPLOAD_BYTES) {
      await new Promise((resolve) => req.on('end', resolve).on('close', resolve).resume()); // drained: the client then reads the answer
      throw new HttpError(413, 'payload_too_large', `images are 20 MB at most (${length} bytes sent)`);
    }
    const body = await readBody(req, MAX_UPLOAD_BYTES).catch((err: unknown) => {
      if (err instanceof HttpError) throw new HttpError(413, 'payload_too_large', 'images are 20 MB at most');
      throw err;
    });
    const jpeg = body.length > 3 && body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff;
    const png = body.length > 8 && body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    if (!(type === 'image/jpeg' ? jpeg : png)) throw new HttpError(415, 'unsupported_media_type', `the body is not a ${type} image`);
    const file = `${id}${type === 'image/png' ? '.png' : '.jpg'}`;
    fs.writeFileSync(path.join(uploadsDir, file), body);
    store.db.prepare('UPDATE uploads SET file = ?, bytes = ?, uploaded_at = ? WHERE id = ?').run(file, body.length, nowIso(), id);
    return { status: 200, body: { imageUrl: `${publicUrl}/v1/uploads/${id}`, bytes: body.length, contentType: type } };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    stats.requests++;
    const requestId = randomId('req_');
    res.setHeader('X-Request-Id', requestId);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    try {
      if (url.pathname === '/v1/health') return send(res, { status: 200, body: { status: 'ok', time: nowIso() } });
      if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));

      const upload = /^\/v1\/uploads\/(upl_[0-9a-f]+)$/.exec(url.pathname);
      if (upload && method === 'PUT') return send(res, await handleUpload(req, upload[1], url.searchParams));

      // fault injection: a 500, a dropped connection, or (after the work) a lost response
      let loseResponse = false;
      if (faultRate > 0 && random() < faultRate) {
        stats.faults++;
        const kind = Math.floor(random() * 3);
        if (kind === 0) {
          req.resume();
          throw new HttpError(500, 'injected_fault', 'injected server error (--fault-rate)');
        }
        if (kind === 1) {
          req.socket.destroy();
          return;
        }
        loseResponse = true;
      }

      if (upload && method === 'GET') {
        const principal = authenticate(req);
        const row = store.db.prepare('SELECT tenant_id, content_type, file FROM uploads WHERE id = ?').get(upload[1]) as
          { tenant_id: string; content_type: string; file: string | null } | undefined;
        if (!row || row.tenant_id !== principal.tenantId || !row.file) throw new HttpError(404, 'not_found', 'no such upload');
        const bytes = fs.readFileSync(path.join(uploadsDir, row.file));
        res.writeHead(200, { 'Content-Type': row.content_type, 'Content-Length': bytes.length }).end(bytes);
        return;
      }

      let params: Record<string, string> | null = null;
      let pathMatched = false;
      const r = routes.find((rt) => {
        const m = rt.pattern.exec(url.pathname);
        if (!m) return false;
        pathMatched = true;
        if (rt.method !== method) return false;
        params = Object.fromEntries(rt.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])]));
        return true;
      });
      if (!r || !params) {
        req.resume();
        if (pathMatched) throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${url.pathname}`);
        throw new HttpError(404, 'not_found', `no endpoint ${method} ${url.pathname}`);
      }

      const raw = method === 'GET' || method === 'DELETE' ? Buffer.alloc(0) : await readBody(req, JSON_LIMIT);
      const authHeader = req.headers.authorization ?? '';
      const retryAfter = rateLimited(authHeader ? sha256(authHeader) : `ip:${req.socket.remoteAddress}`);
      if (retryAfter !== null) {
        stats.rateLimited++;
        throw new HttpError(429, 'rate_limited', 'too many requests', undefined, { 'Retry-After': String(retryAfter) }, { retryAfter });
      }
      const principal = r.auth === 'tenant' ? authenticate(req) : null;
      if (principal && principal.tenantId !== params['tenantId']) {
        // one answer for another tenant and for no tenant: ids of other tenants are not disclosed
        throw new HttpError(403, 'forbidden', 'this credential has no access to that tenant');
      }

      let body: unknown = undefined;
      const text = raw.toString('utf8');
      if (text.trim()) {
        const type = req.headers['content-type'] ?? '';
        if (type.startsWith('application/x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(text));
        else {
          try {
            body = JSON.parse(text);
          } catch {
            throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
          }
        }
      }
      const ctx: Ctx = { req, params, query: Object.fromEntries(url.searchParams), body, principal, requestId };

      const idemKey = req.headers['idempotency-key'];
      let reply: Reply;
      if (typeof idemKey === 'string' && idemKey && method !== 'GET') {
        if (idemKey.length > 255) throw new HttpError(400, 'validation_error', 'Idempotency-Key is 255 characters at most');
        const scope = principal ? `tenant:${principal.tenantId}` : `public:${sha256(authHeader)}`;
        const fingerprint = sha256(`${method} ${url.pathname}\n${text}`);
        const prior = store.db
          .prepare('SELECT fingerprint, state, status, body FROM idempotency WHERE scope = ? AND key = ?')
          .get(scope, idemKey) as { fingerprint: string; state: string; status: number; body: string | null } | undefined;
        if (prior) {
          if (prior.fingerprint !== fingerprint) {
            throw new HttpError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with another request');
          }
          if (prior.state === 'pending')
            throw new HttpError(409, 'idempotency_in_progress', 'the first request with this Idempotency-Key is still running');
          stats.replays++;
          reply = {
            status: prior.status,
            body: prior.body === null ? undefined : JSON.parse(prior.body),
            headers: { 'Idempotent-Replayed': 'true' },
          };
        } else {
          store.db
            .prepare("INSERT INTO idempotency (scope, key, fingerprint, state, created_at) VALUES (?, ?, ?, 'pending', ?)")
            .run(scope, idemKey, fingerprint, nowIso());
          try {
            reply = await r.handler(ctx);
          } catch (err) {
            if (!(err instanceof HttpError) || err.status >= 500) {
              store.db.prepare('DELETE FROM idempotency WHERE scope = ? AND key = ?').run(scope, idemKey);
              throw err;
            }
            reply = errorReply(err, requestId);
          }
          store.db
            .prepare("UPDATE idempotency SET state = 'done', status = ?, body = ? WHERE scope = ? AND key = ?")
            .run(reply.status, reply.body === undefined ? null : JSON.stringify(reply.body), scope, idemKey);
        }
      } else {
        reply = await r.handler(ctx);
      }
      if (loseResponse) {
        res.socket?.destroy();
        return;
      }
      send(res, reply);
    } catch (err) {
      if (err instanceof HttpError) return send(res, errorReply(err, requestId));
      console.error(`[kliq-api-server] ${method} ${url.pathname}: ${(err as Error).stack ?? err}`);
      send(res, errorReply(new HttpError(500, 'internal_error', 'internal server error'), requestId));
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    await cv.close();
    await webhooks.close();
    store.close();
    if (memory) fs.rmSync(uploadsDir, { recursive: true, force: true });
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  publicUrl = `http://127.0.0.1:${port}`;
  webhooks.resume();
  cv.resume();

  let closing: Promise<void> | null = null;
  return {
    url: publicUrl,
    port,
    stats,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await cv.close();
        await webhooks.close();
        store.close();
        if (memory) fs.rmSync(uploadsDir, { recursive: true, force: true });
      })()),
  };
}
