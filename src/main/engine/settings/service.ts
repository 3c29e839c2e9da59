/**
 * The settings as a service of the host: the settings file, the SecretStore, sign-in and "Test
 * connection", the provider really running, and what sync needs (syncConfig + onChange). Secret values
 * go in (save, sign-in) and to the KLIQ client, never out to the UI, a log or the settings file.
 */
import fs from 'node:fs';
import { providerCandidates } from '../inference/session';
import { loadManifest } from '../models/manifest';
import { ConfigError } from '../errors';
import type { AuthTokens, KliqClientOptions } from '../../../kliq';
import type { AuditEvent, ProviderChoice } from '../../../shared/domain';
import { AppSettingsSchema, type AppSettings, type ConnectionResult, type SecretName } from '../../../shared/settings';
import type { SettingsView } from '../../../shared/rpc/settings';
import { readSettings, saveSettings, settingsPath } from './file';
import { testConnection, type ConnectionOptions } from './connection';
import type { SecretStore } from './secrets';

export interface SettingsServiceOptions {
  /** The folder of settings.json (the user-data folder). */
  dir: string;
  secrets: SecretStore & { flush?(): Promise<void> };
  host: 'desktop' | 'serve';
  /** serve --provider: wins over the setting (shown as such). */
  providerOverride?: ProviderChoice;
  /** Test connection's per-request timeout (tests shorten it). */
  connection?: Pick<ConnectionOptions, 'timeoutMs' | 'fetch'>;
}

/** Which secret each sign-in method uses. */
export const SECRET_OF: Record<AppSettings['auth']['method'], SecretName> = {
  apiKey: 'apiKey',
  password: 'refreshToken',
  clientCredentials: 'clientSecret',
};

/** What the sync engine needs: where to sync and the KLIQ client's credentials (new refresh tokens are kept). */
export interface SyncSettings {
  target: { baseUrl: string; tenantId: string };
  credentials: Pick<KliqClientOptions, 'apiKey' | 'refreshToken' | 'clientId' | 'clientSecret'>;
  /** Pass to the KliqClient: keeps the rotated refresh token. */
  onTokens: (tokens: AuthTokens) => void;
}

export class SettingsService {
  private current: AppSettings;
  private problem: string | null;
  private keptBadCopy: string | null = null;
  private running: SettingsView['provider']['running'] = null;
  private readonly listeners = new Set<(s: AppSettings) => void>();

  /** mtime and size of the file last read or written: a change on disk (a hand edit) is read again. */
  private seen = '';

  constructor(private readonly o: SettingsServiceOptions) {
    const r = readSettings(o.dir);
    this.current = r.settings;
    this.problem = r.state === 'bad' ? r.error.message : null;
    this.seen = this.stamp();
  }

  private stamp(): string {
    const st = fs.statSync(settingsPath(this.o.dir), { throwIfNoEntry: false });
    return st ? `${st.mtimeMs}:${st.size}` : 'missing';
  }

  /**
   * Reads the file again when it changed on disk: good settings are adopted (and listeners told); a bad
   * file is reported while the settings in use stay the last good ones.
   */
  private reread(): void {
    const stamp = this.stamp();
    if (stamp === this.seen) return;
    this.seen = stamp;
    const r = readSettings(this.o.dir);
    if (r.state === 'bad') {
      this.problem = r.error.message;
      return;
    }
    this.problem = null;
    if (JSON.stringify(r.settings) === JSON.stringify(this.current)) return;
    this.current = r.settings;
    for (const l of this.listeners) l(r.settings);
  }

  get secrets(): SecretStore {
    return this.o.secrets;
  }

  settings(): AppSettings {
    this.reread();
    return this.current;
  }

  /** The provider imports use: the command line's, else the setting. */
  provider(): ProviderChoice {
    return this.o.providerOverride ?? this.current.inference.provider;
  }

  /** Defaults of an import started from the UI or the shell, from the settings, for what the request leaves out. */
  importDefaults<P extends { model?: string; tiles?: 'off' | 'auto' | number }>(p: P): P & { confThreshold: number } {
    const i = this.current.inference;
    return { ...p, model: p.model ?? i.model ?? undefined, tiles: p.tiles ?? i.tiles, confThreshold: i.confThreshold };
  }

  /** Called with every audit event of this host: the 'model' one says which provider really runs. */
  noteAuditEvent(e: AuditEvent): void {
    if (e.type === 'model') this.running = { provider: e.provider, fallback: e.fallback, model: e.model, at: new Date().toISOString() };
  }

