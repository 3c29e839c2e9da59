/**
 * The app's settings (everything but secrets), in one typed, validated shape: the settings file
 * (src/main/engine/settings/file.ts) and the Settings screen both use this schema. Secrets (API key,
 * refresh token, client secret) are never part of it: they live in a SecretStore.
 */
import { z } from 'zod';
import { PROVIDER_CHOICES } from './domain';
import { LIMITS } from './limits';

export const SETTINGS_VERSION = 1;

/** The names a SecretStore keeps. Nothing else is a secret; a password is used once and never kept. */
export const SECRET_NAMES = ['apiKey', 'refreshToken', 'clientSecret'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

const httpUrl = z
  .string()
  .trim()
  .max(2000)
  .refine((v) => {
    if (v === '') return true;
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password && !u.search && !u.hash;
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without credentials, query or fragment, for example https://api.kliqpulse.com/v1');

export const AuthSettingsSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('apiKey') }),
  /** Email + password exchanged once (auth.getToken) for tokens; the refresh token is the kept secret. */
  z.object({ method: z.literal('password'), email: z.string().trim().max(320).default('') }),
  z.object({
    method: z.literal('clientCredentials'),
    clientId: z
      .string()
      .trim()
      .max(LIMITS.id * 2)
      .default(''),
  }),
]);
export type AuthSettings = z.infer<typeof AuthSettingsSchema>;
export type AuthMethod = AuthSettings['method'];

export const TilesSettingSchema = z.union([z.enum(['off', 'auto']), z.number().int().min(2).max(8)]);

export const AppSettingsSchema = z.object({
  version: z.literal(SETTINGS_VERSION).default(SETTINGS_VERSION),
  api: z
    .object({
      /** The KLIQ API's base URL, `…/v1`; '' = not configured. */
      baseUrl: httpUrl.default(''),
      tenantId: z
        .string()
        .trim()
        .max(LIMITS.id)
        .regex(/^[A-Za-z0-9_-]*$/, 'a tenant id has only letters, digits, _ and -')
        .default(''),
    })
    .default({ baseUrl: '', tenantId: '' }),
  auth: AuthSettingsSchema.default({ method: 'apiKey' }),
  inference: z
    .object({
      /** A model of models/manifest.json, or null for the manifest's default. */
      model: z.string().trim().min(1).max(LIMITS.path).nullable().default(null),
      provider: z.enum(PROVIDER_CHOICES).default('auto'),
      /** Detections below this confidence are not kept at import. */
      confThreshold: z.number().min(0.01).max(0.99).default(0.25),
      tiles: TilesSettingSchema.default('off'),
    })
    .default({ model: null, provider: 'auto', confThreshold: 0.25, tiles: 'off' }),
  sync: z.object({ enabled: z.boolean().default(false) }).default({ enabled: false }),
  /** Check for and download updates (electron-updater). Off unless the auditor turns it on. */
  autoUpdate: z.boolean().default(false),
  secrets: z
    .object({
      /**
       * Linux without a keyring (safeStorage backend 'basic_text'): the auditor agreed to keep secrets
       * with that weak protection. Until then they are kept in memory only, for the session.
       */
      allowWeakStorage: z.boolean().default(false),
    })
    .default({ allowWeakStorage: false }),
});
export type AppSettings = z.infer<typeof AppSettingsSchema>;

export function defaultSettings(): AppSettings {
  return AppSettingsSchema.parse({});
}

/** What "Test connection" found, step by step; a failure says exactly which step failed and why. */
export const CONNECTION_FAILURES = [
  'bad-url',
  'not-configured',
  'missing-secret',
  'dns',
  'refused',
  'tls',
  'timeout',
  'network',
  'not-kliq',
  'unauthorized',
  'forbidden',
  'unknown-tenant',
  'rate-limited',
  'server',
  'unexpected',
] as const;
export type ConnectionFailure = (typeof CONNECTION_FAILURES)[number];

export const ConnectionStepSchema = z.enum(['settings', 'health', 'sign-in', 'request']);

export const ConnectionResultSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    baseUrl: z.string(),
    tenantId: z.string(),
    method: z.enum(['apiKey', 'password', 'clientCredentials']),
    /** A one-line summary for the screen. */
    message: z.string(),
  }),
  z.object({
    ok: z.literal(false),
    /** The step that failed: settings (nothing sent), health (GET /health), sign-in (token), request (an authenticated GET). */
    step: ConnectionStepSchema,
    failure: z.enum(CONNECTION_FAILURES),
    /** HTTP status when there was one. */
    statusCode: z.number().int().nullable(),
    /** What failed and what to do next. */
    message: z.string(),
    /** The low-level reason (error code, server message), for support. */
    detail: z.string().nullable(),
  }),
]);
export type ConnectionResult = z.infer<typeof ConnectionResultSchema>;
