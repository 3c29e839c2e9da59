/**
 * Typed KLIQ API client (seed 000, named the TypeScript way of seeds 001/002). Uses only `fetch`,
 * `AbortSignal.timeout` and Web Crypto, so it runs in Node 20+ and in a browser.
 *
 *   const kliq = new KliqClient({ apiKey });
 *   const tenant = kliq.forTenant('t_abc123');
 *   const obs = await tenant.observations.create({ locationId, imageUrl });
 */
import type { z } from 'zod';
import { errorFromResponse, KliqConnectionError, KliqError, KliqTimeoutError } from './errors';
import {
  AssetSchema,
  AuthTokensSchema,
  BuildingSchema,
  CatalogImportResultSchema,
  CvJobSchema,
  ErrorBodySchema,
  HealthSchema,
  LocationSchema,
  OAuthTokenSchema,
  ObservationBatchSchema,
  ObservationLabelsSchema,
  ObservationSchema,
  TrackedObjectSchema,
  UploadResultSchema,
  UploadUrlSchema,
  VisitSchema,
  WebhookSchema,
  page,
  type Asset,
  type AssetCreate,
  type AssetUpdate,
  type AuthTokens,
  type Building,
  type BuildingCreate,
  type BuildingUpdate,
  type CatalogImportResult,
  type CvDeviceResult,
  type CvJob,
  type CvJobListParams,
  type CvJobStart,
  type ErrorBody,
  type ListParams,
  type Location,
  type LocationCreate,
  type LocationUpdate,
  type Observation,
  type ObservationCreate,
  type ObservationLabels,
  type ObservationLabelsPut,
  type ObservationListParams,
  type Page,
  type TrackedObject,
  type TrackedObjectCreate,
  type UploadUrl,
  type UploadUrlRequest,
  type Visit,
  type VisitCreate,
  type Webhook,
  type WebhookCreate,
} from './wire';

export const DEFAULT_BASE_URL = 'https://api.kliqpulse.com/v1';
/** Seed 004's schedule: retries after 1 s, 3 s, 5 s, then the error is raised. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 3000, 5000];

export interface RetryInfo {
  method: string;
  path: string;
  /** 1 for the first retry. */
  attempt: number;
  reason: 'transport' | 'server' | 'rate-limit' | 'token-refresh';
  statusCode: number;
  delayMs: number;
}

export interface KliqClientOptions {
  apiKey?: string;
  /** A JWT from auth.getToken; with `refreshToken` it is renewed once when the API answers 401. */
  accessToken?: string;
  refreshToken?: string;
  /** OAuth2 client credentials: exchanged at `/oauth/token`, cached until shortly before expiry. */
  clientId?: string;
  clientSecret?: string;
  baseUrl?: string;
  /** Per attempt. Default 30 000. */
  timeoutMs?: number;
  /** Delays before each retry of a transport error (or a retryable 5xx). Default [1000, 3000, 5000]. */
  retryDelaysMs?: readonly number[];
  /** 429s retried (after Retry-After) before RateLimitError is raised. Default 5. */
  maxRateLimitRetries?: number;
  /** Longest Retry-After honoured, in ms (a longer one raises RateLimitError at once). Default 60 000. */
  maxRetryAfterMs?: number;
  /**
   * Send a fresh Idempotency-Key with every POST/PUT/PATCH/DELETE that has none, so retries can never create
   * twice. Default true. With false, such requests retry transport errors only, and 5xx raise at once.
   */
  idempotencyKeys?: boolean;
  fetch?: typeof fetch;
  /** Called before every automatic retry. */
  onRetry?: (info: RetryInfo) => void;
  /** Called whenever the client obtains new tokens (getToken, refresh, automatic refresh). */
  onTokens?: (tokens: AuthTokens) => void;
}

export interface RequestOptions {
  /** Sent as Idempotency-Key: the same key and body returns the first response. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** Filled in by the call: `replayed` is true when the API answered from its idempotency record (the work was done before). */
  meta?: { replayed?: boolean; requestId?: string | null };
}

