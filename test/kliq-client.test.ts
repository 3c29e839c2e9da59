// The KLIQ API client against the local KLIQ API server, over real HTTP on 127.0.0.1: every resource,
// every error type, auth (API keys, JWT with refresh, OAuth2 client credentials), tenant isolation,
// pagination, uploads, CV jobs on the real ONNX engine, webhooks, idempotency, 429, faults, restarts.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AuthenticationError,
  ConflictError,
  CvJobSchema,
  ForbiddenError,
  KliqClient,
  KliqConnectionError,
  KliqError,
  KliqTimeoutError,
  NotFoundError,
  ObservationBatchCreateSchema,
  ObservationCreateSchema,
  ObservationSchema,
  RateLimitError,
  ServerError,
  SyncEventSchema,
  syncErrorEvent,
  UploadUrlRequestSchema,
  ValidationError,
  verifyWebhookSignature,
  type KliqClientOptions,
  type RetryInfo,
  type SyncEvent,
  type TenantClient,
} from '../src/kliq';
import { startApiServer, type ApiServer, type SeedTenant } from '../src/api-server/server';
import { GENERAL, ROOT, tmpDir } from './helpers';

const FAST = { retryDelaysMs: [10, 30, 50] };
const A: SeedTenant = {
  id: 't_alpha',
  apiKey: 'key_alpha_0123456789',
  users: [{ email: 'jane@alpha.test', password: 'pw-alpha' }],
  clients: [{ id: 'cli_alpha', secret: 'secret-alpha-0123' }],
};
const B: SeedTenant = { id: 't_beta', apiKey: 'key_beta_0123456789', users: [{ email: 'joe@beta.test', password: 'pw-beta' }] };
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/kliq', name), 'utf8')) as unknown;
const dogJpeg = fs.readFileSync(path.join(GENERAL, 'dog.jpg'));

/** Runs `fn` and returns what it threw. */
async function thrown(fn: () => Promise<unknown>): Promise<KliqError> {
  try {
    await fn();
  } catch (err) {
    return err as KliqError;
  }
  throw new Error('expected an error');
}

let server: ApiServer;
let kliq: KliqClient;
let alpha: TenantClient;
let beta: TenantClient;
const client = (o: KliqClientOptions = {}) => new KliqClient({ baseUrl: `${server.url}/v1`, ...FAST, ...o });

beforeAll(async () => {
  server = await startApiServer({ tenants: [A, B], webhookRetryDelaysMs: [50, 100] });
  kliq = client({ apiKey: A.apiKey });
  alpha = kliq.forTenant(A.id);
  beta = client({ apiKey: B.apiKey }).forTenant(B.id);
});
afterAll(async () => {
  await server?.close();
});

test("the seeds' JSON examples parse with the wire schemas", () => {
  const job = CvJobSchema.parse(fixture('seed-002-cv-job.json'));
  expect(job.result?.detections.map((d) => d.objectName)).toEqual(['Coca-Cola 330ml', 'Pepsi 500ml']);
  expect(job.result?.summary.outOfStock).toEqual(['Fanta Orange 330ml']);
  expect(job.source).toBe('cloud');
  expect(ObservationCreateSchema.parse(fixture('seed-001-observation-create.json')).metadata).toMatchObject({ aisle: 'beverages' });
  expect(ObservationBatchCreateSchema.parse({ items: fixture('seed-001-observation-batch.json') }).items).toHaveLength(2);
  expect(UploadUrlRequestSchema.parse(fixture('seed-001-upload-url-request.json')).contentType).toBe('image/jpeg');
  expect(ObservationSchema.parse(fixture('seed-000-observation.json')).status).toBe('pending');
});

test('health() is true for a live server and false for a closed port', async () => {
  expect(await kliq.health()).toBe(true);
  expect(await new KliqClient({ baseUrl: 'http://127.0.0.1:9/v1' }).health()).toBe(false);
});

