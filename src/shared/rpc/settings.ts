/** The settings feature of the contract: the settings (never a secret's value), saving, sign-in, "Test connection". */
import { z } from 'zod';
import { AppSettingsSchema, AuthSettingsSchema, ConnectionResultSchema } from '../settings';

const SecretInput = z.string().trim().min(1).max(4096);

export const SecretStoreStatusSchema = z.object({
  kind: z.enum(['os-keychain', 'weak', 'memory']),
  persisted: z.boolean(),
  warning: z.string().nullable(),
  canAllowWeak: z.boolean(),
});

export const SettingsViewSchema = z.object({
  settings: AppSettingsSchema,
  /** The settings file. */
  file: z.string(),
  /** Why the settings file could not be used (the defaults are shown; saving keeps a copy of the bad file). */
  problem: z.string().nullable(),
  /** Where the last save kept a copy of a bad settings file. */
  keptBadCopy: z.string().nullable(),
  /** Which secrets are set (their values never leave the engine). */
  secrets: z.object({ apiKey: z.boolean(), refreshToken: z.boolean(), clientSecret: z.boolean() }),
  secretStore: SecretStoreStatusSchema,
  /** desktop: the Electron app (OS keychain); serve: `kliq-audit serve` (memory, or KLIQ_API_KEY). */
  host: z.enum(['desktop', 'serve']),
  models: z.object({ names: z.array(z.string()), default: z.string() }),
  provider: z.object({
    choice: z.enum(['auto', 'cpu', 'cuda', 'dml']),
    /** The providers tried in order for that choice on this machine. */
    tries: z.array(z.enum(['cpu', 'cuda', 'dml'])),
    /** A choice given on the command line (serve --provider) wins over the setting. */
    overriddenBy: z.string().nullable(),
    /** What the last model load in this session really ran on, and why not the first choice. */
    running: z
      .object({ provider: z.enum(['cpu', 'cuda', 'dml']), fallback: z.string().nullable(), model: z.string(), at: z.string() })
      .nullable(),
  }),
});
export type SettingsView = z.infer<typeof SettingsViewSchema>;

const ApiDraft = z.object({ api: AppSettingsSchema.shape.api, auth: AuthSettingsSchema });

export const settingsMethods = {
  settings: { params: z.object({}), result: SettingsViewSchema },
  /** Saves the settings file; `secrets`: a value sets it, null deletes it, absent keeps it. */
  saveSettings: {
    params: z.object({
      settings: AppSettingsSchema,
      secrets: z.object({ apiKey: SecretInput.nullable().optional(), clientSecret: SecretInput.nullable().optional() }).optional(),
    }),
    result: SettingsViewSchema,
  },
  /** Tests a draft of the API settings; `secret` is the typed API key or client secret (default: the kept one). */
  testConnection: {
    params: ApiDraft.extend({ secret: SecretInput.optional() }),
    result: ConnectionResultSchema,
  },
  /** Email + password → tokens (auth.getToken); on success the refresh token is kept as a secret and the settings saved. */
  signIn: {
    params: z.object({ api: AppSettingsSchema.shape.api, email: z.string().trim().min(1).max(320), password: z.string().min(1).max(1024) }),
    result: z.object({ connection: ConnectionResultSchema, view: SettingsViewSchema }),
  },
  signOut: { params: z.object({}), result: SettingsViewSchema },
  /** Linux without a keyring: the auditor agrees to keep secrets with safeStorage's weak 'basic_text' protection. */
  allowWeakSecretStorage: { params: z.object({}), result: SettingsViewSchema },
} as const;
