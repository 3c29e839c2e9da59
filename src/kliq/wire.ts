/**
 * KLIQ API wire format: zod schemas for every request and response body, camelCase as in the seeds'
 * JavaScript. The client parses every response with these; the local API server (src/api-server)
 * validates requests and builds responses with the same schemas, so both sides agree by construction.
 * No Node built-ins, no DOM: runs in Node and in a browser.
 */
import { z } from 'zod';
import { CV_JOB_STATUSES, CvResultSchema, DetectionSchema, OBSERVATION_STATUSES } from '../shared/domain';

export { CvResultSchema, DetectionSchema, CvSummarySchema, BoundingBoxSchema } from '../shared/domain';
export type { CvResult, Detection, CvSummary, BoundingBox } from '../shared/domain';

/** Id prefixes of the seeds (`obs_abc123`, `loc_abc123`, `job_xyz789`, `visit_xyz`) and ours for the rest. */
export const ID_PREFIX = {
  observation: 'obs_',
  location: 'loc_',
  cvJob: 'job_',
  webhook: 'wh_',
  trackedObject: 'obj_',
  building: 'bld_',
  asset: 'ast_',
  visit: 'visit_',
  upload: 'upl_',
  event: 'evt_',
  request: 'req_',
} as const;

export const Metadata = z.record(z.string(), z.unknown());
const Timestamp = z.string();
const Latitude = z.number().min(-90).max(90);
const Longitude = z.number().min(-180).max(180);

/** `{ data, cursor: { next, hasMore } }` — the seed's PaginatedResponse. */
export const CursorSchema = z.object({ next: z.string().nullable(), hasMore: z.boolean() });
export const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), cursor: CursorSchema });
export interface Page<T> {
  data: T[];
  cursor: { next: string | null; hasMore: boolean };
}
/** Query of every list endpoint: `limit` 1–100 (default 20), `cursor` from the previous page. */
export const ListQuerySchema = z.object({
  cursor: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type ListParams = { cursor?: string; limit?: number };

// ---------------------------------------------------------------- errors

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string().nullable().optional(),
    /** Field path ('metadata.aisle', 'limit') → messages; on 400 validation errors. */
    fields: z.record(z.string(), z.array(z.string())).optional(),
    /** Seconds, on 429. */
    retryAfter: z.number().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

// ---------------------------------------------------------------- auth

export const PasswordGrantSchema = z.object({ email: z.string().min(3), password: z.string().min(1) });
export const RefreshGrantSchema = z.object({ refreshToken: z.string().min(1) });
export const AuthTokensSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal('Bearer'),
  /** Seconds until the access token expires. */
  expiresIn: z.number(),
});
export type AuthTokens = z.infer<typeof AuthTokensSchema>;
/** OAuth2 client credentials (RFC 6749 §4.4): the token response keeps the RFC's snake_case names. */
export const ClientCredentialsGrantSchema = z.object({
  grant_type: z.literal('client_credentials'),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
});
export const OAuthTokenSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number(),
});
export type OAuthToken = z.infer<typeof OAuthTokenSchema>;

export const HealthSchema = z.object({ status: z.literal('ok'), time: Timestamp });

// ---------------------------------------------------------------- observations

export const ObservationSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  locationId: z.string(),
  imageUrl: z.string(),
  latitude: z.number().nullable(),
  longitude: z.number().nullable(),
  status: z.enum(OBSERVATION_STATUSES),
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Observation = z.infer<typeof ObservationSchema>;

export const ObservationCreateSchema = z.object({
  locationId: z.string().min(1),
  imageUrl: z.url({ protocol: /^https?$/ }),
  latitude: Latitude.optional(),
  longitude: Longitude.optional(),
  metadata: Metadata.optional(),
});
export type ObservationCreate = z.infer<typeof ObservationCreateSchema>;

/** Body of `POST …/observations/batch`: at most 100 observations, created all or none. */
export const ObservationBatchCreateSchema = z.object({ items: z.array(ObservationCreateSchema).min(1).max(100) });
export const ObservationBatchSchema = z.object({ data: z.array(ObservationSchema) });

export const ObservationListQuerySchema = ListQuerySchema.extend({
  locationId: z.string().min(1).optional(),
  status: z.enum(OBSERVATION_STATUSES).optional(),
});
export type ObservationListParams = ListParams & { locationId?: string; status?: Observation['status'] };

