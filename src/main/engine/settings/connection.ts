/**
 * "Test connection": checks the API settings and a credential the way sync will use them, and says
 * exactly which step failed and why.
 *   1. settings: a base URL and a tenant id, and the credential the sign-in method needs;
 *   2. health: `KliqClient.health()` (no credential): DNS, refused, TLS, timeout, or not a KLIQ API;
 *   3. sign-in: email + password (auth.getToken), the kept refresh token, or client credentials → token;
 *   4. request: one authenticated GET in the tenant (locations, limit 1): 401, 403, 404 (unknown tenant).
 * Nothing is retried (the answer should come fast and be the first failure); no secret is logged or
 * put in a message.
 */
import {
  AuthenticationError,
  ForbiddenError,
  KliqClient,
  KliqConnectionError,
  KliqError,
  NotFoundError,
  RateLimitError,
  ServerError,
} from '../../../kliq';
import type { AuthTokens } from '../../../kliq';
import { AppSettingsSchema, type AppSettings, type ConnectionFailure, type ConnectionResult } from '../../../shared/settings';

export interface ConnectionSecrets {
  /** apiKey: the API key; clientCredentials: the client secret; password: the kept refresh token (when no password). */
  secret?: string | null;
  /** password method: signs in afresh with it (never kept). */
  password?: string | null;
}

export interface ConnectionOptions {
  /** Per request. Default 10 000. */
  timeoutMs?: number;
  /** New tokens from a sign-in or a refresh (the refresh token rotates: keep the new one). */
  onTokens?: (tokens: AuthTokens) => void;
  fetch?: typeof fetch;
}

type TransportFailure = Extract<ConnectionFailure, 'dns' | 'refused' | 'tls' | 'timeout' | 'network'>;

interface ErrorFacts {
  codes: string[];
  messages: string[];
  names: string[];
}

function facts(err: unknown, out: ErrorFacts = { codes: [], messages: [], names: [] }, depth = 0): ErrorFacts {
  if (!err || typeof err !== 'object' || depth > 6) return out;
  const e = err as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') out.codes.push(e.code);
  if (typeof e.message === 'string' && e.message) out.messages.push(e.message);
  if (typeof e.name === 'string') out.names.push(e.name);
  if (Array.isArray(e.errors)) for (const x of e.errors) facts(x, out, depth + 1);
  facts(e.cause, out, depth + 1);
  return out;
}

const TLS_CODE = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME|EPROTO/;

/** What a fetch that got no response ran into, from the error and its causes (undici's `fetch failed` → cause.code). */
export function classifyTransportError(err: unknown): { failure: TransportFailure; detail: string } {
  const f = facts(err);
  const detail = [...new Set([...f.codes, ...f.messages.filter((m) => m !== 'fetch failed')])].join(': ') || String(err);
  const has = (...codes: string[]) => f.codes.some((c) => codes.includes(c));
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA')) return { failure: 'dns', detail };
  if (has('ECONNREFUSED')) return { failure: 'refused', detail };
  if (f.codes.some((c) => TLS_CODE.test(c)) || f.messages.some((m) => /certificate|SSL routines|wrong version number|TLS/i.test(m)))
    return { failure: 'tls', detail };
  if (has('ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT') || f.names.includes('TimeoutError'))
    return { failure: 'timeout', detail };
  return { failure: 'network', detail };
}

const fail = (
  step: Extract<ConnectionResult, { ok: false }>['step'],
  failure: ConnectionFailure,
  message: string,
  detail: string | null = null,
  statusCode: number | null = null,
): ConnectionResult => ({ ok: false, step, failure, message, detail, statusCode });

function transportMessage(failure: TransportFailure, url: URL, timeoutMs: number, detail: string): string {
  const where = url.port ? `${url.hostname}:${url.port}` : url.hostname;
  switch (failure) {
    case 'dns':
      return (
        `Cannot find the server ${url.hostname} (DNS lookup failed): ` +
        'check the spelling of the base URL, and that this computer is online.'
      );
    case 'refused':
      return `${where} refused the connection (nothing listens there): check the port in the base URL, and that the server is running.`;
    case 'tls':
      return (
        `The secure (TLS) connection to ${where} failed: its certificate is not trusted here (${detail}). ` +
        'Use the address its certificate was issued for, or have your IT install the certificate authority on this computer.'
      );
    case 'timeout':
      return `${where} did not answer within ${Math.round(timeoutMs / 100) / 10} s: check the network (proxy, firewall, VPN), then retry.`;
    case 'network':
      return `The connection to ${where} failed (${detail}): check the network and try again.`;
  }
}

/** A fetch that remembers the last transport error (KliqClient.health() swallows it) and applies the test's timeout. */
function recordingFetch(base: typeof fetch, timeoutMs: number) {
  const state: { last: unknown } = { last: null };
  const f: typeof fetch = async (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      return await base(input, { ...init, signal });
    } catch (err) {
      state.last = err;
      throw err;
    }
  };
  return { fetch: f, state };
}