interface CallOptions<T> extends RequestOptions {
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  schema: z.ZodType<T> | null;
  /** false: no Authorization header (token endpoints). */
  auth?: boolean;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(t);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Generic HTTP core: auth header, JSON, retries, typed errors, zod-parsed responses. */
export class KliqHttp {
  readonly baseUrl: string;
  private readonly opts: KliqClientOptions;
  readonly fetchImpl: typeof fetch;
  private accessToken: string | null;
  private refreshToken: string | null;
  /** ms since epoch when the access token expires (unknown: null). */
  private accessExpiresAt: number | null = null;
  private renewing: Promise<void> | null = null;

  constructor(opts: KliqClientOptions) {
    this.opts = opts;
    this.baseUrl = (opts.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? ((...args) => globalThis.fetch(...args));
    this.accessToken = opts.accessToken ?? null;
    this.refreshToken = opts.refreshToken ?? null;
  }

  /** Adopts tokens from getToken/refresh: later requests use them. */
  setTokens(tokens: AuthTokens): void {
    this.accessToken = tokens.accessToken;
    this.refreshToken = tokens.refreshToken;
    this.accessExpiresAt = Date.now() + KliqHttp.lifetime(tokens.expiresIn);
    this.opts.onTokens?.(tokens);
  }

  /** How long a token is used: its lifetime less a margin (10 %, 30 s at most), so none leaves about to expire. */
  private static lifetime(expiresInSeconds: number): number {
    const ms = expiresInSeconds * 1000;
    return Math.max(0, ms - Math.min(30_000, ms / 10));
  }

  private canRenew(): boolean {
    if (this.opts.apiKey) return false;
    return Boolean(this.refreshToken || (this.opts.clientId && this.opts.clientSecret));
  }

  private async bearer(): Promise<string | null> {
    if (this.opts.apiKey) return this.opts.apiKey;
    const expired = this.accessExpiresAt !== null && Date.now() >= this.accessExpiresAt;
    if ((!this.accessToken || expired) && this.canRenew()) await this.renew();
    return this.accessToken;
  }

  /** Renews the access token: refresh token first, else client credentials. Concurrent callers share one renewal. */
  renew(): Promise<void> {
    this.renewing ??= (async () => {
      try {
        if (this.refreshToken) {
          const tokens = await this.call('POST', '/auth/refresh', {
            body: { refreshToken: this.refreshToken },
            schema: AuthTokensSchema,
            auth: false,
          });
          this.setTokens(tokens);
        } else if (this.opts.clientId && this.opts.clientSecret) {
          const t = await this.call('POST', '/oauth/token', {
            body: { grant_type: 'client_credentials', client_id: this.opts.clientId, client_secret: this.opts.clientSecret },
            schema: OAuthTokenSchema,
            auth: false,
          });
          this.accessToken = t.access_token;
          this.accessExpiresAt = Date.now() + KliqHttp.lifetime(t.expires_in);
        }
      } finally {
        this.renewing = null;
      }
    })();
    return this.renewing;
  }

  async call<T>(method: string, path: string, o: CallOptions<T>): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    const delays = this.opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    const maxRateRetries = this.opts.maxRateLimitRetries ?? 5;
    const idempotencyKey =
      o.idempotencyKey ?? (method !== 'GET' && method !== 'HEAD' && this.opts.idempotencyKeys !== false ? crypto.randomUUID() : undefined);
    const retriesServerErrors = method === 'GET' || method === 'HEAD' || idempotencyKey !== undefined;
    const bodyText = o.body === undefined ? undefined : JSON.stringify(o.body);
    let retries = 0;
    let rateRetries = 0;
    let renewed = false;
    let attempt = 0;
    const retry = async (reason: RetryInfo['reason'], statusCode: number, delayMs: number) => {
      attempt++;
      this.opts.onRetry?.({ method, path, attempt, reason, statusCode, delayMs });
      if (delayMs > 0) await sleep(delayMs, o.signal);
    };

    for (;;) {
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (bodyText !== undefined) headers['Content-Type'] = 'application/json';
      if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
      let sentToken: string | null = null;
      if (o.auth !== false) {
        sentToken = await this.bearer();
        if (sentToken) headers.Authorization = `Bearer ${sentToken}`;
      }
      const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 30_000);
      const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
      let status: number;
      let text: string;
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method, headers, body: bodyText, signal });
        status = res.status;
        text = await res.text();
      } catch (err) {
        if (o.signal?.aborted) throw o.signal.reason;
        if (retries < delays.length) {
          await retry('transport', 0, delays[retries++]);
          continue;
        }
        const why = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
        throw new KliqConnectionError(`${method} ${path}: no response (${why})`, 0);
      }
      const requestId = res.headers.get('x-request-id');
      if (status >= 200 && status < 300) {
        if (o.meta) {
          o.meta.requestId = requestId;
          o.meta.replayed = res.headers.get('idempotent-replayed') === 'true';
        }
        if (o.schema === null) return undefined as T;
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : null;
        } catch {
          throw new KliqError(`${method} ${path}: the response is not JSON`, status, requestId, 'invalid_response');
        }
        const parsed = o.schema.safeParse(json);
        if (!parsed.success) {
          throw new KliqError(`${method} ${path}: unexpected response (${parsed.error.message})`, status, requestId, 'invalid_response');
        }
        return parsed.data;
      }
      let body: ErrorBody | null = null;
      try {
        const p = ErrorBodySchema.safeParse(JSON.parse(text));
        if (p.success) body = p.data;
      } catch {
        /* not JSON: a proxy's page */
      }
      const after = retryAfterMs(res.headers.get('retry-after'));
      if (status === 401 && o.auth !== false && !renewed && this.canRenew()) {
        renewed = true;
        await retry('token-refresh', status, 0);
        // another request may have renewed the token meanwhile: then just send again with the new one
        if (this.accessToken === sentToken) await this.renew();
        continue;
      }
      if (status === 429 && rateRetries < maxRateRetries && (after ?? 0) <= (this.opts.maxRetryAfterMs ?? 60_000)) {
        rateRetries++;
        await retry('rate-limit', status, after ?? delays[Math.min(rateRetries - 1, delays.length - 1)] ?? 1000);
        continue;
      }
      if (status >= 500 && retriesServerErrors && retries < delays.length) {
        await retry('server', status, delays[retries++]);
        continue;
      }
      throw errorFromResponse(status, body, requestId, after === null ? null : after / 1000);
    }
  }

  get<T>(path: string, schema: z.ZodType<T>, query?: CallOptions<T>['query'], o?: RequestOptions) {
    return this.call('GET', path, { ...o, schema, query });
  }
  post<T>(path: string, body: unknown, schema: z.ZodType<T>, o?: RequestOptions) {
    return this.call('POST', path, { ...o, schema, body });
  }
  patch<T>(path: string, body: unknown, schema: z.ZodType<T>, o?: RequestOptions) {
    return this.call('PATCH', path, { ...o, schema, body });
  }
  put<T>(path: string, body: unknown, schema: z.ZodType<T>, o?: RequestOptions) {
    return this.call('PUT', path, { ...o, schema, body });
  }
  delete(path: string, o?: RequestOptions): Promise<void> {
    return this.call('DELETE', path, { ...o, schema: null });
  }

  /**
   * The HTTP status of a GET on `url` (an uploaded image's URL), with the credentials when it is on the API's
   * origin; 0 when there is no answer. Used to learn whether an upload whose answer was lost landed.
   */
  async probe(url: string): Promise<number> {
    const headers: Record<string, string> = {};
    if (new URL(url).origin === new URL(this.baseUrl).origin) {
      const token = await this.bearer();
      if (token) headers.Authorization = `Bearer ${token}`;
    }
    try {
      const res = await this.fetchImpl(url, { method: 'GET', headers, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
      await res.body?.cancel();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** PUT of raw bytes to a signed upload URL (no Authorization: the signature in the URL authorizes). */
  async putBytes(url: string, data: Uint8Array | Blob, contentType: string): Promise<z.infer<typeof UploadResultSchema>> {
    const delays = this.opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    for (let retries = 0; ;) {
      let res: Response;
      let text: string;
      try {
        res = await this.fetchImpl(url, {
          method: 'PUT',
          headers: { 'Content-Type': contentType },
          body: data as BodyInit,
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
        });
        text = await res.text();
      } catch (err) {
        if (retries < delays.length) {
          this.opts.onRetry?.({
            method: 'PUT',
            path: 'upload',
            attempt: retries + 1,
            reason: 'transport',
            statusCode: 0,
            delayMs: delays[retries],
          });
          await sleep(delays[retries++]);
          continue;
        }
        throw new KliqConnectionError(`PUT upload: no response (${(err as Error).message})`, 0);
      }
      const requestId = res.headers.get('x-request-id');
      if (res.ok) return UploadResultSchema.parse(JSON.parse(text));
      let body: ErrorBody | null = null;
      try {
        body = ErrorBodySchema.parse(JSON.parse(text));
      } catch {
        /* not JSON */
      }
      if (res.status >= 500 && retries < delays.length) {
        this.opts.onRetry?.({
          method: 'PUT',
          path: 'upload',
          attempt: retries + 1,
          reason: 'server',
          statusCode: res.status,
          delayMs: delays[retries],
        });
        await sleep(delays[retries++]);
        continue;
      }
      throw errorFromResponse(res.status, body, requestId, null);
    }
  }
}

/** Auto-pagination: follows `cursor.next` until `hasMore` is false. */
async function* paginate<T, P extends ListParams>(list: (params: P) => Promise<Page<T>>, params: P): AsyncGenerator<T, void, undefined> {
  let cursor = params.cursor;
  for (;;) {
    const p = await list({ ...params, cursor });
    yield* p.data;
    if (!p.cursor.hasMore || !p.cursor.next) return;
    cursor = p.cursor.next;
  }
}

const enc = encodeURIComponent;

abstract class TenantResource<T> {
  constructor(
    protected readonly http: KliqHttp,
    protected readonly base: string,
    protected readonly schema: z.ZodType<T>,
  ) {}
  protected readonly pageSchema = () => page(this.schema) as unknown as z.ZodType<Page<T>>;
  protected _create(input: unknown, o?: RequestOptions): Promise<T> {
    return this.http.post(this.base, input, this.schema, o);
  }
  protected _get(id: string, o?: RequestOptions): Promise<T> {
    return this.http.get(`${this.base}/${enc(id)}`, this.schema, undefined, o);
  }
  protected _list(params: ListParams & Record<string, unknown> = {}, o?: RequestOptions): Promise<Page<T>> {
    return this.http.get(this.base, this.pageSchema(), params as Record<string, string | number | undefined>, o);
  }
  protected _update(id: string, patch: unknown, o?: RequestOptions): Promise<T> {
    return this.http.patch(`${this.base}/${enc(id)}`, patch, this.schema, o);
  }
  protected _delete(id: string, o?: RequestOptions): Promise<void> {
    return this.http.delete(`${this.base}/${enc(id)}`, o);
  }
}

export class Observations extends TenantResource<Observation> {
  create(input: ObservationCreate, o?: RequestOptions) {
    return this._create(input, o);
  }
  /** Creates up to 100 observations in one request, all or none. */
  async createBatch(items: ObservationCreate[], o?: RequestOptions): Promise<Observation[]> {
    return (await this.http.post(`${this.base}/batch`, { items }, ObservationBatchSchema, o)).data;
  }
  get(id: string, o?: RequestOptions) {
    return this._get(id, o);
  }
  list(params: ObservationListParams = {}, o?: RequestOptions) {
    return this._list(params, o);
  }
  listAll(params: ObservationListParams = {}) {
    return paginate((p) => this.list(p), params);
  }
  delete(id: string, o?: RequestOptions) {
    return this._delete(id, o);
  }
  getUploadUrl(input: UploadUrlRequest, o?: RequestOptions): Promise<UploadUrl> {
    return this.http.post(`${this.base}/upload-url`, input, UploadUrlSchema, o);
  }
  /** Signed upload in one call: getUploadUrl, then PUT of the bytes; returns the imageUrl for create. */
  async upload(data: Uint8Array | Blob, input: UploadUrlRequest, o?: RequestOptions): Promise<string> {
    const { uploadUrl } = await this.getUploadUrl(input, o);
    return (await this.http.putBytes(uploadUrl, data, input.contentType)).imageUrl;
  }
  /** Extension: the corrected label set (version 0 and no labels until one is put). */
  getLabels(id: string, o?: RequestOptions): Promise<ObservationLabels> {
    return this.http.get(`${this.base}/${enc(id)}/labels`, ObservationLabelsSchema, undefined, o);
  }
  /** Extension: replaces the corrected label set; with `baseVersion`, a ConflictError when the server holds another version. */
  putLabels(id: string, input: ObservationLabelsPut, o?: RequestOptions): Promise<ObservationLabels> {
    return this.http.put(`${this.base}/${enc(id)}/labels`, input, ObservationLabelsSchema, o);
  }
}

export class Locations extends TenantResource<Location> {
  create(input: LocationCreate, o?: RequestOptions) {
    return this._create(input, o);
  }
  get(id: string, o?: RequestOptions) {
    return this._get(id, o);
  }
  list(params: ListParams = {}, o?: RequestOptions) {
    return this._list(params, o);
  }
  listAll(params: ListParams = {}) {
    return paginate((p) => this.list(p), params);
  }
  update(id: string, patch: LocationUpdate, o?: RequestOptions) {
    return this._update(id, patch, o);
  }
  delete(id: string, o?: RequestOptions) {
    return this._delete(id, o);
  }
}

export class Catalog extends TenantResource<TrackedObject> {
  create(input: TrackedObjectCreate, o?: RequestOptions) {
    return this._create(input, o);
  }
  /** CSV with a header row `sku,name[,category,…]`; extra columns become attributes; a known sku is updated. */
  importCsv(input: { csv: string }, o?: RequestOptions): Promise<CatalogImportResult> {
    return this.http.post(`${this.base}/import`, input, CatalogImportResultSchema, o);
  }
  list(params: ListParams & { category?: string } = {}, o?: RequestOptions) {
    return this._list(params, o);
  }
  listAll(params: ListParams & { category?: string } = {}) {
    return paginate((p) => this.list(p), params);
  }
}

export interface WaitOptions {
  /** Maximum wait. Default 120 000 (seed: 120 s). */
  timeoutMs?: number;
  /** First delay between polls; it grows ×1.5 per poll up to `maxPollIntervalMs`. Default 2000. */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  signal?: AbortSignal;
}

export class CvJobs extends TenantResource<CvJob> {
  start(input: CvJobStart, o?: RequestOptions) {
    return this._create(input, o);
  }
  /**
   * Extension: records a result computed on the device. The job is created `completed` with
   * `source: 'device'`, and reads like any cloud job in get/list.
   */
  submitResult(input: CvDeviceResult, o?: RequestOptions) {
    return this._create({ ...input, source: 'device' }, o);
  }
  get(id: string, o?: RequestOptions) {
    return this._get(id, o);
  }
  list(params: CvJobListParams = {}, o?: RequestOptions) {
    return this._list(params, o);
  }
  listAll(params: CvJobListParams = {}) {
    return paginate((p) => this.list(p), params);
  }
  /** Polls with exponential backoff until the job is completed or failed; KliqTimeoutError after `timeoutMs`. */
  async waitForCompletion(id: string, opts: WaitOptions = {}): Promise<CvJob> {
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    let interval = opts.pollIntervalMs ?? 2000;
    const maxInterval = opts.maxPollIntervalMs ?? Math.max(interval, 10_000);
    for (;;) {
      const job = await this.get(id, { signal: opts.signal });
      if (job.status === 'completed' || job.status === 'failed') return job;
      const left = deadline - Date.now();
      if (left <= 0) {
        const err = new KliqTimeoutError(`CV job ${id} still ${job.status} after ${opts.timeoutMs ?? 120_000} ms`, 0);
        (err as KliqTimeoutError & { job?: CvJob }).job = job;
        throw err;
      }
      await sleep(Math.min(interval, left), opts.signal);
      interval = Math.min(maxInterval, interval * 1.5);
    }
  }
}

export class Webhooks extends TenantResource<Webhook> {
  /** The response carries `secret` (given or generated): keep it to verify deliveries. */
  create(input: WebhookCreate, o?: RequestOptions) {
    return this._create(input, o);
  }
  list(params: ListParams = {}, o?: RequestOptions) {
    return this._list(params, o);
  }
  listAll(params: ListParams = {}) {
    return paginate((p) => this.list(p), params);
  }
  delete(id: string, o?: RequestOptions) {
    return this._delete(id, o);
  }
}

export class Buildings extends TenantResource<Building> {
  create(input: BuildingCreate, o?: RequestOptions) {
    return this._create(input, o);
  }
  get(id: string, o?: RequestOptions) {
    return this._get(id, o);
  }
  list(params: ListParams = {}, o?: RequestOptions) {
    return this._list(params, o);
  }
  listAll(params: ListParams = {}) {
    return paginate((p) => this.list(p), params);
  }
  update(id: string, patch: BuildingUpdate, o?: RequestOptions) {
    return this._update(id, patch, o);
  }
}

export class Assets extends TenantResource<Asset> {
  create(input: AssetCreate, o?: RequestOptions) {
    return this._create(input, o);
  }
  get(id: string, o?: RequestOptions) {
    return this._get(id, o);
  }
  list(params: ListParams & { buildingId?: string } = {}, o?: RequestOptions) {
    return this._list(params, o);
  }
  listAll(params: ListParams & { buildingId?: string } = {}) {
    return paginate((p) => this.list(p), params);
  }
  update(id: string, patch: AssetUpdate, o?: RequestOptions) {
    return this._update(id, patch, o);
  }
}

export class Visits extends TenantResource<Visit> {
  create(input: VisitCreate, o?: RequestOptions) {
    return this._create(input, o);
  }
  get(id: string, o?: RequestOptions) {
    return this._get(id, o);
  }
  list(params: ListParams & { locationId?: string; buildingId?: string } = {}, o?: RequestOptions) {
    return this._list(params, o);
  }
  listAll(params: ListParams & { locationId?: string; buildingId?: string } = {}) {
    return paginate((p) => this.list(p), params);
  }
}

/** Tenant-scoped client with every resource API (seed 000's TenantClient). */
export class TenantClient {
  readonly observations: Observations;
  readonly locations: Locations;
  readonly catalog: Catalog;
  readonly cv: CvJobs;
  readonly webhooks: Webhooks;
  readonly buildings: Buildings;
  readonly assets: Assets;
  readonly visits: Visits;
  constructor(
    http: KliqHttp,
    readonly tenantId: string,
  ) {
    const t = `/tenants/${enc(tenantId)}`;
    this.observations = new Observations(http, `${t}/observations`, ObservationSchema);
    this.locations = new Locations(http, `${t}/locations`, LocationSchema);
    this.catalog = new Catalog(http, `${t}/catalog`, TrackedObjectSchema);
    this.cv = new CvJobs(http, `${t}/cv/jobs`, CvJobSchema as unknown as z.ZodType<CvJob>);
    this.webhooks = new Webhooks(http, `${t}/webhooks`, WebhookSchema);
    this.buildings = new Buildings(http, `${t}/buildings`, BuildingSchema);
    this.assets = new Assets(http, `${t}/assets`, AssetSchema);
    this.visits = new Visits(http, `${t}/visits`, VisitSchema);
  }
}

export class KliqClient {
  readonly http: KliqHttp;
  readonly auth: {
    /** Exchanges credentials for JWT tokens; the client then uses (and refreshes) them. */
    getToken(email: string, password: string): Promise<AuthTokens>;
    /** Exchanges a refresh token for new tokens; the client then uses them. */
    refresh(refreshToken: string): Promise<AuthTokens>;
  };

  constructor(opts: KliqClientOptions = {}) {
    this.http = new KliqHttp(opts);
    const http = this.http;
    this.auth = {
      async getToken(email, password) {
        const tokens = await http.call('POST', '/auth/token', { body: { email, password }, schema: AuthTokensSchema, auth: false });
        http.setTokens(tokens);
        return tokens;
      },
      async refresh(refreshToken) {
        const tokens = await http.call('POST', '/auth/refresh', { body: { refreshToken }, schema: AuthTokensSchema, auth: false });
        http.setTokens(tokens);
        return tokens;
      },
    };
  }

  forTenant(tenantId: string): TenantClient {
    return new TenantClient(this.http, tenantId);
  }

  /** True when the API answers its health check (no retries, no credentials needed). */
  async health(): Promise<boolean> {
    try {
      const res = await this.http.fetchImpl(`${this.http.baseUrl}/health`, { signal: AbortSignal.timeout(5000) });
      return res.ok && HealthSchema.safeParse(await res.json()).success;
    } catch {
      return false;
    }
  }
}