  onChange(listener: (s: AppSettings) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async view(): Promise<SettingsView> {
    this.reread();
    const has = async (n: SecretName) => (await this.o.secrets.get(n)) !== null;
    let models: SettingsView['models'] = { names: [], default: '' };
    try {
      const m = loadManifest();
      models = { names: m.models.map((x) => x.name), default: m.default };
    } catch {
      /* no manifest: the screen offers the default only */
    }
    return {
      settings: this.current,
      file: readSettings(this.o.dir).file,
      problem: this.problem,
      keptBadCopy: this.keptBadCopy,
      secrets: { apiKey: await has('apiKey'), refreshToken: await has('refreshToken'), clientSecret: await has('clientSecret') },
      secretStore: this.o.secrets.status(),
      host: this.o.host,
      models,
      provider: {
        choice: this.provider(),
        tries: providerCandidates(this.provider()),
        overriddenBy: this.o.providerOverride ? `--provider ${this.o.providerOverride}` : null,
        running: this.running,
      },
    };
  }

  /** Validates and writes the settings; sets (value), deletes (null) or keeps (absent) the secrets given. */
  async save(
    next: AppSettings,
    secrets: Partial<Record<'apiKey' | 'clientSecret', string | null | undefined>> = {},
  ): Promise<SettingsView> {
    const valid = AppSettingsSchema.parse(next);
    if (valid.inference.model) {
      const names = (() => {
        try {
          return loadManifest().models.map((m) => m.name);
        } catch {
          return null;
        }
      })();
      if (names && !names.includes(valid.inference.model) && !valid.inference.model.endsWith('.onnx'))
        throw new ConfigError(`model ${valid.inference.model} is not in models/manifest.json (${names.join(', ')}), nor an .onnx file`);
    }
    const { keptBadCopy } = saveSettings(this.o.dir, valid);
    this.seen = this.stamp();
    if (keptBadCopy) this.keptBadCopy = keptBadCopy;
    const before = this.current;
    this.current = valid;
    this.problem = null;
    for (const [name, value] of Object.entries(secrets) as ['apiKey' | 'clientSecret', string | null | undefined][]) {
      if (value === undefined) continue;
      if (value === null) await this.o.secrets.delete(name);
      else await this.o.secrets.set(name, value);
    }
    // another account or API: the old sign-in is not for it
    if (before.api.baseUrl !== valid.api.baseUrl || valid.auth.method !== 'password') {
      if (await this.o.secrets.get('refreshToken')) await this.o.secrets.delete('refreshToken');
    }
    if (valid.secrets.allowWeakStorage) await this.o.secrets.flush?.();
    for (const l of this.listeners) l(valid);
    return this.view();
  }

  /** Tests a draft of the API settings; without `secret`, the kept one of its sign-in method. */
  async test(draft: Pick<AppSettings, 'api' | 'auth'>, secret?: string): Promise<ConnectionResult> {
    const kept = await this.o.secrets.get(SECRET_OF[draft.auth.method]);
    const usesKeptRefresh = draft.auth.method === 'password' && !secret;
    return testConnection(
      draft,
      { secret: secret ?? kept },
      {
        ...this.o.connection,
        // the refresh token rotates: a test that used the kept one must keep its successor
        onTokens: usesKeptRefresh ? (t) => void this.o.secrets.set('refreshToken', t.refreshToken) : undefined,
      },
    );
  }

  /** Email + password → tokens; on success the refresh token is kept and the settings (API, email) saved. The password is not kept. */
  async signIn(p: {
    api: AppSettings['api'];
    email: string;
    password: string;
  }): Promise<{ connection: ConnectionResult; view: SettingsView }> {
    let refreshToken: string | null = null;
    const connection = await testConnection(
      { api: p.api, auth: { method: 'password', email: p.email } },
      { password: p.password },
      { ...this.o.connection, onTokens: (t) => (refreshToken = t.refreshToken) },
    );
    if (!connection.ok || !refreshToken) return { connection, view: await this.view() };
    const next = { ...this.current, api: p.api, auth: { method: 'password' as const, email: p.email } };
    // save first (it drops a refresh token of another API), then keep the new one
    await this.save(next);
    await this.o.secrets.set('refreshToken', refreshToken);
    await this.o.secrets.flush?.();
    return { connection, view: await this.view() };
  }

  async signOut(): Promise<SettingsView> {
    await this.o.secrets.delete('refreshToken');
    for (const l of this.listeners) l(this.current);
    return this.view();
  }

  async allowWeakStorage(): Promise<SettingsView> {
    return this.save({ ...this.current, secrets: { allowWeakStorage: true } });
  }

  /**
   * What sync needs, or why it cannot run: sync off, no API, or no credential. The sync engine calls this
   * at start and again on onChange.
   */
  async syncConfig(): Promise<{ ok: true; config: SyncSettings } | { ok: false; reason: string }> {
    const s = this.current;
    if (!s.sync.enabled) return { ok: false, reason: 'sync is off (Settings → Sync)' };
    if (!s.api.baseUrl || !s.api.tenantId) return { ok: false, reason: 'no API base URL or tenant (Settings)' };
    const secret = await this.o.secrets.get(SECRET_OF[s.auth.method]);
    if (!secret)
      return {
        ok: false,
        reason:
          s.auth.method === 'password'
            ? 'not signed in (Settings → Sign in)'
            : `no ${s.auth.method === 'apiKey' ? 'API key' : 'client secret'} (Settings)`,
      };
    const credentials: SyncSettings['credentials'] =
      s.auth.method === 'apiKey'
        ? { apiKey: secret }
        : s.auth.method === 'clientCredentials'
          ? { clientId: s.auth.clientId, clientSecret: secret }
          : { refreshToken: secret };
    return {
      ok: true,
      config: {
        target: { baseUrl: s.api.baseUrl.replace(/\/+$/, ''), tenantId: s.api.tenantId },
        credentials,
        onTokens: (t) => void this.o.secrets.set('refreshToken', t.refreshToken),
      },
    };
  }
}
