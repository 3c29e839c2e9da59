// The engine in a worker thread (engine/thread), as the desktop app hosts it: calls, events, an import of
// real photos with the real model, the checked photo bytes streamed back, settings whose secrets stay in
// the host's SecretStore, a database that cannot be opened, and close.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EngineThread } from '../src/main/engine/thread/client';
import { EncryptedFileSecretStore, MemorySecretStore, SECRETS_FILE, type Encryptor } from '../src/main/engine/settings';
import type { EngineEvent, ImportInfo } from '../src/shared/rpc';
import { pathToFileURL } from 'node:url';
import { GENERAL, ROOT, tmpDir } from './helpers';
import { ensureRendererBuilt } from './ui-helpers';

describe('engine thread', () => {
  let t: EngineThread;
  let dir: string;
  const secrets = new MemorySecretStore();
  const events: EngineEvent[] = [];

  beforeAll(async () => {
    dir = tmpDir();
    t = await EngineThread.start({
      dbFile: path.join(dir, 'app.db'),
      settingsDir: dir,
      secrets,
      host: 'desktop',
      user: 'thread',
      provider: 'cpu',
    });
    t.onEvent((e) => events.push(e));
  });
  afterAll(async () => {
    await t?.close();
  });

  const ok = async (method: string, params: unknown) => {
    const r = await t.handle(method, params);
    if (!r.ok) throw new Error(`${method}: ${r.error.code} ${r.error.message}`);
    return r.result;
  };

  test('an import in the thread: events arrive, the queue lists the photos, their checked bytes stream back', async () => {
    const photos = tmpDir();
    for (const f of ['dog.jpg', 'person.jpg']) fs.copyFileSync(path.join(GENERAL, f), path.join(photos, f));
    const { importId } = (await ok('startImport', { paths: [photos] })) as { importId: string };
    const done = await new Promise<ImportInfo>((resolve) => {
      const check = () => {
        const last = events.filter((e) => e.type === 'import-state' && e.info.importId === importId).at(-1);
        if (last?.type === 'import-state' && last.info.state !== 'running') return resolve(last.info);
        setTimeout(check, 50);
      };
      check();
    });
    expect(done).toMatchObject({ state: 'done', done: 2, failed: 0 });
    expect(events.some((e) => e.type === 'import' && e.event.type === 'model' && e.event.provider === 'cpu')).toBe(true);
    const q = (await ok('queue', { limit: 10 })) as { total: number; items: { observationId: string; sourcePath: string }[] };
    expect(q.total).toBe(2);
    for (const item of q.items) {
      const photo = await t.openPhoto(item.observationId);
      expect(photo.ok).toBe(true);
      if (!photo.ok) continue;
      const chunks: Buffer[] = [];
      for await (const c of photo.stream) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      const name = item.sourcePath ? path.basename(item.sourcePath) : '';
      expect(bytes.length).toBe(photo.size);
      expect(['dog.jpg', 'person.jpg']).toContain(name);
      expect(bytes.equals(fs.readFileSync(path.join(photos, name)))).toBe(true);
      expect(photo.mimeType).toBe('image/jpeg');
    }
    expect(await t.openPhoto('obs_nope')).toEqual({ ok: false, status: 404, message: 'no such photo' });
    // the settings screen knows which provider really ran
    const view = (await ok('settings', {})) as { provider: { running: { provider: string } | null } };
    expect(view.provider.running?.provider).toBe('cpu');
  });

  test("a secret saved through the thread is kept by the host's store, never in the thread's settings file", async () => {
    const view = (await ok('settings', {})) as { settings: Record<string, unknown> };
    const next = { ...view.settings, api: { baseUrl: 'http://127.0.0.1:9/v1', tenantId: 't_x' } };
    const saved = (await ok('saveSettings', { settings: next, secrets: { apiKey: 'key_from_the_page_123' } })) as {
      secrets: { apiKey: boolean };
    };
    expect(saved.secrets.apiKey).toBe(true);
    expect(await secrets.get('apiKey')).toBe('key_from_the_page_123');
    expect(fs.readFileSync(path.join(dir, 'settings.json'), 'utf8')).not.toContain('key_from_the_page_123');
    await ok('saveSettings', { settings: next, secrets: { apiKey: null } });
    expect(await secrets.get('apiKey')).toBeNull();
  });

  test('a call that breaks the contract is refused with its code', async () => {
    expect(await t.handle('noSuchMethod', {})).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await t.handle('queue', { limit: -1 })).toMatchObject({ ok: false, error: { code: 'bad-request' } });
  });
});

test('a database that cannot be opened: start() rejects with the reason', async () => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'a-folder.db'));
  await expect(
    EngineThread.start({ dbFile: path.join(dir, 'a-folder.db'), settingsDir: dir, secrets: new MemorySecretStore(), host: 'desktop' }),
  ).rejects.toThrow(/cannot open the database/);
});

