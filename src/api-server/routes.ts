/** The endpoints of seeds 000–002 under /v1, plus the device-result and labels extensions. */
import crypto from 'node:crypto';
import type { z } from 'zod';
import {
  AssetCreateSchema,
  AssetListQuerySchema,
  AssetUpdateSchema,
  BuildingCreateSchema,
  BuildingUpdateSchema,
  CatalogImportCsvSchema,
  CatalogListQuerySchema,
  ClientCredentialsGrantSchema,
  CvJobListQuerySchema,
  CvJobStartSchema,
  ID_PREFIX,
  ListQuerySchema,
  LocationCreateSchema,
  LocationUpdateSchema,
  ObservationBatchCreateSchema,
  ObservationCreateSchema,
  ObservationLabelsPutSchema,
  ObservationListQuerySchema,
  PasswordGrantSchema,
  RefreshGrantSchema,
  TrackedObjectCreateSchema,
  UPLOAD_CONTENT_TYPES,
  UploadUrlRequestSchema,
  VisitCreateSchema,
  VisitListQuerySchema,
  WebhookCreateSchema,
  type Asset,
  type AuthTokens,
  type Building,
  type CvJob,
  type Location,
  type Observation,
  type ObservationCreate,
  type ObservationLabels,
  type TrackedObject,
  type Visit,
  type Webhook,
} from '../kliq/wire';
import { MODEL_MAP } from './cv';
import { fieldsOf, HttpError, invalid, notFound, parse, route, type Ctx, type Route } from './http';
import type { Jwt } from './jwt';
import { checkSecret, nowIso, randomId, type Kind, type Store } from './store';
import { deliverableUrl, type WebhookDispatcher } from './webhooks';

export interface RouteDeps {
  store: Store;
  jwt: Jwt;
  webhooks: WebhookDispatcher;
  kickCv: () => void;
  accessTokenTtlMs: number;
  refreshTokenTtlMs: number;
  uploadUrlTtlMs: number;
  publicUrl: () => string;
  /** HMAC of an upload URL's `id.expires` */
  signUpload: (id: string, expires: number) => string;
}

/** `/v1/uploads/upl_…` on this server (any port: the id is what counts) → upload id. */
export function uploadIdOf(imageUrl: string): string | null {
  try {
    const u = new URL(imageUrl);
    if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') return null;
    return /^\/v1\/uploads\/(upl_[0-9a-f]+)$/.exec(u.pathname)?.[1] ?? null;
  } catch {
    return null;
  }
}

const encodeCursor = (seq: number) => Buffer.from(JSON.stringify({ s: seq })).toString('base64url');
function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  try {
    const s = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: unknown }).s;
    if (typeof s === 'number' && Number.isInteger(s) && s >= 0) return s;
  } catch {
    /* below */
  }
  throw invalid('cursor', 'not a cursor from a previous page');
}