/** JPEG and PNG only, 20 MB at most (seed 001). */
export const UPLOAD_CONTENT_TYPES = ['image/jpeg', 'image/png'] as const;
export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
export const UploadUrlRequestSchema = z.object({ contentType: z.string().min(1), filename: z.string().min(1).max(255) });
export type UploadUrlRequest = z.infer<typeof UploadUrlRequestSchema>;
export const UploadUrlSchema = z.object({ uploadUrl: z.string(), imageUrl: z.string(), expiresAt: Timestamp });
export type UploadUrl = z.infer<typeof UploadUrlSchema>;
export const UploadResultSchema = z.object({ imageUrl: z.string(), bytes: z.number().int(), contentType: z.string() });

/** Extension: the corrected label set of an observation, versioned (`PUT …/observations/{id}/labels`). */
export const ObservationLabelsSchema = z.object({
  observationId: z.string(),
  version: z.number().int().nonnegative(),
  labels: z.array(DetectionSchema),
  updatedBy: z.string().nullable(),
  updatedAt: Timestamp.nullable(),
});
export type ObservationLabels = z.infer<typeof ObservationLabelsSchema>;
/** `baseVersion`: the version the edit started from; a 409 when the server holds another one. */
export const ObservationLabelsPutSchema = z.object({
  labels: z.array(DetectionSchema).max(10_000),
  baseVersion: z.number().int().nonnegative().optional(),
  updatedBy: z.string().min(1).optional(),
});
export type ObservationLabelsPut = z.infer<typeof ObservationLabelsPutSchema>;

// ---------------------------------------------------------------- locations

export const LocationSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  address: z.string().nullable(),
  latitude: z.number().nullable(),
  longitude: z.number().nullable(),
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Location = z.infer<typeof LocationSchema>;
export const LocationCreateSchema = z.object({
  name: z.string().min(1).max(500),
  address: z.string().max(1000).optional(),
  latitude: Latitude.optional(),
  longitude: Longitude.optional(),
  metadata: Metadata.optional(),
});
export type LocationCreate = z.infer<typeof LocationCreateSchema>;
export const LocationUpdateSchema = LocationCreateSchema.partial();
export type LocationUpdate = z.infer<typeof LocationUpdateSchema>;

// ---------------------------------------------------------------- catalog (tracked objects)

export const TrackedObjectSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  sku: z.string(),
  name: z.string(),
  category: z.string().nullable(),
  attributes: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type TrackedObject = z.infer<typeof TrackedObjectSchema>;
export const TrackedObjectCreateSchema = z.object({
  sku: z.string().min(1).max(200),
  name: z.string().min(1).max(500),
  category: z.string().max(200).optional(),
  attributes: Metadata.optional(),
});
export type TrackedObjectCreate = z.infer<typeof TrackedObjectCreateSchema>;
/** CSV with a header row: `sku,name[,category]`; other columns become attributes. A known sku is updated. */
export const CatalogImportCsvSchema = z.object({ csv: z.string().min(1).max(5_000_000) });
export const CatalogImportResultSchema = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  data: z.array(TrackedObjectSchema),
});
export type CatalogImportResult = z.infer<typeof CatalogImportResultSchema>;
export const CatalogListQuerySchema = ListQuerySchema.extend({ category: z.string().min(1).optional() });

// ---------------------------------------------------------------- CV jobs

/** The seed's models (002); the local server maps them to local detectors (README). */
export const CV_MODELS = ['shelf-detection-v2', 'building-inspection-v1', 'damage-assessment-v1', 'custom'] as const;
/** `cloud`: run by the API; `device`: computed on the device and submitted complete (extension). */
export const CV_JOB_SOURCES = ['cloud', 'device'] as const;
export type CvJobSource = (typeof CV_JOB_SOURCES)[number];

/**
 * A CV job. The seed's example shows only id, status, model and result, so the other fields parse when
 * absent; the local server always sends them.
 */
export const CvJobSchema = z.object({
  id: z.string(),
  tenantId: z.string().optional(),
  observationId: z.string().optional(),
  model: z.string(),
  status: z.enum(CV_JOB_STATUSES),
  source: z.enum(CV_JOB_SOURCES).default('cloud'),
  options: Metadata.optional(),
  result: CvResultSchema.nullable().default(null),
  error: z.string().nullable().default(null),
  createdAt: Timestamp.optional(),
  completedAt: Timestamp.nullable().default(null),
});
export type CvJob = z.infer<typeof CvJobSchema>;

/**
 * `POST …/cv/jobs`. Without `source` (or `source: 'cloud'`) the API runs `model` on the observation's image.
 * Extension: `source: 'device'` with a complete `result` records a result computed on the device; the job is
 * created completed and reads like a cloud one.
 */