test("the thread's console output reaches the host's onLog (the desktop app's log)", async () => {
  const dir = tmpDir();
  const lines: string[] = [];
  const t = await EngineThread.start({
    dbFile: path.join(dir, 'l.db'),
    settingsDir: dir,
    secrets: new MemorySecretStore(),
    host: 'desktop',
    onLog: (level, text) => lines.push(`${level} ${text}`),
  });
  await t.close();
  expect(lines).toEqual([`info engine thread: database ${path.join(dir, 'l.db')} open, settings in ${dir}`, 'info engine thread: closed']);
});

test('Linux without a keyring (stand-in for safeStorage, basic_text): in memory until the page allows weak storage', async () => {
  const dir = tmpDir();
  // a stand-in for safeStorage: reversible "encryption" (base64 + marker) on the weak backend
  const enc: Encryptor = {
    isEncryptionAvailable: () => true,
    selectedBackend: () => 'basic_text',
    encryptString: (p) => Buffer.from(`weak:${Buffer.from(p).toString('base64')}`),
    decryptString: (c) => Buffer.from(c.toString().slice(5), 'base64').toString(),
  };
  let allowWeak = false;
  const store = new EncryptedFileSecretStore(dir, enc, () => allowWeak);
  const t = await EngineThread.start({
    dbFile: path.join(dir, 'k.db'),
    settingsDir: dir,
    secrets: store,
    onAllowWeak: (a) => (allowWeak = a),
    host: 'desktop',
    onLog: () => undefined,
  });
  try {
    const call = async <T>(method: string, params: unknown) => {
      const r = await t.handle(method, params);
      if (!r.ok) throw new Error(r.error.message);
      return r.result as T;
    };
    type View = {
      settings: Record<string, unknown>;
      secrets: { apiKey: boolean };
      secretStore: { kind: string; canAllowWeak: boolean; warning: string | null };
    };
    const v0 = await call<View>('settings', {});
    const v1 = await call<View>('saveSettings', { settings: v0.settings, secrets: { apiKey: 'key_weak_0001' } });
    expect(v1.secrets.apiKey).toBe(true);
    expect(v1.secretStore).toMatchObject({ kind: 'memory', canAllowWeak: true });
    expect(v1.secretStore.warning).toMatch(/No OS keyring was found/);
    expect(fs.existsSync(path.join(dir, SECRETS_FILE))).toBe(false);
    const v2 = await call<View>('allowWeakSecretStorage', {});
    expect(v2.secretStore.kind).toBe('weak');
    expect(v2.secrets.apiKey).toBe(true);
    const file = fs.readFileSync(path.join(dir, SECRETS_FILE), 'utf8');
    expect(file).not.toContain('key_weak_0001');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'settings.json'), 'utf8')).secrets).toEqual({ allowWeakStorage: true });
    // a restart of the app: the kept key is read back
    expect(await new EncryptedFileSecretStore(dir, enc, () => true).get('apiKey')).toBe('key_weak_0001');
  } finally {
    await t.close();
  }
});

test('after close, calls answer at once that the engine is not running', async () => {
  const dir = tmpDir();
  const t = await EngineThread.start({
    dbFile: path.join(dir, 'c.db'),
    settingsDir: dir,
    secrets: new MemorySecretStore(),
    host: 'desktop',
  });
  expect((await t.handle('imports', {})).ok).toBe(true);
  await t.close();
  expect(await t.handle('imports', {})).toMatchObject({ ok: false, error: { code: 'failed' } });
  expect(await t.openPhoto('obs_x')).toMatchObject({ ok: false, status: 503 });
});

test('the built thread (out/main/engine-thread.js, as packaged) imports a photo with its nested inference worker', async () => {
  ensureRendererBuilt();
  const dir = tmpDir();
  const photos = tmpDir();
  fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(photos, 'dog.jpg'));
  const entry = pathToFileURL(path.join(ROOT, 'out', 'main', 'engine-thread.js'));
  const t = await EngineThread.start({
    dbFile: path.join(dir, 'b.db'),
    settingsDir: dir,
    secrets: new MemorySecretStore(),
    host: 'desktop',
    provider: 'cpu',
    entry,
  });
  try {
    const states: string[] = [];
    const ended = new Promise<void>((resolve) =>
      t.onEvent((e) => {
        if (e.type !== 'import-state') return;
        states.push(e.info.state);
        if (e.info.state !== 'running') resolve();
      }),
    );
    const r = await t.handle('startImport', { paths: [photos] });
    expect(r.ok).toBe(true);
    await ended;
    expect(states.at(-1)).toBe('done');
    const q = await t.handle('queue', { limit: 5 });
    expect(q.ok && (q.result as { total: number }).total).toBe(1);
  } finally {
    await t.close();
  }
});