/** Tests `settings` (the API and auth parts; they need not be saved) with the given secret. */
export async function testConnection(
  settingsIn: Pick<AppSettings, 'api' | 'auth'>,
  secrets: ConnectionSecrets,
  opts: ConnectionOptions = {},
): Promise<ConnectionResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const parsed = AppSettingsSchema.pick({ api: true, auth: true }).safeParse(settingsIn);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('settings', 'bad-url', `${issue.path.join('.')}: ${issue.message}`);
  }
  const { api, auth } = parsed.data;
  if (!api.baseUrl) return fail('settings', 'not-configured', 'Enter the KLIQ API base URL (for example https://api.kliqpulse.com/v1).');
  if (!api.tenantId) return fail('settings', 'not-configured', 'Enter the tenant id (t_…) your account belongs to.');
  const url = new URL(api.baseUrl);
  const baseUrl = api.baseUrl.replace(/\/+$/, '');
  const secret = secrets.secret || null;
  const password = secrets.password || null;
  if (auth.method === 'apiKey' && !secret) return fail('settings', 'missing-secret', 'Enter the API key.');
  if (auth.method === 'clientCredentials' && (!auth.clientId || !secret))
    return fail('settings', 'missing-secret', auth.clientId ? 'Enter the client secret.' : 'Enter the client id and the client secret.');
  if (auth.method === 'password' && (!auth.email || (!password && !secret)))
    return fail('settings', 'missing-secret', auth.email ? 'Sign in: enter your password.' : 'Enter your email and password to sign in.');

  const rec = recordingFetch(opts.fetch ?? ((...a) => globalThis.fetch(...a)), timeoutMs);
  const common = { baseUrl, timeoutMs, retryDelaysMs: [], maxRateLimitRetries: 0, fetch: rec.fetch, onTokens: opts.onTokens };

  // 2. health (no credential)
  const anon = new KliqClient(common);
  if (!(await anon.health())) {
    if (rec.state.last) {
      const t = classifyTransportError(rec.state.last);
      return fail('health', t.failure, transportMessage(t.failure, url, timeoutMs, t.detail), t.detail);
    }
    // an answer came, but not a KLIQ health answer: look at it once more for the status
    let status: number | null = null;
    try {
      status = (await rec.fetch(`${baseUrl}/health`)).status;
    } catch {
      /* reported below without a status */
    }
    return fail(
      'health',
      'not-kliq',
      `${baseUrl}/health answered ${status === null ? 'something else' : `HTTP ${status}`}, not the KLIQ API's health check: ` +
        'check the base URL (it ends with /v1).',
      null,
      status,
    );
  }

  // 3. sign-in
  const client =
    auth.method === 'apiKey'
      ? new KliqClient({ ...common, apiKey: secret! })
      : auth.method === 'clientCredentials'
        ? new KliqClient({ ...common, clientId: auth.clientId, clientSecret: secret! })
        : new KliqClient({ ...common, refreshToken: password ? undefined : secret! });
  if (auth.method !== 'apiKey') {
    try {
      if (auth.method === 'password' && password) await client.auth.getToken(auth.email, password);
      else await client.http.renew();
    } catch (err) {
      return explain('sign-in', err, auth.method, api.tenantId, url, timeoutMs, rec.state.last, Boolean(password));
    }
  }

  // 4. an authenticated request in the tenant
  try {
    await client.forTenant(api.tenantId).locations.list({ limit: 1 });
  } catch (err) {
    return explain('request', err, auth.method, api.tenantId, url, timeoutMs, rec.state.last, Boolean(password));
  }
  const how = auth.method === 'apiKey' ? 'the API key' : auth.method === 'clientCredentials' ? `client ${auth.clientId}` : auth.email;
  return {
    ok: true,
    baseUrl,
    tenantId: api.tenantId,
    method: auth.method,
    message: `Connected to ${baseUrl} as ${how}, tenant ${api.tenantId}.`,
  };
}

function explain(
  step: 'sign-in' | 'request',
  err: unknown,
  method: AppSettings['auth']['method'],
  tenantId: string,
  url: URL,
  timeoutMs: number,
  lastTransport: unknown,
  freshPassword: boolean,
): ConnectionResult {
  if (err instanceof KliqConnectionError) {
    const t = classifyTransportError(lastTransport ?? err);
    return fail(step, t.failure, transportMessage(t.failure, url, timeoutMs, t.detail), t.detail);
  }
  if (!(err instanceof KliqError)) {
    return fail(step, 'unexpected', `Unexpected failure: ${err instanceof Error ? err.message : String(err)}`, null);
  }
  const detail = [err.code, err.message, err.requestId && `request ${err.requestId}`].filter(Boolean).join(': ');
  const status = err.statusCode || null;
  if (err instanceof AuthenticationError) {
    const message =
      method === 'apiKey'
        ? 'The API refused the API key (401): check it (no spaces), or create a new one.'
        : method === 'clientCredentials'
          ? 'The API refused the client id or client secret (401): check both.'
          : freshPassword
            ? 'Wrong email or password (401).'
            : 'The saved sign-in has expired or was revoked (401): sign in again with your email and password.';
    return fail(step, 'unauthorized', message, detail, status);
  }
  if (err instanceof ForbiddenError)
    return fail(
      step,
      'forbidden',
      `The credentials are valid but may not access tenant ${tenantId} (403): ` +
        'check the tenant id; it must be the tenant the credentials belong to.',
      detail,
      status,
    );
  if (err instanceof NotFoundError)
    return step === 'request'
      ? fail(step, 'unknown-tenant', `Tenant ${tenantId} was not found (404): check the tenant id.`, detail, status)
      : fail(step, 'not-kliq', `The sign-in endpoint was not found (404): check the base URL (it ends with /v1).`, detail, status);
  if (err instanceof RateLimitError)
    return fail(
      step,
      'rate-limited',
      `The API is limiting requests (429)${err.retryAfterSeconds ? `: try again in ${err.retryAfterSeconds} s` : ': try again shortly'}.`,
      detail,
      status,
    );
  if (err instanceof ServerError) return fail(step, 'server', `The API failed (HTTP ${err.statusCode}): try again later.`, detail, status);
  return fail(step, 'unexpected', `The API answered HTTP ${err.statusCode}: ${err.message}`, detail, status);
}
