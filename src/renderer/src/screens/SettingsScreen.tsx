/**
 * Settings: the KLIQ API (base URL, tenant, sign-in by API key, email + password, or client credentials;
 * "Test connection" says exactly what failed), where secrets are kept, detection (model, execution
 * provider with the one really running and why, threshold, tiles), sync on/off. Secret values typed
 * here go to the engine once; the screen never gets them back (only whether each is set).
 */
import { useEffect, useState } from 'react';
import type { AppSettings, AuthMethod, ConnectionResult } from '../../../shared/settings';
import type { SettingsView } from '../../../shared/rpc';
import { errorMessage, useApi, useReconnectCount } from '../api';
import './settings.css';

const METHODS: { key: AuthMethod; label: string }[] = [
  { key: 'apiKey', label: 'API key' },
  { key: 'password', label: 'Email and password' },
  { key: 'clientCredentials', label: 'Client credentials' },
];

const SERVE_SECRETS =
  'kliq-audit serve keeps secrets typed here in memory until it stops (KLIQ_API_KEY in its environment gives it the key at start).';

const PROVIDERS: { key: AppSettings['inference']['provider']; label: string }[] = [
  { key: 'auto', label: 'auto (GPU if available, else CPU)' },
  { key: 'cuda', label: 'CUDA (NVIDIA, Linux)' },
  { key: 'dml', label: 'DirectML (Windows)' },
  { key: 'cpu', label: 'CPU' },
];