describe('resources', () => {
  test('locations: create, get, list, update, delete; 404 and 400 as typed errors', async () => {
    const loc = await alpha.locations.create({
      name: 'Store 1',
      address: 'Rue Neuve 1',
      latitude: 50.85,
      longitude: 4.35,
      metadata: { region: 'BXL' },
    });
    expect(loc.id).toMatch(/^loc_/);
    expect(await alpha.locations.get(loc.id)).toEqual(loc);
    const updated = await alpha.locations.update(loc.id, { name: 'Store 1 bis' });
    expect(updated).toMatchObject({ id: loc.id, name: 'Store 1 bis', address: 'Rue Neuve 1' });
    expect((await alpha.locations.list()).data.map((l) => l.id)).toContain(loc.id);
    await alpha.locations.delete(loc.id);
    const nf = await thrown(() => alpha.locations.get(loc.id));
    expect(nf).toBeInstanceOf(NotFoundError);
    expect(nf.statusCode).toBe(404);
    expect(nf.requestId).toMatch(/^req_/);
    const bad = await thrown(() => alpha.locations.create({ name: '', latitude: 123 }));
    expect(bad).toBeInstanceOf(ValidationError);
    expect(Object.keys((bad as ValidationError).fields).sort()).toEqual(['latitude', 'name']);
  });

  test('observations: create, get, list with filters, createBatch, delete; an unknown location is a 400 on its field', async () => {
    const loc = await alpha.locations.create({ name: 'Obs store' });
    const obs = await alpha.observations.create({
      ...(fixture('seed-001-observation-create.json') as object),
      locationId: loc.id,
    } as never);
    expect(obs).toMatchObject({ locationId: loc.id, status: 'pending', latitude: 50.8503, metadata: { aisle: 'beverages' } });
    expect(obs.id).toMatch(/^obs_/);
    expect(await alpha.observations.get(obs.id)).toEqual(obs);
    const batch = await alpha.observations.createBatch(
      (fixture('seed-001-observation-batch.json') as { imageUrl: string }[]).map((o) => ({ ...o, locationId: loc.id })),
    );
    expect(batch).toHaveLength(2);
    const page = await alpha.observations.list({ locationId: loc.id, status: 'pending' });
    expect(page.data.map((o) => o.id)).toEqual([obs.id, ...batch.map((o) => o.id)]);
    expect(page.cursor).toEqual({ next: null, hasMore: false });
    expect((await alpha.observations.list({ locationId: loc.id, status: 'completed' })).data).toEqual([]);
    await alpha.observations.delete(obs.id);
    expect(await thrown(() => alpha.observations.get(obs.id))).toBeInstanceOf(NotFoundError);
    const err = (await thrown(() =>
      alpha.observations.create({ locationId: 'loc_nope', imageUrl: 'https://x.test/a.jpg' }),
    )) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.fields.locationId[0]).toMatch(/no location/);
    const batchErr = (await thrown(() =>
      alpha.observations.createBatch([
        { locationId: loc.id, imageUrl: 'https://x.test/a.jpg' },
        { locationId: loc.id, imageUrl: 'not a url' },
      ]),
    )) as ValidationError;
    expect(Object.keys(batchErr.fields)).toEqual(['items.1.imageUrl']);
  });

  test('pagination over 250 observations: pages of 100, 100, 50; listAll yields all in order; limit outside 1..100 is a 400', async () => {
    const loc = await alpha.locations.create({ name: 'Big store' });
    const ids: string[] = [];
    for (const n of [100, 100, 50]) {
      const items = Array.from({ length: n }, (_, i) => ({ locationId: loc.id, imageUrl: `https://x.test/${ids.length + i}.jpg` }));
      ids.push(...(await alpha.observations.createBatch(items)).map((o) => o.id));
    }
    const sizes: number[] = [];
    let cursor: string | undefined;
    for (;;) {
      const p = await alpha.observations.list({ locationId: loc.id, limit: 100, cursor });
      sizes.push(p.data.length);
      if (!p.cursor.hasMore) break;
      cursor = p.cursor.next!;
    }
    expect(sizes).toEqual([100, 100, 50]);
    expect((await alpha.observations.list({ locationId: loc.id })).data).toHaveLength(20); // default limit
    const all: string[] = [];
    for await (const o of alpha.observations.listAll({ locationId: loc.id, limit: 30 })) all.push(o.id);
    expect(all).toEqual(ids);
    for (const limit of [0, 101]) {
      const err = (await thrown(() => alpha.observations.list({ limit }))) as ValidationError;
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.fields.limit).toBeDefined();
    }
    expect(((await thrown(() => alpha.observations.list({ cursor: 'garbage' }))) as ValidationError).fields.cursor).toBeDefined();
  });

  test('catalog: create, importCsv (update by sku), list by category; a duplicate sku is a ConflictError', async () => {
    const coke = await alpha.catalog.create({ sku: 'SKU-1', name: 'Coca-Cola 330ml', category: 'soda' });
    expect(coke.id).toMatch(/^obj_/);
    expect(await thrown(() => alpha.catalog.create({ sku: 'SKU-1', name: 'again' }))).toBeInstanceOf(ConflictError);
    const imported = await alpha.catalog.importCsv({
      csv: 'sku,name,category,size\nSKU-1,"Coca-Cola, 330ml",soda,330\nSKU-2,Pepsi 500ml,soda,500\n',
    });
    expect(imported).toMatchObject({ created: 1, updated: 1 });
    expect(imported.data[0]).toMatchObject({ id: coke.id, name: 'Coca-Cola, 330ml', attributes: { size: '330' } });
    expect((await alpha.catalog.list({ category: 'soda' })).data.map((o) => o.sku)).toEqual(['SKU-1', 'SKU-2']);
    expect(((await thrown(() => alpha.catalog.importCsv({ csv: 'code,label\n1,2' }))) as ValidationError).fields.csv).toBeDefined();
  });

  test('buildings, assets and visits', async () => {
    const loc = await alpha.locations.create({ name: 'Campus' });
    const bld = await alpha.buildings.create({ name: 'Block A', locationId: loc.id });
    expect(bld.id).toMatch(/^bld_/);
    expect(await alpha.buildings.update(bld.id, { address: 'Main St 1' })).toMatchObject({ name: 'Block A', address: 'Main St 1' });
    expect(await alpha.buildings.get(bld.id)).toMatchObject({ address: 'Main St 1' });
    expect((await alpha.buildings.list()).data.map((b) => b.id)).toContain(bld.id);
    const asset = await alpha.assets.create({ buildingId: bld.id, name: 'Roof', category: 'structure' });
    expect(asset.id).toMatch(/^ast_/);
    expect(await alpha.assets.update(asset.id, { condition: 'worn' })).toMatchObject({ condition: 'worn', buildingId: bld.id });
    expect((await alpha.assets.list({ buildingId: bld.id })).data).toHaveLength(1);
    expect(await alpha.assets.get(asset.id)).toMatchObject({ name: 'Roof' });
    expect(await thrown(() => alpha.assets.create({ buildingId: 'bld_nope', name: 'x' }))).toBeInstanceOf(ValidationError);
    const obs = await alpha.observations.create({ locationId: loc.id, imageUrl: 'https://x.test/roof.jpg' });
    const visit = await alpha.visits.create({
      buildingId: bld.id,
      visitedBy: 'rep_jane',
      startedAt: '2026-01-01T09:00:00Z',
      observationIds: [obs.id],
    });
    expect(visit.id).toMatch(/^visit_/);
    expect(await alpha.visits.get(visit.id)).toEqual(visit);
    expect((await alpha.visits.list({ buildingId: bld.id })).data).toEqual([visit]);
  });
});