export function buildRoutes(d: RouteDeps): Route[] {
  const { store } = d;
  const tenantOf = (c: Ctx) => c.params.tenantId;

  function listPage<T>(
    c: Ctx,
    kind: Kind,
    schema: z.ZodType<{ cursor?: string; limit: number } & Record<string, unknown>>,
    filters: string[],
  ) {
    const q = parse(schema, c.query, 'query');
    const f: Record<string, string | undefined> = {};
    for (const k of filters) f[k] = q[k] as string | undefined;
    const { items, lastSeq, hasMore } = store.list<T>(tenantOf(c), kind, f, decodeCursor(q.cursor), q.limit);
    return { status: 200, body: { data: items, cursor: { next: hasMore && lastSeq ? encodeCursor(lastSeq) : null, hasMore } } };
  }
  function must<T>(c: Ctx, kind: Kind, what: string, id = c.params.id): T {
    const doc = store.get<T>(tenantOf(c), kind, id);
    if (!doc) throw notFound(what, id);
    return doc;
  }
  function exists(c: Ctx, kind: Kind, field: string, id: string | undefined, what: string): void {
    if (id !== undefined && !store.get(tenantOf(c), kind, id)) throw invalid(field, `no ${what} ${id} in this tenant`);
  }

  function issueTokens(sub: string, tid: string): AuthTokens {
    const access = d.jwt.sign({ sub, tid, typ: 'access' }, d.accessTokenTtlMs);
    const refresh = d.jwt.sign({ sub, tid, typ: 'refresh' }, d.refreshTokenTtlMs);
    store.db
      .prepare('INSERT INTO refresh_tokens (jti, subject, tenant_id, expires_at) VALUES (?, ?, ?, ?)')
      .run(refresh.claims.jti, sub, tid, Math.floor(refresh.claims.exp * 1000));
    return { accessToken: access.token, refreshToken: refresh.token, tokenType: 'Bearer', expiresIn: d.accessTokenTtlMs / 1000 };
  }

  // ---- observations helpers
  function checkObservationInput(c: Ctx, input: ObservationCreate, prefix = ''): void {
    const tenantId = tenantOf(c);
    if (!store.get(tenantId, 'location', input.locationId)) {
      throw invalid(`${prefix}locationId`, `no location ${input.locationId} in this tenant`);
    }
    const uploadId = uploadIdOf(input.imageUrl);
    if (uploadId) {
      const up = store.db.prepare('SELECT tenant_id, uploaded_at FROM uploads WHERE id = ?').get(uploadId) as
        { tenant_id: string; uploaded_at: string | null } | undefined;
      if (!up || up.tenant_id !== tenantId || !up.uploaded_at) {
        throw invalid(`${prefix}imageUrl`, 'no completed upload at this URL (PUT the image to its uploadUrl first)');
      }
    }
  }
  function newObservation(tenantId: string, input: ObservationCreate): Observation {
    const now = nowIso();
    return {
      id: randomId(ID_PREFIX.observation),
      tenantId,
      locationId: input.locationId,
      imageUrl: input.imageUrl,
      latitude: input.latitude ?? null,
      longitude: input.longitude ?? null,
      status: 'pending',
      metadata: input.metadata ?? {},
      createdAt: now,
      updatedAt: now,
    };
  }

  const T = '/v1/tenants/:tenantId';
  return [
    // ---------------------------------------------------------------- auth
    route('POST', '/v1/auth/token', 'none', (c) => {
      const g = parse(PasswordGrantSchema, c.body);
      const user = store.user(g.email);
      if (!user || !checkSecret(g.password, user.password_hash)) throw new HttpError(401, 'invalid_credentials', 'wrong email or password');
      return { status: 200, body: issueTokens(user.email, user.tenant_id) };
    }),
    route('POST', '/v1/auth/refresh', 'none', (c) => {
      const g = parse(RefreshGrantSchema, c.body);
      const claims = d.jwt.verify(g.refreshToken, 'refresh');
      if (!claims) throw new HttpError(401, 'invalid_token', 'the refresh token is invalid or expired');
      // rotation: a refresh token is good once
      const used = store.db.prepare('UPDATE refresh_tokens SET used = 1 WHERE jti = ? AND used = 0').run(claims.jti);
      if (used.changes === 0) throw new HttpError(401, 'invalid_token', 'the refresh token was already used');
      return { status: 200, body: issueTokens(claims.sub, claims.tid) };
    }),
    route('POST', '/v1/oauth/token', 'none', (c) => {
      let body = (c.body ?? {}) as Record<string, unknown>;
      const basic = /^Basic (.+)$/i.exec(c.req.headers.authorization ?? '');
      if (basic) {
        const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':', 2);
        body = { ...body, client_id: decodeURIComponent(id ?? ''), client_secret: decodeURIComponent(secret ?? '') };
      }
      const g = parse(ClientCredentialsGrantSchema, body);
      const client = store.oauthClient(g.client_id);
      if (!client || !checkSecret(g.client_secret, client.secret_hash))
        throw new HttpError(401, 'invalid_client', 'unknown client or wrong secret');
      const access = d.jwt.sign({ sub: client.client_id, tid: client.tenant_id, typ: 'access' }, d.accessTokenTtlMs);
      return { status: 200, body: { access_token: access.token, token_type: 'Bearer', expires_in: d.accessTokenTtlMs / 1000 } };
    }),

    // ---------------------------------------------------------------- observations
    route('POST', `${T}/observations`, 'tenant', (c) => {
      const input = parse(ObservationCreateSchema, c.body);
      checkObservationInput(c, input);
      const obs = store.insert('observation', newObservation(tenantOf(c), input));
      d.webhooks.emit(obs.tenantId, 'observation.created', obs);
      return { status: 201, body: obs };
    }),
    route('POST', `${T}/observations/batch`, 'tenant', (c) => {
      const { items } = parse(ObservationBatchCreateSchema, c.body);
      items.forEach((input, i) => checkObservationInput(c, input, `items.${i}.`));
      const created = store.db.transaction(() => items.map((input) => store.insert('observation', newObservation(tenantOf(c), input))))();
      for (const obs of created) d.webhooks.emit(obs.tenantId, 'observation.created', obs);
      return { status: 201, body: { data: created } };
    }),
    route('POST', `${T}/observations/upload-url`, 'tenant', (c) => {
      const input = parse(UploadUrlRequestSchema, c.body);
      if (!(UPLOAD_CONTENT_TYPES as readonly string[]).includes(input.contentType)) {
        throw new HttpError(415, 'unsupported_media_type', 'only image/jpeg and image/png', {
          contentType: ['must be image/jpeg or image/png'],
        });
      }
      const id = randomId(ID_PREFIX.upload);
      const expires = Date.now() + d.uploadUrlTtlMs;
      store.db
        .prepare('INSERT INTO uploads (id, tenant_id, content_type, filename, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, tenantOf(c), input.contentType, input.filename, expires, nowIso());
      const base = `${d.publicUrl()}/v1/uploads/${id}`;
      return {
        status: 200,
        body: {
          uploadUrl: `${base}?expires=${expires}&signature=${d.signUpload(id, expires)}`,
          imageUrl: base,
          expiresAt: new Date(expires).toISOString(),
        },
      };
    }),
    route('GET', `${T}/observations`, 'tenant', (c) =>
      listPage<Observation>(c, 'observation', ObservationListQuerySchema, ['locationId', 'status']),
    ),
    route('GET', `${T}/observations/:id`, 'tenant', (c) => ({ status: 200, body: must<Observation>(c, 'observation', 'observation') })),
    route('DELETE', `${T}/observations/:id`, 'tenant', (c) => {
      const obs = must<Observation>(c, 'observation', 'observation');
      store.remove(tenantOf(c), 'observation', obs.id);
      store.remove(tenantOf(c), 'labels', `lbl_${obs.id}`);
      d.webhooks.emit(obs.tenantId, 'observation.deleted', { id: obs.id });
      return { status: 204 };
    }),
    // extension: corrected labels, versioned
    route('GET', `${T}/observations/:id/labels`, 'tenant', (c) => {
      const obs = must<Observation>(c, 'observation', 'observation');
      const labels = store.get<ObservationLabels & { id: string; tenantId: string }>(tenantOf(c), 'labels', `lbl_${obs.id}`);
      const body: ObservationLabels = labels
        ? {
            observationId: obs.id,
            version: labels.version,
            labels: labels.labels,
            updatedBy: labels.updatedBy,
            updatedAt: labels.updatedAt,
          }
        : { observationId: obs.id, version: 0, labels: [], updatedBy: null, updatedAt: null };
      return { status: 200, body };
    }),
    route('PUT', `${T}/observations/:id/labels`, 'tenant', (c) => {
      const obs = must<Observation>(c, 'observation', 'observation');
      const input = parse(ObservationLabelsPutSchema, c.body);
      const current = store.get<ObservationLabels>(tenantOf(c), 'labels', `lbl_${obs.id}`);
      const version = current?.version ?? 0;
      if (input.baseVersion !== undefined && input.baseVersion !== version) {
        throw new HttpError(409, 'version_conflict', `the labels are at version ${version}, not ${input.baseVersion}`);
      }
      const body: ObservationLabels = {
        observationId: obs.id,
        version: version + 1,
        labels: input.labels,
        updatedBy: input.updatedBy ?? c.principal?.subject ?? null,
        updatedAt: nowIso(),
      };
      store.put('labels', { ...body, id: `lbl_${obs.id}`, tenantId: tenantOf(c) });
      return { status: 200, body };
    }),

    // ---------------------------------------------------------------- locations
    route('POST', `${T}/locations`, 'tenant', (c) => {
      const input = parse(LocationCreateSchema, c.body);
      const now = nowIso();
      const loc: Location = {
        id: randomId(ID_PREFIX.location),
        tenantId: tenantOf(c),
        name: input.name,
        address: input.address ?? null,
        latitude: input.latitude ?? null,
        longitude: input.longitude ?? null,
        metadata: input.metadata ?? {},
        createdAt: now,
        updatedAt: now,
      };
      return { status: 201, body: store.insert('location', loc) };
    }),
    route('GET', `${T}/locations`, 'tenant', (c) => listPage<Location>(c, 'location', ListQuerySchema, [])),
    route('GET', `${T}/locations/:id`, 'tenant', (c) => ({ status: 200, body: must<Location>(c, 'location', 'location') })),
    route('PATCH', `${T}/locations/:id`, 'tenant', (c) => {
      const loc = must<Location>(c, 'location', 'location');
      const patch = parse(LocationUpdateSchema, c.body);
      return { status: 200, body: store.put('location', { ...loc, ...patch, updatedAt: nowIso() }) };
    }),
    route('DELETE', `${T}/locations/:id`, 'tenant', (c) => {
      must<Location>(c, 'location', 'location');
      store.remove(tenantOf(c), 'location', c.params.id);
      return { status: 204 };
    }),

    // ---------------------------------------------------------------- catalog
    route('POST', `${T}/catalog`, 'tenant', (c) => {
      const input = parse(TrackedObjectCreateSchema, c.body);
      if (store.list(tenantOf(c), 'trackedObject', { sku: input.sku }, 0, 1).items.length) {
        throw new HttpError(409, 'conflict', `sku ${input.sku} is already in the catalog`, { sku: ['already in the catalog'] });
      }
      const now = nowIso();
      const obj: TrackedObject = {
        id: randomId(ID_PREFIX.trackedObject),
        tenantId: tenantOf(c),
        sku: input.sku,
        name: input.name,
        category: input.category ?? null,
        attributes: input.attributes ?? {},
        createdAt: now,
        updatedAt: now,
      };
      return { status: 201, body: store.insert('trackedObject', obj) };
    }),
    route('POST', `${T}/catalog/import`, 'tenant', (c) => {
      const { csv } = parse(CatalogImportCsvSchema, c.body);
      const rows = parseCsv(csv);
      const header = (rows.shift() ?? []).map((h) => h.trim());
      const skuAt = header.indexOf('sku');
      const nameAt = header.indexOf('name');
      if (skuAt < 0 || nameAt < 0) throw invalid('csv', 'the header row needs sku and name columns');
      const catAt = header.indexOf('category');
      const fields: Record<string, string[]> = {};
      const parsed = rows
        .map((r, i) => ({ r, line: i + 2 }))
        .filter(({ r }) => r.some((v) => v.trim() !== ''))
        .map(({ r, line }) => {
          const attributes: Record<string, string> = {};
          header.forEach((h, j) => {
            if (j !== skuAt && j !== nameAt && j !== catAt && h) attributes[h] = r[j] ?? '';
          });
          const item = {
            sku: (r[skuAt] ?? '').trim(),
            name: (r[nameAt] ?? '').trim(),
            category: catAt >= 0 ? r[catAt] || undefined : undefined,
            attributes,
          };
          const check = TrackedObjectCreateSchema.safeParse(item);
          if (!check.success) Object.assign(fields, fieldsOf(check.error, `csv.line${line}.`));
          return item;
        });
      if (Object.keys(fields).length) throw new HttpError(400, 'validation_error', 'invalid csv rows', fields);
      let created = 0;
      let updated = 0;
      const data = store.db.transaction(() =>
        parsed.map((item) => {
          const now = nowIso();
          const existing = store.list<TrackedObject>(tenantOf(c), 'trackedObject', { sku: item.sku }, 0, 1).items[0];
          if (existing) {
            updated++;
            return store.put('trackedObject', {
              ...existing,
              name: item.name,
              category: item.category ?? existing.category,
              attributes: item.attributes,
              updatedAt: now,
            });
          }
          created++;
          const obj: TrackedObject = {
            id: randomId(ID_PREFIX.trackedObject),
            tenantId: tenantOf(c),
            sku: item.sku,
            name: item.name,
            category: item.category ?? null,
            attributes: item.attributes,
            createdAt: now,
            updatedAt: now,
          };
          return store.insert('trackedObject', obj);
        }),
      )();
      return { status: 200, body: { created, updated, data } };
    }),
    route('GET', `${T}/catalog`, 'tenant', (c) => listPage<TrackedObject>(c, 'trackedObject', CatalogListQuerySchema, ['category'])),

    // ---------------------------------------------------------------- CV jobs
    route('POST', `${T}/cv/jobs`, 'tenant', (c) => {
      const input = parse(CvJobStartSchema, c.body);
      const tenantId = tenantOf(c);
      const obs = store.get<Observation>(tenantId, 'observation', input.observationId);
      if (!obs) throw invalid('observationId', `no observation ${input.observationId} in this tenant`);
      const now = nowIso();
      if (input.source === 'device') {
        // extension: a result computed on the device, recorded as a completed job of its observation
        const job: CvJob = {
          id: randomId(ID_PREFIX.cvJob),
          tenantId,
          observationId: obs.id,
          model: input.model,
          status: 'completed',
          source: 'device',
          options: input.options ?? {},
          result: input.result!,
          error: null,
          createdAt: now,
          completedAt: input.completedAt ? new Date(input.completedAt).toISOString() : now,
        };
        store.insert('cvJob', job as CvJob & { tenantId: string });
        const done = store.put('observation', { ...obs, status: 'completed' as const, updatedAt: now });
        d.webhooks.emit(tenantId, 'cv_job.completed', job);
        d.webhooks.emit(tenantId, 'observation.completed', done);
        return { status: 201, body: job };
      }
      if (!(input.model in MODEL_MAP)) {
        throw invalid('model', `unknown model ${input.model}; known: ${Object.keys(MODEL_MAP).join(', ')}`);
      }
      if (MODEL_MAP[input.model] === null) throw invalid('model', `no ${input.model} model is deployed on this server`);
      const job: CvJob = {
        id: randomId(ID_PREFIX.cvJob),
        tenantId,
        observationId: obs.id,
        model: input.model,
        status: 'queued',
        source: 'cloud',
        options: input.options ?? {},
        result: null,
        error: null,
        createdAt: now,
        completedAt: null,
      };
      store.insert('cvJob', job as CvJob & { tenantId: string });
      d.kickCv();
      return { status: 201, body: job };
    }),
    route('GET', `${T}/cv/jobs`, 'tenant', (c) => listPage<CvJob>(c, 'cvJob', CvJobListQuerySchema, ['observationId', 'status'])),
    route('GET', `${T}/cv/jobs/:id`, 'tenant', (c) => ({ status: 200, body: must<CvJob>(c, 'cvJob', 'CV job') })),

    // ---------------------------------------------------------------- webhooks
    route('POST', `${T}/webhooks`, 'tenant', (c) => {
      const input = parse(WebhookCreateSchema, c.body);
      if (!deliverableUrl(input.url)) throw invalid('url', 'must be https, or http://127.0.0.1 for local receivers');
      const hook: Webhook = {
        id: randomId(ID_PREFIX.webhook),
        tenantId: tenantOf(c),
        url: input.url,
        events: [...new Set(input.events)],
        createdAt: nowIso(),
      };
      const secret = input.secret ?? `whsec_${crypto.randomBytes(24).toString('hex')}`;
      store.db.transaction(() => {
        store.insert('webhook', hook);
        d.webhooks.saveSecret(hook.id, secret);
      })();
      return { status: 201, body: { ...hook, secret } };
    }),
    route('GET', `${T}/webhooks`, 'tenant', (c) => listPage<Webhook>(c, 'webhook', ListQuerySchema, [])),
    route('DELETE', `${T}/webhooks/:id`, 'tenant', (c) => {
      must<Webhook>(c, 'webhook', 'webhook');
      store.remove(tenantOf(c), 'webhook', c.params.id);
      return { status: 204 };
    }),

    // ---------------------------------------------------------------- buildings, assets, visits
    route('POST', `${T}/buildings`, 'tenant', (c) => {
      const input = parse(BuildingCreateSchema, c.body);
      exists(c, 'location', 'locationId', input.locationId, 'location');
      const now = nowIso();
      const b: Building = {
        id: randomId(ID_PREFIX.building),
        tenantId: tenantOf(c),
        name: input.name,
        address: input.address ?? null,
        locationId: input.locationId ?? null,
        metadata: input.metadata ?? {},
        createdAt: now,
        updatedAt: now,
      };
      return { status: 201, body: store.insert('building', b) };
    }),
    route('GET', `${T}/buildings`, 'tenant', (c) => listPage<Building>(c, 'building', ListQuerySchema, [])),
    route('GET', `${T}/buildings/:id`, 'tenant', (c) => ({ status: 200, body: must<Building>(c, 'building', 'building') })),
    route('PATCH', `${T}/buildings/:id`, 'tenant', (c) => {
      const b = must<Building>(c, 'building', 'building');
      const patch = parse(BuildingUpdateSchema, c.body);
      exists(c, 'location', 'locationId', patch.locationId, 'location');
      return { status: 200, body: store.put('building', { ...b, ...patch, updatedAt: nowIso() }) };
    }),
    route('POST', `${T}/assets`, 'tenant', (c) => {
      const input = parse(AssetCreateSchema, c.body);
      exists(c, 'building', 'buildingId', input.buildingId, 'building');
      const now = nowIso();
      const a: Asset = {
        id: randomId(ID_PREFIX.asset),
        tenantId: tenantOf(c),
        buildingId: input.buildingId,
        name: input.name,
        category: input.category ?? null,
        condition: input.condition ?? null,
        metadata: input.metadata ?? {},
        createdAt: now,
        updatedAt: now,
      };
      return { status: 201, body: store.insert('asset', a) };
    }),
    route('GET', `${T}/assets`, 'tenant', (c) => listPage<Asset>(c, 'asset', AssetListQuerySchema, ['buildingId'])),
    route('GET', `${T}/assets/:id`, 'tenant', (c) => ({ status: 200, body: must<Asset>(c, 'asset', 'asset') })),
    route('PATCH', `${T}/assets/:id`, 'tenant', (c) => {
      const a = must<Asset>(c, 'asset', 'asset');
      const patch = parse(AssetUpdateSchema, c.body);
      return { status: 200, body: store.put('asset', { ...a, ...patch, updatedAt: nowIso() }) };
    }),
    route('POST', `${T}/visits`, 'tenant', (c) => {
      const input = parse(VisitCreateSchema, c.body);
      exists(c, 'location', 'locationId', input.locationId, 'location');
      exists(c, 'building', 'buildingId', input.buildingId, 'building');
      (input.observationIds ?? []).forEach((id, i) => exists(c, 'observation', `observationIds.${i}`, id, 'observation'));
      const now = nowIso();
      const v: Visit = {
        id: randomId(ID_PREFIX.visit),
        tenantId: tenantOf(c),
        locationId: input.locationId ?? null,
        buildingId: input.buildingId ?? null,
        visitedBy: input.visitedBy ?? null,
        startedAt: input.startedAt ?? null,
        endedAt: input.endedAt ?? null,
        observationIds: input.observationIds ?? [],
        metadata: input.metadata ?? {},
        createdAt: now,
        updatedAt: now,
      };
      return { status: 201, body: store.insert('visit', v) };
    }),
    route('GET', `${T}/visits`, 'tenant', (c) => listPage<Visit>(c, 'visit', VisitListQuerySchema, ['locationId', 'buildingId'])),
    route('GET', `${T}/visits/:id`, 'tenant', (c) => ({ status: 200, body: must<Visit>(c, 'visit', 'visit') })),
  ];
}

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