export function SettingsScreen() {
  const api = useApi();
  const reconnects = useReconnectCount();
  const [view, setView] = useState<SettingsView | null>(null);
  const [draft, setDraft] = useState<AppSettings | null>(null);
  const [secret, setSecret] = useState('');
  const [password, setPassword] = useState('');
  const [result, setResult] = useState<ConnectionResult | null>(null);
  const [busy, setBusy] = useState<null | 'test' | 'save' | 'sign-in'>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const adopt = (v: SettingsView) => {
    setView(v);
    setDraft(v.settings);
  };

  useEffect(() => {
    let live = true;
    api
      .call('settings', {})
      .then((v) => live && adopt(v))
      .catch((err: unknown) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [api, reconnects]);

  if (!view || !draft) {
    return (
      <div className="settings" data-testid="settings-screen">
        {error ? <p className="error-text">{error}</p> : <p className="muted">Loading settings…</p>}
      </div>
    );
  }

  const method = draft.auth.method;
  const secretName = method === 'apiKey' ? 'apiKey' : method === 'clientCredentials' ? 'clientSecret' : null;
  const secretKept = secretName ? view.secrets[secretName] : view.secrets.refreshToken;
  const set = (patch: Partial<AppSettings>) => {
    setDraft({ ...draft, ...patch });
    setSaved(false);
  };
  const setAuthMethod = (m: AuthMethod) => {
    setSecret('');
    setResult(null);
    set({
      auth:
        m === 'apiKey'
          ? { method: 'apiKey' }
          : m === 'password'
            ? { method: 'password', email: draft.auth.method === 'password' ? draft.auth.email : '' }
            : { method: 'clientCredentials', clientId: draft.auth.method === 'clientCredentials' ? draft.auth.clientId : '' },
    });
  };

  const run = async (what: 'test' | 'save' | 'sign-in', fn: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };
  const test = () =>
    run('test', async () => {
      setResult(null);
      setResult(await api.call('testConnection', { api: draft.api, auth: draft.auth, secret: secret.trim() || undefined }));
    });
  const save = () =>
    run('save', async () => {
      const secrets = secretName && secret.trim() ? { [secretName]: secret.trim() } : undefined;
      adopt(await api.call('saveSettings', { settings: draft, secrets }));
      setSecret('');
      setSaved(true);
    });
  const forget = () =>
    run('save', async () => {
      if (secretName) adopt(await api.call('saveSettings', { settings: draft, secrets: { [secretName]: null } }));
      else adopt(await api.call('signOut', {}));
      setResult(null);
    });
  const signIn = () =>
    run('sign-in', async () => {
      if (draft.auth.method !== 'password') return;
      const r = await api.call('signIn', { api: draft.api, email: draft.auth.email, password });
      setPassword('');
      setResult(r.connection);
      if (r.connection.ok) adopt(r.view);
    });

  const store = view.secretStore;
  const running = view.provider.running;

  return (
    <div className="settings" data-testid="settings-screen">
      {view.problem && (
        <p className="notice-inline" data-testid="settings-problem">
          {view.problem}. The defaults are shown; saving keeps a copy of the file first.
        </p>
      )}
      {view.keptBadCopy && <p className="muted small">The previous, unreadable settings file was kept as {view.keptBadCopy}.</p>}

      <section className="settings-card" aria-labelledby="settings-api">
        <h2 id="settings-api">KLIQ API</h2>
        <div className="form-row">
          <label className="field grow">
            <span>API base URL</span>
            <input
              data-testid="settings-base-url"
              value={draft.api.baseUrl}
              placeholder="https://api.kliqpulse.com/v1"
              spellCheck={false}
              onChange={(e) => set({ api: { ...draft.api, baseUrl: e.target.value } })}
            />
          </label>
          <label className="field">
            <span>Tenant</span>
            <input
              data-testid="settings-tenant"
              value={draft.api.tenantId}
              placeholder="t_abc123"
              spellCheck={false}
              onChange={(e) => set({ api: { ...draft.api, tenantId: e.target.value } })}
            />
          </label>
        </div>
        <fieldset className="methods">
          <legend>Sign in with</legend>
          {METHODS.map((m) => (
            <label key={m.key}>
              <input
                type="radio"
                name="auth-method"
                data-testid={`settings-method-${m.key}`}
                checked={method === m.key}
                onChange={() => setAuthMethod(m.key)}
              />{' '}
              {m.label}
            </label>
          ))}
        </fieldset>

        {draft.auth.method === 'password' ? (
          <div className="form-row">
            <label className="field grow">
              <span>Email</span>
              <input
                data-testid="settings-email"
                type="email"
                value={draft.auth.email}
                autoComplete="username"
                onChange={(e) => set({ auth: { method: 'password', email: e.target.value } })}
              />
            </label>
            <label className="field grow">
              <span>Password (used once to sign in, never kept)</span>
              <input
                data-testid="settings-password"
                type="password"
                value={password}
                autoComplete="current-password"
                onChange={(e) => setPassword(e.target.value)}
              />
            </label>
            <button
              type="button"
              className="primary"
              data-testid="settings-sign-in"
              disabled={!!busy || !password}
              onClick={() => void signIn()}
            >
              {busy === 'sign-in' ? 'Signing in…' : 'Sign in'}
            </button>
          </div>
        ) : (
          <div className="form-row">
            {draft.auth.method === 'clientCredentials' && (
              <label className="field grow">
                <span>Client id</span>
                <input
                  data-testid="settings-client-id"
                  value={draft.auth.clientId}
                  spellCheck={false}
                  onChange={(e) => set({ auth: { method: 'clientCredentials', clientId: e.target.value } })}
                />
              </label>
            )}
            <label className="field grow">
              <span>{method === 'apiKey' ? 'API key' : 'Client secret'}</span>
              <input
                data-testid="settings-secret"
                type="password"
                value={secret}
                autoComplete="off"
                placeholder={secretKept ? 'kept — type to replace' : ''}
                onChange={(e) => {
                  setSecret(e.target.value);
                  setSaved(false);
                }}
              />
            </label>
          </div>
        )}
        <p className="muted small" data-testid="settings-secret-state">
          {method === 'password'
            ? view.secrets.refreshToken
              ? `Signed in${view.settings.auth.method === 'password' ? ` as ${view.settings.auth.email}` : ''} (the refresh token is kept).`
              : 'Not signed in.'
            : secretKept
              ? `The ${method === 'apiKey' ? 'API key' : 'client secret'} is kept.`
              : `No ${method === 'apiKey' ? 'API key' : 'client secret'} kept yet.`}{' '}
          {secretKept && (
            <button type="button" className="link-btn" data-testid="settings-forget" disabled={!!busy} onClick={() => void forget()}>
              {method === 'password' ? 'Sign out' : 'Forget it'}
            </button>
          )}
        </p>
        <p className={`muted small${store.warning ? ' notice-inline' : ''}`} data-testid="settings-secret-store" data-kind={store.kind}>
          {store.kind === 'os-keychain'
            ? 'Secrets are encrypted with the operating system keychain.'
            : store.kind === 'weak'
              ? 'Secrets are kept with weak protection (no keyring), as you allowed.'
              : view.host === 'serve'
                ? SERVE_SECRETS
                : 'Secrets are kept in memory until you quit.'}
          {store.warning && <> {store.warning}</>}
          {store.canAllowWeak && store.kind === 'memory' && (
            <>
              {' '}
              <button
                type="button"
                className="link-btn"
                data-testid="settings-allow-weak"
                onClick={() => void run('save', async () => adopt(await api.call('allowWeakSecretStorage', {})))}
              >
                Keep them anyway (weak protection)
              </button>
            </>
          )}
        </p>
        <div className="form-row">
          <button type="button" data-testid="settings-test" disabled={!!busy} onClick={() => void test()}>
            {busy === 'test' ? 'Testing…' : 'Test connection'}
          </button>
        </div>
        {result && (
          <p
            className={result.ok ? 'connection-ok' : 'connection-failed'}
            data-testid="connection-result"
            data-ok={String(result.ok)}
            data-failure={result.ok ? '' : result.failure}
            role="status"
          >
            {result.ok ? result.message : `${stepLabel(result.step)}: ${result.message}`}
            {!result.ok && result.detail && <span className="muted small"> ({result.detail})</span>}
          </p>
        )}
      </section>

      <section className="settings-card" aria-labelledby="settings-detection">
        <h2 id="settings-detection">Detection</h2>
        <div className="form-row">
          <label className="field">
            <span>Model</span>
            <select
              data-testid="settings-model"
              value={draft.inference.model ?? ''}
              onChange={(e) => set({ inference: { ...draft.inference, model: e.target.value || null } })}
            >
              <option value="">default ({view.models.default || 'from the manifest'})</option>
              {view.models.names.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Execution provider</span>
            <select
              data-testid="settings-provider"
              value={draft.inference.provider}
              onChange={(e) => set({ inference: { ...draft.inference, provider: e.target.value as AppSettings['inference']['provider'] } })}
            >
              {PROVIDERS.map((p) => (
                <option key={p.key} value={p.key}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Confidence threshold</span>
            <input
              data-testid="settings-threshold"
              type="number"
              min={0.01}
              max={0.99}
              step={0.01}
              value={draft.inference.confThreshold}
              onChange={(e) => set({ inference: { ...draft.inference, confThreshold: Number(e.target.value) } })}
            />
          </label>
          <label className="field">
            <span>Tiles</span>
            <select
              data-testid="settings-tiles"
              value={String(draft.inference.tiles)}
              onChange={(e) =>
                set({
                  inference: {
                    ...draft.inference,
                    tiles: e.target.value === 'off' || e.target.value === 'auto' ? e.target.value : Number(e.target.value),
                  },
                })
              }
            >
              <option value="off">off (whole photo)</option>
              <option value="auto">auto (large photos)</option>
              <option value="2">2 (shelves)</option>
              <option value="3">3 (dense shelves)</option>
            </select>
          </label>
        </div>
        <p className="muted small" data-testid="settings-provider-running">
          {running
            ? `Running on ${running.provider.toUpperCase()} (model ${running.model})` +
              (running.fallback ? `, not the first choice: ${running.fallback}.` : '.')
            : 'Not known yet: the provider is chosen when the model loads, at the next import ' +
              `(tries ${view.provider.tries.join(', then ')}).`}
          {view.provider.overriddenBy && ` This engine was started with ${view.provider.overriddenBy}, which wins over this setting.`}
        </p>
      </section>

      <section className="settings-card" aria-labelledby="settings-sync">
        <h2 id="settings-sync">Sync</h2>
        <label>
          <input
            type="checkbox"
            data-testid="settings-sync"
            checked={draft.sync.enabled}
            onChange={(e) => set({ sync: { enabled: e.target.checked } })}
          />{' '}
          Send photos, results and corrections to the KLIQ API in the background
        </label>
      </section>

      {view.host === 'desktop' && (
        <section className="settings-card" aria-labelledby="settings-updates">
          <h2 id="settings-updates">Updates</h2>
          <label>
            <input
              type="checkbox"
              data-testid="settings-auto-update"
              checked={draft.autoUpdate}
              onChange={(e) => set({ autoUpdate: e.target.checked })}
            />{' '}
            Check for new versions at start and install them on quit (off by default)
          </label>
        </section>
      )}

      <div className="form-row settings-actions">
        <button type="button" className="primary" data-testid="settings-save" disabled={!!busy} onClick={() => void save()}>
          {busy === 'save' ? 'Saving…' : 'Save'}
        </button>
        {saved && (
          <span className="muted" data-testid="settings-saved">
            Saved to {view.file}
          </span>
        )}
        {error && (
          <span className="error-text" data-testid="settings-error">
            {error}
          </span>
        )}
      </div>
    </div>
  );
}

function stepLabel(step: 'settings' | 'health' | 'sign-in' | 'request'): string {
  return step === 'settings'
    ? 'Not sent'
    : step === 'health'
      ? 'Reaching the API failed'
      : step === 'sign-in'
        ? 'Sign-in failed'
        : 'The authenticated request failed';
}