export const CvJobStartSchema = z
  .object({
    observationId: z.string().min(1),
    model: z.string().min(1).max(200),
    options: Metadata.optional(),
    source: z.enum(CV_JOB_SOURCES).optional(),
    result: CvResultSchema.optional(),
    completedAt: z.iso.datetime({ offset: true }).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.source === 'device' && !v.result) ctx.addIssue({ code: 'custom', path: ['result'], message: "required with source 'device'" });
    if (v.source !== 'device' && v.result) ctx.addIssue({ code: 'custom', path: ['result'], message: "only with source 'device'" });
    if (v.source !== 'device' && v.completedAt) {
      ctx.addIssue({ code: 'custom', path: ['completedAt'], message: "only with source 'device'" });
    }
  });
export type CvJobStart = { observationId: string; model: string; options?: Record<string, unknown> };
export type CvDeviceResult = { observationId: string; model: string; result: z.infer<typeof CvResultSchema>; completedAt?: string };
export const CvJobListQuerySchema = ListQuerySchema.extend({
  observationId: z.string().min(1).optional(),
  status: z.enum(CV_JOB_STATUSES).optional(),
});
export type CvJobListParams = ListParams & { observationId?: string; status?: CvJob['status'] };

// ---------------------------------------------------------------- webhooks

export const WEBHOOK_EVENTS = [
  'observation.created',
  'observation.completed',
  'observation.failed',
  'observation.deleted',
  'cv_job.completed',
  'cv_job.failed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export const WebhookSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  /** Only in the response to create: the signing secret (given, or generated). */
  secret: z.string().optional(),
  createdAt: Timestamp,
});
export type Webhook = z.infer<typeof WebhookSchema>;
export const WebhookCreateSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
  secret: z.string().min(16).max(200).optional(),
});
export type WebhookCreate = z.infer<typeof WebhookCreateSchema>;

/** The body POSTed to a webhook URL, signed in the `Kliq-Signature` header (see webhooks.ts). */
export const WebhookEventSchema = z.object({
  id: z.string(),
  type: z.enum(WEBHOOK_EVENTS),
  tenantId: z.string(),
  createdAt: Timestamp,
  data: z.record(z.string(), z.unknown()),
});
export type WebhookEvent = z.infer<typeof WebhookEventSchema>;

// ---------------------------------------------------------------- BuildingScan: buildings, assets; visits

export const BuildingSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  address: z.string().nullable(),
  locationId: z.string().nullable(),
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Building = z.infer<typeof BuildingSchema>;
export const BuildingCreateSchema = z.object({
  name: z.string().min(1).max(500),
  address: z.string().max(1000).optional(),
  locationId: z.string().min(1).optional(),
  metadata: Metadata.optional(),
});
export type BuildingCreate = z.infer<typeof BuildingCreateSchema>;
export const BuildingUpdateSchema = BuildingCreateSchema.partial();
export type BuildingUpdate = z.infer<typeof BuildingUpdateSchema>;

export const AssetSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  buildingId: z.string(),
  name: z.string(),
  category: z.string().nullable(),
  condition: z.string().nullable(),
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Asset = z.infer<typeof AssetSchema>;
export const AssetCreateSchema = z.object({
  buildingId: z.string().min(1),
  name: z.string().min(1).max(500),
  category: z.string().max(200).optional(),
  condition: z.string().max(200).optional(),
  metadata: Metadata.optional(),
});
export type AssetCreate = z.infer<typeof AssetCreateSchema>;
export const AssetUpdateSchema = AssetCreateSchema.omit({ buildingId: true }).partial();
export type AssetUpdate = z.infer<typeof AssetUpdateSchema>;
export const AssetListQuerySchema = ListQuerySchema.extend({ buildingId: z.string().min(1).optional() });

export const VisitSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  locationId: z.string().nullable(),
  buildingId: z.string().nullable(),
  visitedBy: z.string().nullable(),
  startedAt: Timestamp.nullable(),
  endedAt: Timestamp.nullable(),
  observationIds: z.array(z.string()),
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Visit = z.infer<typeof VisitSchema>;
export const VisitCreateSchema = z.object({
  locationId: z.string().min(1).optional(),
  buildingId: z.string().min(1).optional(),
  visitedBy: z.string().max(200).optional(),
  startedAt: z.iso.datetime({ offset: true }).optional(),
  endedAt: z.iso.datetime({ offset: true }).optional(),
  observationIds: z.array(z.string().min(1)).max(1000).optional(),
  metadata: Metadata.optional(),
});
export type VisitCreate = z.infer<typeof VisitCreateSchema>;
export const VisitListQuerySchema = ListQuerySchema.extend({
  locationId: z.string().min(1).optional(),
  buildingId: z.string().min(1).optional(),
});
