// The settings file (typed, validated, atomic, a bad file never lost) and the secret store's logic with a
// stand-in for Electron's safeStorage (the Electron binary cannot run here): an AES-256-GCM encryptor
// whose backend can be set to 'basic_text' (Linux without a keyring) or made unavailable.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  EncryptedFileSecretStore,
  MemorySecretStore,
  NO_KEYRING_WARNING,
  SECRETS_FILE,
  SettingsService,
  loadSettings,
  readSettings,
  saveSettings,
  secretsFromEnv,
  settingsPath,
  type Encryptor,
} from '../src/main/engine/settings';
import { ConfigError } from '../src/main/engine/errors';
import { defaultSettings, type AppSettings } from '../src/shared/settings';
import { tmpDir } from './tmp';

/** A stand-in for safeStorage: real encryption, a switchable backend. */
function standInSafeStorage(o: { backend?: string; available?: boolean; key?: Buffer } = {}) {
  const key = o.key ?? crypto.randomBytes(32);
  const state = { backend: o.backend ?? 'gnome_libsecret', available: o.available ?? true, encrypted: 0 };
  const enc: Encryptor = {
    isEncryptionAvailable: () => state.available,
    selectedBackend: () => state.backend,
    encryptString(plain) {
      if (!state.available) throw new Error('Encryption is not available.');
      state.encrypted++;
      const iv = crypto.randomBytes(12);
      const c = crypto.createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decryptString(buf) {
      const d = crypto.createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
      d.setAuthTag(buf.subarray(12, 28));
      return Buffer.concat([d.update(buf.subarray(28)), d.final()]).toString('utf8');
    },
  };
  return { enc, state };
}

const withApi = (s: AppSettings, baseUrl: string, tenantId: string): AppSettings => ({ ...s, api: { baseUrl, tenantId } });

describe('settings file', () => {
  test('a missing file gives the defaults (sync off, auto-update off, provider auto) and writes nothing', () => {
    const dir = tmpDir();
    const r = readSettings(dir);
    expect(r.state).toBe('missing');
    expect(r.settings.sync.enabled).toBe(false);
    expect(r.settings.autoUpdate).toBe(false);
    expect(r.settings.inference).toEqual({ model: null, provider: 'auto', confThreshold: 0.25, tiles: 'off' });
    expect(r.settings.auth).toEqual({ method: 'apiKey' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('saved settings read back equal; the file is 0600 and no temporary file is left', () => {
    const dir = tmpDir();
    const s: AppSettings = {
      ...withApi(defaultSettings(), 'http://127.0.0.1:9/v1', 't_alpha'),
      auth: { method: 'clientCredentials', clientId: 'cli_1' },
      inference: { model: 'yolox-nano-coco', provider: 'cpu', confThreshold: 0.4, tiles: 3 },
      sync: { enabled: true },
    };
    saveSettings(dir, s);
    expect(loadSettings(dir)).toEqual(s);
    expect(fs.readdirSync(dir)).toEqual(['settings.json']);
    if (process.platform !== 'win32') expect(fs.statSync(settingsPath(dir)).mode & 0o777).toBe(0o600);
  });

  test('fields missing from an older file take their defaults', () => {
    const dir = tmpDir();
    fs.writeFileSync(settingsPath(dir), JSON.stringify({ api: { baseUrl: 'https://x.test/v1' } }));
    const s = loadSettings(dir);
    expect(s.api).toEqual({ baseUrl: 'https://x.test/v1', tenantId: '' });
    expect(s.sync.enabled).toBe(false);
  });

  test.each([
    ['not JSON', '{ "api": ', /is not valid JSON .*fix it, or move it away/],
    ['a bad URL', JSON.stringify({ api: { baseUrl: 'ftp://x' } }), /api\.baseUrl: must be an http\(s\) URL/],
    ['a URL with credentials', JSON.stringify({ api: { baseUrl: 'https://u:p@x.test/v1' } }), /api\.baseUrl: must be an http\(s\) URL/],
    ['a threshold out of range', JSON.stringify({ inference: { confThreshold: 2 } }), /inference\.confThreshold/],
    ['an unknown provider', JSON.stringify({ inference: { provider: 'tpu' } }), /inference\.provider/],
    ['an unknown auth method', JSON.stringify({ auth: { method: 'kerberos' } }), /auth\.method/],
    ['a newer version', JSON.stringify({ version: 7 }), /written by a newer KLIQ Audit \(settings version 7/],
  ])('%s: a ConfigError naming the file and the fix; the defaults meanwhile; the file untouched', (_what, text, msg) => {
    const dir = tmpDir();
    fs.writeFileSync(settingsPath(dir), text);
    const r = readSettings(dir);
    expect(r.state).toBe('bad');
    if (r.state !== 'bad') return;
    expect(r.error).toBeInstanceOf(ConfigError);
    expect(r.error.message).toContain(settingsPath(dir));
    expect(r.error.message).toMatch(msg);
    expect(r.settings).toEqual(defaultSettings());
    expect(() => loadSettings(dir)).toThrow(ConfigError);
    expect(fs.readFileSync(settingsPath(dir), 'utf8')).toBe(text);
  });

  test('saving over a bad file keeps a copy of it first', () => {
    const dir = tmpDir();
    fs.writeFileSync(settingsPath(dir), '{ hand edit gone wrong');
    const { keptBadCopy } = saveSettings(dir, defaultSettings());
    expect(keptBadCopy).toMatch(/settings\.json\.bad-/);
    expect(fs.readFileSync(keptBadCopy!, 'utf8')).toBe('{ hand edit gone wrong');
    expect(readSettings(dir).state).toBe('ok');
    // a good file is replaced without a copy
    expect(saveSettings(dir, defaultSettings()).keptBadCopy).toBeNull();
  });

  test('an invalid value is refused at save and the file on disk is unchanged', () => {
    const dir = tmpDir();
    saveSettings(dir, withApi(defaultSettings(), 'https://a.test/v1', 't_a'));
    const before = fs.readFileSync(settingsPath(dir), 'utf8');
    expect(() => saveSettings(dir, withApi(defaultSettings(), 'javascript:alert(1)', 't_a'))).toThrow(/baseUrl/);
    expect(fs.readFileSync(settingsPath(dir), 'utf8')).toBe(before);
  });
});

describe('secret store (stand-in for safeStorage)', () => {
  test('with a keyring: secrets are encrypted in secrets.enc.json, never in clear, and survive a restart', async () => {
    const dir = tmpDir();
    const { enc } = standInSafeStorage();
    const store = new EncryptedFileSecretStore(dir, enc);
    expect(store.status()).toEqual({ kind: 'os-keychain', persisted: true, warning: null, canAllowWeak: false });
    await store.set('apiKey', 'key_super_secret_123');
    await store.set('refreshToken', 'rt.abc.def');
    const raw = fs.readFileSync(path.join(dir, SECRETS_FILE), 'utf8');
    expect(raw).not.toContain('key_super_secret_123');
    expect(raw).not.toContain('rt.abc.def');
    expect(Object.keys(JSON.parse(raw).secrets).sort()).toEqual(['apiKey', 'refreshToken']);
    const again = new EncryptedFileSecretStore(dir, enc);
    expect(await again.get('apiKey')).toBe('key_super_secret_123');
    await again.delete('apiKey');
    expect(await new EncryptedFileSecretStore(dir, enc).get('apiKey')).toBeNull();
    expect(await new EncryptedFileSecretStore(dir, enc).get('refreshToken')).toBe('rt.abc.def');
  });

  test("Linux without a keyring ('basic_text'): kept in memory only and says so, until the auditor allows weak storage", async () => {
    const dir = tmpDir();
    const { enc } = standInSafeStorage({ backend: 'basic_text' });
    let allowed = false;
    const store = new EncryptedFileSecretStore(dir, enc, () => allowed);
    expect(store.status()).toEqual({ kind: 'memory', persisted: false, warning: NO_KEYRING_WARNING, canAllowWeak: true });
    await store.set('apiKey', 'key_in_memory_only');
    expect(await store.get('apiKey')).toBe('key_in_memory_only');
    expect(fs.existsSync(path.join(dir, SECRETS_FILE))).toBe(false);
    // a restart without consent: gone
    expect(await new EncryptedFileSecretStore(dir, enc, () => allowed).get('apiKey')).toBeNull();

    allowed = true;
    await store.flush();
    expect(store.status()).toMatchObject({ kind: 'weak', persisted: true });
    expect(store.status().warning).toMatch(/weak storage, as you allowed/);
    expect(fs.readFileSync(path.join(dir, SECRETS_FILE), 'utf8')).not.toContain('key_in_memory_only');
    expect(await new EncryptedFileSecretStore(dir, enc, () => true).get('apiKey')).toBe('key_in_memory_only');
  });

  test('encryption unavailable: memory only, no weak option', async () => {
    const dir = tmpDir();
    const { enc } = standInSafeStorage({ available: false });
    const store = new EncryptedFileSecretStore(dir, enc, () => true);
    await store.set('clientSecret', 's3cret');
    expect(await store.get('clientSecret')).toBe('s3cret');
    expect(store.status()).toMatchObject({ kind: 'memory', persisted: false, canAllowWeak: false });
    expect(store.status().warning).toMatch(/cannot encrypt/);
    expect(fs.existsSync(path.join(dir, SECRETS_FILE))).toBe(false);
  });

  test('a secret the keychain can no longer decrypt: null, and the status asks for it again', async () => {
    const dir = tmpDir();
    await new EncryptedFileSecretStore(dir, standInSafeStorage().enc).set('apiKey', 'old_key');
    const other = new EncryptedFileSecretStore(dir, standInSafeStorage().enc); // another key: the keychain changed
    expect(await other.get('apiKey')).toBeNull();
    expect(other.status().warning).toMatch(/Could not decrypt the stored apiKey/);
    await other.set('apiKey', 'new_key');
    expect(other.status().warning).toBeNull();
    expect(await other.get('apiKey')).toBe('new_key');
  });

  test('a damaged secrets file is kept aside, not lost, when a secret is set', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, SECRETS_FILE), 'garbage');
    const store = new EncryptedFileSecretStore(dir, standInSafeStorage().enc);
    expect(await store.get('apiKey')).toBeNull();
    expect(store.status().warning).toMatch(/secrets file cannot be read/);
    await store.set('apiKey', 'k');
    const copies = fs.readdirSync(dir).filter((f) => f.startsWith(`${SECRETS_FILE}.bad-`));
    expect(copies).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, copies[0]), 'utf8')).toBe('garbage');
    expect(await store.get('apiKey')).toBe('k');
  });

  test('unknown secret names are refused', async () => {
    const store = new MemorySecretStore();
    await expect(store.set('password' as never, 'x')).rejects.toThrow(/unknown secret password/);
  });

  test('serve and the CLI take KLIQ_API_KEY and KLIQ_CLIENT_SECRET from the environment', async () => {
    expect(secretsFromEnv({ KLIQ_API_KEY: 'k1', KLIQ_CLIENT_SECRET: 'c1', OTHER: 'x' })).toEqual({ apiKey: 'k1', clientSecret: 'c1' });
    const store = new MemorySecretStore(secretsFromEnv({ KLIQ_API_KEY: 'k1' }));
    expect(await store.get('apiKey')).toBe('k1');
    expect(store.status()).toMatchObject({ kind: 'memory', persisted: false });
  });
});

