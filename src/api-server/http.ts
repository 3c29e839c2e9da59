/** Small HTTP toolkit of the local API server (node:http): routes, errors, bodies, validation. */
import type http from 'node:http';
import type { z } from 'zod';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: Record<string, string[]>,
    readonly headers?: Record<string, string>,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface Principal {
  tenantId: string;
  /** api key, user email or OAuth2 client id */
  subject: string;
  kind: 'apiKey' | 'user' | 'client';
}

export interface Ctx {
  req: http.IncomingMessage;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  principal: Principal | null;
  requestId: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  /** 'tenant': bearer credential of the path's tenant; 'none': public (token endpoints) */
  auth: 'tenant' | 'none';
  handler: (ctx: Ctx) => Reply | Promise<Reply>;
}

export function route(method: string, path: string, auth: Route['auth'], handler: Route['handler']): Route {
  const keys: string[] = [];
  const source = path.replace(/:([A-Za-z]+)/g, (_, k: string) => {
    keys.push(k);
    return '([^/]+)';
  });
  return { method, pattern: new RegExp(`^${source}$`), keys, auth, handler };
}

/** zod issues → `{ 'items.0.locationId': ['…'] }`. */
export function fieldsOf(error: z.ZodError, prefix = ''): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const key = prefix + (issue.path.length ? issue.path.join('.') : '_');
    (fields[key] ??= []).push(issue.message);
  }
  return fields;
}

export function parse<T>(schema: z.ZodType<T>, data: unknown, what = 'body'): T {
  const r = schema.safeParse(data);
  if (!r.success) throw new HttpError(400, 'validation_error', `invalid ${what}`, fieldsOf(r.error));
  return r.data;
}

export const invalid = (field: string, message: string) =>
  new HttpError(400, 'validation_error', `invalid ${field}: ${message}`, { [field]: [message] });
export const notFound = (what: string, id: string) => new HttpError(404, 'not_found', `${what} ${id} not found`);

/** Reads a request body up to `limit` bytes (413 beyond; the rest is drained so the client reads the answer). */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
      if (size > limit * 2) req.destroy();
    });
    req.on('end', () =>
      over ? reject(new HttpError(413, 'payload_too_large', `body over ${limit} bytes`)) : resolve(Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}

/** Seeded PRNG (mulberry32) for reproducible fault injection. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