describe('errors, auth and isolation', () => {
  test('a wrong API key is an AuthenticationError; no key at all too', async () => {
    const err = await thrown(() => client({ apiKey: 'key_wrong_000000' }).forTenant(A.id).locations.list());
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.statusCode).toBe(401);
    expect(await thrown(() => client().forTenant(A.id).locations.list())).toBeInstanceOf(AuthenticationError);
  });

  test("tenant isolation: a key of tenant A gets 403 on every path of tenant B, and B's ids are 404 in A", async () => {
    // other tests use tenant B too (any order): compare with what it held before
    const betaObservations = async () => {
      const out: string[] = [];
      for await (const o of beta.observations.listAll()) out.push(o.id);
      return out;
    };
    const before = new Set(await betaObservations());
    const locB = await beta.locations.create({ name: 'Beta store' });
    const obsB = await beta.observations.create({ locationId: locB.id, imageUrl: 'https://x.test/b.jpg' });
    const asA = kliq.forTenant(B.id);
    for (const call of [
      () => asA.locations.list(),
      () => asA.locations.get(locB.id),
      () => asA.observations.get(obsB.id),
      () => asA.observations.create({ locationId: locB.id, imageUrl: 'https://x.test/a.jpg' }),
      () => asA.locations.update(locB.id, { name: 'hacked' }),
      () => asA.observations.delete(obsB.id),
      () => asA.cv.list(),
      () => kliq.forTenant('t_unknown').locations.list(),
    ]) {
      const err = await thrown(call);
      expect(err).toBeInstanceOf(ForbiddenError);
      expect(err.statusCode).toBe(403);
    }
    // B's ids looked up in A's own tenant do not exist there
    expect(await thrown(() => alpha.observations.get(obsB.id))).toBeInstanceOf(NotFoundError);
    expect(await thrown(() => alpha.locations.update(locB.id, { name: 'hacked' }))).toBeInstanceOf(NotFoundError);
    expect(
      ((await thrown(() => alpha.observations.create({ locationId: locB.id, imageUrl: 'https://x.test/a.jpg' }))) as ValidationError).fields
        .locationId,
    ).toBeDefined();
    // a JWT of a user of A is refused on B as well
    const jwtA = client();
    await jwtA.auth.getToken('jane@alpha.test', 'pw-alpha');
    expect(await thrown(() => jwtA.forTenant(B.id).locations.list())).toBeInstanceOf(ForbiddenError);
    expect((await beta.locations.get(locB.id)).name).toBe('Beta store');
    expect((await betaObservations()).filter((id) => !before.has(id))).toEqual([obsB.id]); // nothing A tried landed in B
  });

  test('5xx: GETs and requests with an Idempotency-Key are retried, other requests raise ServerError at once', async () => {
    const calls: string[] = [];
    const failing: typeof fetch = async (input, init) => {
      calls.push(`${init?.method} ${(init?.headers as Record<string, string>)['Idempotency-Key'] ? 'key' : 'nokey'}`);
      return new Response(JSON.stringify({ error: { code: 'boom', message: 'boom', requestId: 'req_1' } }), { status: 503 });
    };
    const plain = new KliqClient({
      apiKey: 'k',
      baseUrl: 'http://127.0.0.1:1/v1',
      fetch: failing,
      idempotencyKeys: false,
      ...FAST,
    }).forTenant('t');
    const err = await thrown(() => plain.locations.create({ name: 'x' }));
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ statusCode: 503, message: 'boom', requestId: 'req_1' });
    expect(calls).toEqual(['POST nokey']);
    calls.length = 0;
    expect(await thrown(() => plain.locations.list())).toBeInstanceOf(ServerError);
    expect(calls).toHaveLength(4); // first try + 3 retries
    calls.length = 0;
    expect(await thrown(() => plain.locations.create({ name: 'x' }, { idempotencyKey: 'k-1' }))).toBeInstanceOf(ServerError);
    expect(calls).toEqual(['POST key', 'POST key', 'POST key', 'POST key']);
  });

  test('timeoutMs bounds each attempt: a server slower than it (--latency-ms) is a KliqConnectionError after the retries', async () => {
    const slow = await startApiServer({ tenants: [A], latencyMs: 300 });
    try {
      const retries: RetryInfo[] = [];
      const impatient = new KliqClient({
        baseUrl: `${slow.url}/v1`,
        apiKey: A.apiKey,
        timeoutMs: 50,
        retryDelaysMs: [10],
        onRetry: (r) => retries.push(r),
      });
      expect(await thrown(() => impatient.forTenant(A.id).locations.list())).toBeInstanceOf(KliqConnectionError);
      expect(retries.map((r) => r.reason)).toEqual(['transport']);
      const patient = new KliqClient({ baseUrl: `${slow.url}/v1`, apiKey: A.apiKey });
      expect((await patient.forTenant(A.id).locations.list()).data).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  test('a 500 of the server (--fault-rate 1) is a ServerError with code and requestId; a POST without a key is not retried', async () => {
    const broken = await startApiServer({ tenants: [A], faultRate: 1, faultSeed: 3 }); // seed 3: the first two faults are 500s
    try {
      const retries: RetryInfo[] = [];
      const c = new KliqClient({
        baseUrl: `${broken.url}/v1`,
        apiKey: A.apiKey,
        idempotencyKeys: false,
        ...FAST,
        onRetry: (r) => retries.push(r),
      });
      const err = await thrown(() => c.forTenant(A.id).locations.create({ name: 'x' }));
      expect(err).toBeInstanceOf(ServerError);
      expect(err).toMatchObject({ statusCode: 500, code: 'injected_fault' });
      expect(err.requestId).toMatch(/^req_/);
      expect(retries).toEqual([]);
      expect(broken.stats.faults).toBe(1);
    } finally {
      await broken.close();
    }
  });

  test('transport errors are retried on the schedule, then raised as KliqConnectionError', async () => {
    const retries: RetryInfo[] = [];
    const dead = new KliqClient({
      apiKey: 'k',
      baseUrl: 'http://127.0.0.1:9/v1',
      retryDelaysMs: [10, 20, 30],
      onRetry: (r) => retries.push(r),
    });
    const err = await thrown(() => dead.forTenant('t').locations.list());
    expect(err).toBeInstanceOf(KliqConnectionError);
    expect(err.statusCode).toBe(0);
    expect(retries.map((r) => [r.reason, r.delayMs])).toEqual([
      ['transport', 10],
      ['transport', 20],
      ['transport', 30],
    ]);
  });

  test('the default retry schedule is seed 004’s 1 s, 3 s, 5 s', async () => {
    const { DEFAULT_RETRY_DELAYS_MS } = await import('../src/kliq');
    expect(DEFAULT_RETRY_DELAYS_MS).toEqual([1000, 3000, 5000]);
  });

  test('JWT: getToken, automatic refresh once the access token expires, refresh tokens rotate, wrong password is a 401', async () => {
    const short = await startApiServer({ tenants: [A], accessTokenTtlMs: 400 });
    try {
      const tokens: string[] = [];
      const retries: RetryInfo[] = [];
      const c = new KliqClient({
        baseUrl: `${short.url}/v1`,
        ...FAST,
        onTokens: (t) => tokens.push(t.accessToken),
        onRetry: (r) => retries.push(r),
      });
      const t = await c.auth.getToken('jane@alpha.test', 'pw-alpha');
      expect(t).toMatchObject({ tokenType: 'Bearer', expiresIn: 0.4 });
      const tenant = c.forTenant(A.id);
      await tenant.locations.create({ name: 'via JWT' });
      await new Promise((r) => setTimeout(r, 600));
      expect((await tenant.locations.list()).data.map((l) => l.name)).toContain('via JWT');
      expect(tokens.length).toBeGreaterThanOrEqual(2); // getToken, then a refresh (more only if this machine stalls past the lifetime)
      // an expired token with no refresh token: AuthenticationError
      const stale = new KliqClient({ baseUrl: `${short.url}/v1`, accessToken: t.accessToken, ...FAST });
      expect(await thrown(() => stale.forTenant(A.id).locations.list())).toBeInstanceOf(AuthenticationError);
      // the refresh token of getToken was used by the automatic refresh: a second use is refused
      expect(await thrown(() => c.auth.refresh(t.refreshToken))).toBeInstanceOf(AuthenticationError);
      // a client given an expired access token and a valid refresh token renews on the 401
      const fresh = await new KliqClient({ baseUrl: `${short.url}/v1` }).auth.getToken('jane@alpha.test', 'pw-alpha');
      await new Promise((r) => setTimeout(r, 500));
      const resumed = new KliqClient({
        baseUrl: `${short.url}/v1`,
        accessToken: fresh.accessToken,
        refreshToken: fresh.refreshToken,
        onRetry: (r) => retries.push(r),
      });
      expect((await resumed.forTenant(A.id).locations.list()).data.length).toBeGreaterThan(0);
      expect(retries.some((r) => r.reason === 'token-refresh' && r.statusCode === 401)).toBe(true);
      expect(await thrown(() => c.auth.getToken('jane@alpha.test', 'wrong'))).toBeInstanceOf(AuthenticationError);
    } finally {
      await short.close();
    }
  });

  test('OAuth2 client credentials: exchanged once and cached until expiry', async () => {
    const tokenCalls: string[] = [];
    const counting: typeof fetch = (input, init) => {
      if (String(input).endsWith('/oauth/token')) tokenCalls.push(String(input));
      return fetch(input, init);
    };
    const c = client({ clientId: 'cli_alpha', clientSecret: 'secret-alpha-0123', fetch: counting });
    const t = c.forTenant(A.id);
    await t.locations.create({ name: 'via OAuth2' });
    await t.locations.list();
    await t.observations.list();
    expect(tokenCalls).toHaveLength(1);
    expect(await thrown(() => client({ clientId: 'cli_alpha', clientSecret: 'nope' }).forTenant(A.id).locations.list())).toBeInstanceOf(
      AuthenticationError,
    );
  });
});

describe('uploads and CV jobs', () => {
  test('signed upload of a JPEG, CV job queued → completed on the ONNX engine, the seed result format with a dog', async () => {
    const loc = await alpha.locations.create({ name: 'CV store' });
    const imageUrl = await alpha.observations.upload(dogJpeg, { contentType: 'image/jpeg', filename: 'dog.jpg' });
    expect(imageUrl).toMatch(/\/v1\/uploads\/upl_/);
    const obs = await alpha.observations.create({ locationId: loc.id, imageUrl });
    const job = await alpha.cv.start({ observationId: obs.id, model: 'shelf-detection-v2' });
    expect(job).toMatchObject({ status: 'queued', model: 'shelf-detection-v2', observationId: obs.id, source: 'cloud', result: null });
    expect(job.id).toMatch(/^job_/);
    const done = await alpha.cv.waitForCompletion(job.id, { timeoutMs: 60_000, pollIntervalMs: 100 });
    expect(done.status).toBe('completed');
    expect(done.completedAt).toBeTruthy();
    expect(done.result!.detections.map((d) => d.objectName)).toContain('dog');
    const dog = done.result!.detections.find((d) => d.objectName === 'dog')!;
    expect(dog.confidence).toBeGreaterThan(0.5);
    expect(dog.boundingBox.width).toBeGreaterThan(50);
    expect(done.result!.summary.totalProducts).toBe(done.result!.detections.length);
    expect((await alpha.observations.get(obs.id)).status).toBe('completed');
    expect((await alpha.cv.list({ observationId: obs.id })).data).toEqual([done]);
  });

  test('an unknown model and `custom` (no local model) are 400s on the model field; a job that cannot run ends failed', async () => {
    const loc = await alpha.locations.create({ name: 'x' });
    const obs = await alpha.observations.create({ locationId: loc.id, imageUrl: 'https://x.test/a.jpg' });
    for (const model of ['yolo-9000', 'custom']) {
      const err = (await thrown(() => alpha.cv.start({ observationId: obs.id, model }))) as ValidationError;
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.fields.model).toBeDefined();
    }
    // a remote image is never fetched by the local server: the job fails, with its error, and so does the observation
    const job = await alpha.cv.start({ observationId: obs.id, model: 'damage-assessment-v1' });
    const failed = await alpha.cv.waitForCompletion(job.id, { timeoutMs: 30_000, pollIntervalMs: 20 });
    expect(failed).toMatchObject({ status: 'failed', result: null });
    expect(failed.error).toMatch(/not an upload on this server/);
    expect((await alpha.observations.get(obs.id)).status).toBe('failed');
  });

  test('uploads: a 21 MB file is a 413, a text file a 415 (by type or by content), an expired or forged URL a 403', async () => {
    const big = new Uint8Array(21 * 1024 * 1024);
    big.set([0xff, 0xd8, 0xff, 0xe0]);
    const tooBig = await thrown(() => alpha.observations.upload(big, { contentType: 'image/jpeg', filename: 'big.jpg' }));
    expect(tooBig).toBeInstanceOf(ValidationError);
    expect(tooBig.statusCode).toBe(413);
    const textType = (await thrown(() =>
      alpha.observations.getUploadUrl({ contentType: 'text/plain', filename: 'a.txt' }),
    )) as ValidationError;
    expect(textType.statusCode).toBe(415);
    expect(textType.fields.contentType).toBeDefined();
    const textBody = await thrown(() =>
      alpha.observations.upload(new TextEncoder().encode('hello, not a photo'), { contentType: 'image/jpeg', filename: 'a.jpg' }),
    );
    expect(textBody.statusCode).toBe(415);
    const { uploadUrl, imageUrl } = await alpha.observations.getUploadUrl({ contentType: 'image/jpeg', filename: 'dog.jpg' });
    const forged = uploadUrl.replace(/signature=[0-9a-f]{4}/, 'signature=0000');
    const res = await fetch(forged, { method: 'PUT', headers: { 'Content-Type': 'image/jpeg' }, body: dogJpeg });
    expect(res.status).toBe(403);
    // never uploaded: observation create refuses the imageUrl
    const loc = await alpha.locations.create({ name: 'x' });
    expect(
      ((await thrown(() => alpha.observations.create({ locationId: loc.id, imageUrl }))) as ValidationError).fields.imageUrl,
    ).toBeDefined();
    const expiring = await startApiServer({ tenants: [A], uploadUrlTtlMs: 1 });
    try {
      const t = new KliqClient({ baseUrl: `${expiring.url}/v1`, apiKey: A.apiKey }).forTenant(A.id);
      const u = await t.observations.getUploadUrl({ contentType: 'image/jpeg', filename: 'dog.jpg' });
      await new Promise((r) => setTimeout(r, 20));
      const r2 = await fetch(u.uploadUrl, { method: 'PUT', headers: { 'Content-Type': 'image/jpeg' }, body: dogJpeg });
      expect(r2.status).toBe(403);
      expect(((await r2.json()) as { error: { code: string } }).error.code).toBe('upload_url_expired');
    } finally {
      await expiring.close();
    }
  });

  test('extension: a device result reads like a cloud job (cv.get, cv.list, GET …/cv/jobs) with source "device"', async () => {
    const loc = await alpha.locations.create({ name: 'Device store' });
    const obs = await alpha.observations.create({ locationId: loc.id, imageUrl: 'https://x.test/device.jpg' });
    const result = (fixture('seed-002-cv-job.json') as { result: never }).result;
    const job = await alpha.cv.submitResult({
      observationId: obs.id,
      model: 'yolox-nano-coco',
      result,
      completedAt: '2026-01-02T03:04:05Z',
    });
    expect(job).toMatchObject({
      status: 'completed',
      source: 'device',
      observationId: obs.id,
      result,
      completedAt: '2026-01-02T03:04:05.000Z',
    });
    expect(await alpha.cv.get(job.id)).toEqual(job);
    expect((await alpha.cv.list({ observationId: obs.id })).data).toEqual([job]);
    const raw = await fetch(`${server.url}/v1/tenants/${A.id}/cv/jobs?observationId=${obs.id}`, {
      headers: { Authorization: `Bearer ${A.apiKey}` },
    });
    expect(CvJobSchema.parse(((await raw.json()) as { data: unknown[] }).data[0])).toEqual(job);
    expect((await alpha.observations.get(obs.id)).status).toBe('completed');
    // a device result needs its result; a cloud job may not carry one
    const err = (await thrown(() =>
      kliq.http.post(`/tenants/${A.id}/cv/jobs`, { observationId: obs.id, model: 'm', source: 'device' }, CvJobSchema),
    )) as ValidationError;
    expect(err.fields.result).toBeDefined();
  });

  test('extension: corrected labels are versioned; an edit from an old version is a ConflictError', async () => {
    const loc = await alpha.locations.create({ name: 'Labels store' });
    const obs = await alpha.observations.create({ locationId: loc.id, imageUrl: 'https://x.test/l.jpg' });
    expect(await alpha.observations.getLabels(obs.id)).toMatchObject({ version: 0, labels: [] });
    const labels = [
      { objectName: 'dog', confidence: 1, boundingBox: { x: 1, y: 2, width: 3, height: 4 }, attributes: { corrected: true } },
    ];
    const v1 = await alpha.observations.putLabels(obs.id, { labels, baseVersion: 0, updatedBy: 'rep_jane' });
    expect(v1).toMatchObject({ observationId: obs.id, version: 1, labels, updatedBy: 'rep_jane' });
    expect(await alpha.observations.getLabels(obs.id)).toEqual(v1);
    expect(await thrown(() => alpha.observations.putLabels(obs.id, { labels: [], baseVersion: 0 }))).toBeInstanceOf(ConflictError);
    expect((await alpha.observations.putLabels(obs.id, { labels: [], baseVersion: 1 })).version).toBe(2);
    expect(await thrown(() => alpha.observations.getLabels('obs_nope'))).toBeInstanceOf(NotFoundError);
  });

  test('waitForCompletion gives up after timeoutMs with KliqTimeoutError', async () => {
    const queued = {
      id: 'job_1',
      observationId: 'obs_1',
      model: 'shelf-detection-v2',
      status: 'queued',
      result: null,
      error: null,
      createdAt: 'x',
      completedAt: null,
    };
    let polls = 0;
    const fake: typeof fetch = async () => {
      polls++;
      return new Response(JSON.stringify(queued), { status: 200 });
    };
    const t = new KliqClient({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1/v1', fetch: fake }).forTenant('t');
    const err = await thrown(() => t.cv.waitForCompletion('job_1', { timeoutMs: 150, pollIntervalMs: 20 }));
    expect(err).toBeInstanceOf(KliqTimeoutError);
    expect(polls).toBeGreaterThan(1);
  });
});

describe('webhooks', () => {
  test('deliveries are signed (verified), forged and replayed ones rejected, failed ones retried with backoff', async () => {
    const received: { body: string; signature: string; attempt: string; type: string }[] = [];
    let failFirst = true;
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const entry = {
          body: Buffer.concat(chunks).toString('utf8'),
          signature: String(req.headers['kliq-signature']),
          attempt: String(req.headers['kliq-delivery-attempt']),
          type: String(req.headers['kliq-event-type']),
        };
        received.push(entry);
        if (entry.type === 'observation.created' && failFirst) {
          failFirst = false;
          res.writeHead(500).end();
        } else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const port = (receiver.address() as { port: number }).port;
      const hook = await alpha.webhooks.create({
        url: `http://127.0.0.1:${port}/hooks`,
        events: ['observation.created', 'cv_job.completed'],
      });
      expect(hook.id).toMatch(/^wh_/);
      expect(hook.secret).toMatch(/^whsec_/);
      expect((await alpha.webhooks.list()).data.find((h) => h.id === hook.id)?.secret).toBeUndefined();
      const loc = await alpha.locations.create({ name: 'Hooked' });
      const obs = await alpha.observations.create({ locationId: loc.id, imageUrl: 'https://x.test/h.jpg' });
      for (let i = 0; i < 200 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(received.map((r) => [r.type, r.attempt])).toEqual([
        ['observation.created', '1'],
        ['observation.created', '2'],
      ]);
      const d = received[1];
      const event = JSON.parse(d.body) as { id: string; type: string; data: { id: string } };
      expect(event).toMatchObject({ type: 'observation.created', data: { id: obs.id } });
      expect(await verifyWebhookSignature(d.body, d.signature, hook.secret!)).toBe(true);
      expect(await verifyWebhookSignature(d.body.replace(obs.id, 'obs_forged'), d.signature, hook.secret!)).toBe(false);
      expect(await verifyWebhookSignature(d.body, d.signature, 'whsec_someone_else_000')).toBe(false);
      expect(await verifyWebhookSignature(d.body, d.signature.replace(/v1=[0-9a-f]{2}/, 'v1=00'), hook.secret!)).toBe(false);
      expect(await verifyWebhookSignature(d.body, null, hook.secret!)).toBe(false);
      // replay: the same delivery presented ten minutes later is refused (the timestamp is signed)
      expect(await verifyWebhookSignature(d.body, d.signature, hook.secret!, { now: Date.now() + 10 * 60_000 })).toBe(false);
      // a re-signed timestamp without the secret cannot match
      const t = Math.floor(Date.now() / 1000) + 5;
      expect(await verifyWebhookSignature(d.body, d.signature.replace(/t=\d+/, `t=${t}`), hook.secret!)).toBe(false);
      // CV-job events: a device result completes a job
      const result = (fixture('seed-002-cv-job.json') as { result: never }).result;
      const job = await alpha.cv.submitResult({ observationId: obs.id, model: 'yolox-nano-coco', result });
      for (let i = 0; i < 200 && received.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      const cvEvent = received[2];
      expect(cvEvent.type).toBe('cv_job.completed');
      expect(JSON.parse(cvEvent.body)).toMatchObject({
        type: 'cv_job.completed',
        data: { id: job.id, source: 'device', status: 'completed' },
      });
      expect(await verifyWebhookSignature(cvEvent.body, cvEvent.signature, hook.secret!)).toBe(true);
      await alpha.webhooks.delete(hook.id);
      expect((await alpha.webhooks.list()).data.map((h) => h.id)).not.toContain(hook.id);
      const bad = (await thrown(() =>
        alpha.webhooks.create({ url: 'http://example.test/hook', events: ['cv_job.completed'] }),
      )) as ValidationError;
      expect(bad.fields.url).toBeDefined();
    } finally {
      await new Promise((r) => receiver.close(r));
    }
  });
});

test('webhooks: a receiver that keeps failing gets the first try and one per retry delay, then no more', async () => {
  const attempts: string[] = [];
  const receiver = http.createServer((req, res) => {
    attempts.push(String(req.headers['kliq-delivery-attempt']));
    req.resume();
    res.writeHead(503).end();
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const port = (receiver.address() as { port: number }).port;
    await beta.webhooks.create({ url: `http://127.0.0.1:${port}/down`, events: ['observation.created'] });
    const loc = await beta.locations.create({ name: 'Down' });
    await beta.observations.create({ locationId: loc.id, imageUrl: 'https://x.test/d.jpg' });
    for (let i = 0; i < 200 && attempts.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300)); // the schedule (50, 100 ms) is used up
    expect(attempts).toEqual(['1', '2', '3']);
  } finally {
    await new Promise((r) => receiver.close(r));
  }
});

describe('idempotency, rate limits, faults, restarts', () => {
  test('the same Idempotency-Key and body return the first response; another body is a 422', async () => {
    const a = await alpha.locations.create({ name: 'Idem' }, { idempotencyKey: 'idem-1' });
    const b = await alpha.locations.create({ name: 'Idem' }, { idempotencyKey: 'idem-1' });
    expect(b).toEqual(a);
    const raw = await fetch(`${server.url}/v1/tenants/${A.id}/locations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${A.apiKey}`, 'Content-Type': 'application/json', 'Idempotency-Key': 'idem-1' },
      body: JSON.stringify({ name: 'Idem' }),
    });
    expect(raw.status).toBe(201);
    expect(raw.headers.get('idempotent-replayed')).toBe('true');
    const other = await thrown(() => alpha.locations.create({ name: 'Other' }, { idempotencyKey: 'idem-1' }));
    expect(other).toBeInstanceOf(ValidationError);
    expect(other).toMatchObject({ statusCode: 422, code: 'idempotency_key_reused' });
    expect((await alpha.locations.list({ limit: 100 })).data.filter((l) => l.name === 'Idem')).toHaveLength(1);
    // keys are per tenant: B may use the same key for its own request
    expect((await beta.locations.create({ name: 'Idem' }, { idempotencyKey: 'idem-1' })).id).not.toBe(a.id);
  });

  test('429 with Retry-After is retried by the client; with no retries left it is a RateLimitError', async () => {
    const limited = await startApiServer({ tenants: [A], rateLimitPerSecond: 3 });
    try {
      const retries: RetryInfo[] = [];
      const t = new KliqClient({ baseUrl: `${limited.url}/v1`, apiKey: A.apiKey, onRetry: (r) => retries.push(r) }).forTenant(A.id);
      const pages = await Promise.all(Array.from({ length: 6 }, () => t.locations.list()));
      expect(pages).toHaveLength(6);
      expect(limited.stats.rateLimited).toBeGreaterThan(0);
      expect(retries.filter((r) => r.reason === 'rate-limit').every((r) => r.statusCode === 429 && r.delayMs >= 1000)).toBe(true);
      expect(retries.some((r) => r.reason === 'rate-limit')).toBe(true);
      const impatient = new KliqClient({ baseUrl: `${limited.url}/v1`, apiKey: A.apiKey, maxRateLimitRetries: 0 }).forTenant(A.id);
      const errs = await Promise.allSettled(Array.from({ length: 6 }, () => impatient.locations.list()));
      const err = errs.find((e) => e.status === 'rejected') as PromiseRejectedResult;
      expect(err.reason).toBeInstanceOf(RateLimitError);
      expect((err.reason as RateLimitError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  test('fault injection: the client retries GETs and POSTs (with Idempotency-Keys) and never creates twice', async () => {
    const faulty = await startApiServer({ tenants: [A], faultRate: 0.35, faultSeed: 42 });
    try {
      const retries: RetryInfo[] = [];
      const t = new KliqClient({
        baseUrl: `${faulty.url}/v1`,
        apiKey: A.apiKey,
        retryDelaysMs: [5, 5, 5, 5, 5, 5, 5, 5],
        onRetry: (r) => retries.push(r),
      }).forTenant(A.id);
      const created: string[] = [];
      for (let i = 0; i < 20; i++) created.push((await t.locations.create({ name: `faulty ${i}` })).id);
      const names: string[] = [];
      for await (const l of t.locations.listAll({ limit: 7 })) names.push(l.name);
      expect(names).toEqual(Array.from({ length: 20 }, (_, i) => `faulty ${i}`));
      expect(new Set(created).size).toBe(20);
      expect(faulty.stats.faults).toBeGreaterThan(3);
      expect(faulty.stats.replays).toBeGreaterThan(0); // a create whose response was lost was answered from its key
      expect(new Set(retries.map((r) => r.reason))).toEqual(new Set(['transport', 'server']));
      expect(retries.some((r) => r.method === 'POST')).toBe(true);
      expect(retries.some((r) => r.method === 'GET')).toBe(true);
    } finally {
      await faulty.close();
    }
  });

  test("the server's state survives a restart on the same --db (resources, keys, JWT secret, uploads, queued CV jobs)", async () => {
    const dir = tmpDir('kliq-api-restart-');
    const db = path.join(dir, 'api.db');
    const first = await startApiServer({ db, tenants: [A], cvPaused: true });
    let locId: string;
    let jobId: string;
    let tokens;
    try {
      const c = new KliqClient({ baseUrl: `${first.url}/v1`, apiKey: A.apiKey });
      locId = (await c.forTenant(A.id).locations.create({ name: 'Persistent' }, { idempotencyKey: 'persist-1' })).id;
      tokens = await new KliqClient({ baseUrl: `${first.url}/v1` }).auth.getToken('jane@alpha.test', 'pw-alpha');
      // a CV job accepted before the stop, on an uploaded photo, stays queued
      const t = c.forTenant(A.id);
      const imageUrl = await t.observations.upload(dogJpeg, { contentType: 'image/jpeg', filename: 'dog.jpg' });
      const obs = await t.observations.create({ locationId: locId, imageUrl });
      jobId = (await t.cv.start({ observationId: obs.id, model: 'building-inspection-v1' })).id;
      expect((await t.cv.get(jobId)).status).toBe('queued');
    } finally {
      await first.close();
    }
    const second = await startApiServer({ db });
    try {
      const t = new KliqClient({ baseUrl: `${second.url}/v1`, apiKey: A.apiKey }).forTenant(A.id);
      expect((await t.locations.get(locId)).name).toBe('Persistent');
      expect((await t.locations.create({ name: 'Persistent' }, { idempotencyKey: 'persist-1' })).id).toBe(locId);
      const viaJwt = new KliqClient({ baseUrl: `${second.url}/v1`, accessToken: tokens.accessToken }).forTenant(A.id);
      expect((await viaJwt.locations.list()).data.map((l) => l.id)).toEqual([locId]);
      // …and runs after the restart, on the upload kept beside the db
      const job = await t.cv.waitForCompletion(jobId, { timeoutMs: 60_000, pollIntervalMs: 100 });
      expect(job.status).toBe('completed');
      expect(job.result!.detections.map((d) => d.objectName)).toContain('dog');
    } finally {
      await second.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('SyncEvent is a discriminated union consumers narrow with switch', () => {
  const events: SyncEvent[] = [
    { type: 'progress', phase: 'observation', done: 1, total: 2 },
    { type: 'item', kind: 'observation', localId: 'o1', remoteId: 'obs_1', action: 'created' },
    { type: 'error', kind: 'upload', localId: 'o2', statusCode: 413, code: 'payload_too_large', message: 'too big', retryable: false },
    { type: 'done', counts: { upload: 0, observation: 1, cvJob: 0, labels: 0, failed: 1 }, cancelled: false, elapsedMs: 5 },
  ];
  const seen = events.map((e) => {
    switch (e.type) {
      case 'progress':
        return `${e.done}/${e.total}`;
      case 'item':
        return e.remoteId;
      case 'error':
        return e.statusCode;
      case 'done':
        return e.counts.failed;
    }
  });
  expect(seen).toEqual(['1/2', 'obs_1', 413, 1]);
  for (const e of events) expect(SyncEventSchema.parse(JSON.parse(JSON.stringify(e)))).toEqual(e);
  expect(SyncEventSchema.safeParse({ type: 'item', kind: 'photo' }).success).toBe(false);
  const nf = syncErrorEvent(new NotFoundError('observation obs_1 not found', 404, 'req_1', 'not_found'), 'observation', 'o1');
  expect(nf).toEqual({
    type: 'error',
    kind: 'observation',
    localId: 'o1',
    statusCode: 404,
    code: 'not_found',
    message: 'observation obs_1 not found',
    retryable: false,
  });
  expect(syncErrorEvent(new KliqConnectionError('no response', 0)).retryable).toBe(true);
});