describe('settings service', () => {
  test('secrets never reach the settings file or the view; sync config follows the settings', async () => {
    const dir = tmpDir();
    const { enc } = standInSafeStorage();
    const service = new SettingsService({ dir, secrets: new EncryptedFileSecretStore(dir, enc), host: 'desktop' });
    expect(await service.syncConfig()).toEqual({ ok: false, reason: 'sync is off (Settings → Sync)' });
    const changes: AppSettings[] = [];
    service.onChange((s) => changes.push(s));
    const next = { ...withApi(defaultSettings(), 'https://api.test/v1/', 't_x'), sync: { enabled: true } };
    const view = await service.save(next, { apiKey: 'key_never_in_files' });
    expect(changes).toHaveLength(1);
    expect(view.secrets).toEqual({ apiKey: true, refreshToken: false, clientSecret: false });
    expect(JSON.stringify(view)).not.toContain('key_never_in_files');
    expect(fs.readFileSync(settingsPath(dir), 'utf8')).not.toContain('key_never_in_files');
    const sync = await service.syncConfig();
    expect(sync.ok && sync.config.target).toEqual({ baseUrl: 'https://api.test/v1', tenantId: 't_x' });
    expect(sync.ok && sync.config.credentials).toEqual({ apiKey: 'key_never_in_files' });
    // a null deletes the secret; sync then says what is missing
    await service.save(next, { apiKey: null });
    expect(await service.syncConfig()).toEqual({ ok: false, reason: 'no API key (Settings)' });
  });

  test('a bad settings file: shown as the problem with the defaults; saving keeps a copy and clears it', async () => {
    const dir = tmpDir();
    fs.writeFileSync(settingsPath(dir), '[1,2');
    const service = new SettingsService({ dir, secrets: new MemorySecretStore(), host: 'serve' });
    const v = await service.view();
    expect(v.problem).toMatch(/is not valid JSON/);
    const after = await service.save(defaultSettings());
    expect(after.problem).toBeNull();
    expect(fs.readFileSync(after.keptBadCopy!, 'utf8')).toBe('[1,2');
  });

  test('a hand edit of the file is read again; a bad edit is reported and the last good settings stay in use', async () => {
    const dir = tmpDir();
    const service = new SettingsService({ dir, secrets: new MemorySecretStore(), host: 'serve' });
    await service.save(withApi(defaultSettings(), 'https://one.test/v1', 't_1'));
    const seen: string[] = [];
    service.onChange((s) => seen.push(s.api.baseUrl));
    fs.writeFileSync(settingsPath(dir), JSON.stringify({ api: { baseUrl: 'https://two.test/v1', tenantId: 't_2' } }) + '\n'.repeat(3));
    expect((await service.view()).settings.api).toEqual({ baseUrl: 'https://two.test/v1', tenantId: 't_2' });
    expect(seen).toEqual(['https://two.test/v1']);
    fs.writeFileSync(settingsPath(dir), '{ broken');
    const v = await service.view();
    expect(v.problem).toMatch(/is not valid JSON/);
    expect(v.settings.api.baseUrl).toBe('https://two.test/v1');
    expect(service.settings().api.baseUrl).toBe('https://two.test/v1');
  });

  test('a model that is neither in the manifest nor an .onnx file is refused', async () => {
    const service = new SettingsService({ dir: tmpDir(), secrets: new MemorySecretStore(), host: 'serve' });
    const s = defaultSettings();
    await expect(service.save({ ...s, inference: { ...s.inference, model: 'no-such-model' } })).rejects.toThrow(
      /not in models\/manifest\.json/,
    );
  });

  test('the provider: a command-line choice wins and is named; the tries follow the choice', async () => {
    const service = new SettingsService({ dir: tmpDir(), secrets: new MemorySecretStore(), host: 'serve', providerOverride: 'cpu' });
    const v = await service.view();
    expect(v.provider).toMatchObject({ choice: 'cpu', tries: ['cpu'], overriddenBy: '--provider cpu', running: null });
    service.noteAuditEvent({ type: 'model', model: 'm', provider: 'cpu', fallback: 'cuda unavailable (x)', inputSize: [416, 416] });
    expect((await service.view()).provider.running).toMatchObject({ provider: 'cpu', fallback: 'cuda unavailable (x)', model: 'm' });
  });

  test('import defaults come from the settings when the request leaves them out', async () => {
    const dir = tmpDir();
    const service = new SettingsService({ dir, secrets: new MemorySecretStore(), host: 'serve' });
    const s = defaultSettings();
    await service.save({ ...s, inference: { model: 'yolox-nano-coco', provider: 'cpu', confThreshold: 0.5, tiles: 'auto' } });
    const req: { paths: string[]; tiles?: 'off' | 'auto' | number } = { paths: ['a'] };
    expect(service.importDefaults(req)).toEqual({ paths: ['a'], model: 'yolox-nano-coco', tiles: 'auto', confThreshold: 0.5 });
    expect(service.importDefaults({ ...req, tiles: 2 })).toMatchObject({ tiles: 2 });
    expect(service.provider()).toBe('cpu');
  });
});
