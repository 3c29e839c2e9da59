/**
 * The Settings screen in Chromium against `kliq-audit serve` and the real local KLIQ API server: a bad
 * settings file is reported and kept; "Test connection" names 401, 403, connection refused and DNS; a
 * saved API key is kept by serve (in memory) and never written to the settings file; sign-in by email +
 * password keeps the refresh token, not the password; the provider really running shows after an import.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer, type SeedTenant } from '../src/api-server/server';
import { GENERAL, ROOT, tmpDir } from './helpers';
import { CHROMIUM, ensureRendererBuilt, launchChromium, startServe, type Served } from './ui-helpers';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`UI tests need Chromium at ${CHROMIUM} (.ci/run installs it)`);
const SHOTS = path.join(ROOT, 'test-results', 'screenshots');

const A: SeedTenant = {
  id: 't_alpha',
  apiKey: 'key_alpha_0123456789',
  users: [{ email: 'jane@alpha.test', password: 'pw-alpha' }],
  clients: [{ id: 'cli_alpha', secret: 'secret-alpha-0123' }],
};
const B: SeedTenant = { id: 't_beta', apiKey: 'key_beta_0123456789' };

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeout = 20_000): Promise<T> {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!hasChromium)('Settings screen', () => {
  let api: ApiServer;
  let served: Served;
  let browser: Browser;
  let home: string;
  let page: Page;
  let closedPort: number;

  beforeAll(async () => {
    ensureRendererBuilt();
    api = await startApiServer({ tenants: [A, B] });
    const s = net.createServer();
    closedPort = await new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as net.AddressInfo).port)));
    await new Promise((r) => s.close(r));
    home = tmpDir();
    // serve reads its settings from KLIQ_AUDIT_HOME (the user-data folder), inherited from this process
    process.env.KLIQ_AUDIT_HOME = home;
    delete process.env.KLIQ_API_KEY;
    served = await startServe(path.join(home, 'ui-settings.db'), 'settings-ui');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    await api?.close();
  });

  /** Each test starts from a fresh page on the Settings screen, with the sign-in method it needs. */
  const fresh = async (method: 'apiKey' | 'password' | 'clientCredentials') => {
    await page.goto(served.url);
    await page.click('[data-testid=nav-settings]');
    await page.waitForSelector('[data-testid=settings-base-url]');
    await page.check(`[data-testid=settings-method-${method}]`);
  };
  const result = async () => {
    const el = await page.waitForSelector('[data-testid=connection-result]');
    return { ok: await el.getAttribute('data-ok'), failure: await el.getAttribute('data-failure'), text: (await el.textContent()) ?? '' };
  };
  const test = async () => {
    await page.click('[data-testid=settings-test]');
    await until('the test to end', async () => (await page.textContent('[data-testid=settings-test]')) === 'Test connection');
    return result();
  };
  const fill = async (baseUrl: string, tenant: string, key?: string) => {
    await page.fill('[data-testid=settings-base-url]', baseUrl);
    await page.fill('[data-testid=settings-tenant]', tenant);
    if (key !== undefined) await page.fill('[data-testid=settings-secret]', key);
  };

  it('reports a bad settings file (a hand edit) and keeps a copy of it when saving', async () => {
    fs.writeFileSync(path.join(home, 'settings.json'), '{ "api": { "baseUrl": ');
    await fresh('apiKey');
    expect(await page.textContent('[data-testid=settings-problem]')).toMatch(/settings\.json is not valid JSON/);
    const before = fs.readdirSync(home).filter((f) => f.startsWith('settings.json.bad-')).length;
    await page.click('[data-testid=settings-save]');
    await page.waitForSelector('[data-testid=settings-saved]');
    expect(await page.$('[data-testid=settings-problem]')).toBeNull();
    const copies = fs.readdirSync(home).filter((f) => f.startsWith('settings.json.bad-'));
    expect(copies).toHaveLength(before + 1);
    expect(copies.map((f) => fs.readFileSync(path.join(home, f), 'utf8'))).toContain('{ "api": { "baseUrl": ');
    expect(() => JSON.parse(fs.readFileSync(path.join(home, 'settings.json'), 'utf8'))).not.toThrow();
  });

  it('names each failure of Test connection: 401, 403, refused, DNS; then connects', async () => {
    await fresh('apiKey');
    await fill(`${api.url}/v1`, A.id, 'key_wrong_0000000');
    let r = await test();
    expect(r).toMatchObject({ ok: 'false', failure: 'unauthorized' });
    expect(r.text).toMatch(/The authenticated request failed: The API refused the API key \(401\)/);

    await fill(`${api.url}/v1`, B.id, A.apiKey);
    r = await test();
    expect(r).toMatchObject({ ok: 'false', failure: 'forbidden' });
    expect(r.text).toMatch(/may not access tenant t_beta \(403\)/);

    await fill(`http://127.0.0.1:${closedPort}/v1`, A.id);
    r = await test();
    expect(r).toMatchObject({ ok: 'false', failure: 'refused' });
    expect(r.text).toContain(`127.0.0.1:${closedPort} refused the connection`);

    await fill('https://kliq-audit-ui-test.invalid/v1', A.id);
    r = await test();
    expect(r).toMatchObject({ ok: 'false', failure: 'dns' });

    await fill(`${api.url}/v1`, A.id);
    r = await test();
    expect(r).toMatchObject({ ok: 'true', failure: '' });
    expect(r.text).toBe(`Connected to ${api.url}/v1 as the API key, tenant ${A.id}.`);
  });

  it('saves: the settings file has the API and sync, never the key; the kept key is used', async () => {
    await fresh('apiKey');
    await fill(`${api.url}/v1`, A.id, A.apiKey);
    await page.check('[data-testid=settings-sync]');
    await page.selectOption('[data-testid=settings-tiles]', '2');
    await page.click('[data-testid=settings-save]');
    await page.waitForSelector('[data-testid=settings-saved]');
    const text = fs.readFileSync(path.join(home, 'settings.json'), 'utf8');
    const saved = JSON.parse(text);
    expect(saved.api).toEqual({ baseUrl: `${api.url}/v1`, tenantId: A.id });
    expect(saved.sync).toEqual({ enabled: true });
    expect(saved.inference.tiles).toBe(2);
    expect(text).not.toContain(A.apiKey);
    expect(await page.textContent('[data-testid=settings-secret-state]')).toMatch(/The API key is kept/);
    expect(await page.getAttribute('[data-testid=settings-secret-store]', 'data-kind')).toBe('memory');
    expect(await page.inputValue('[data-testid=settings-secret]')).toBe('');
    // no secret typed: the kept key is tested
    expect(await test()).toMatchObject({ ok: 'true' });
    // a reload shows what was saved
    await page.reload();
    await page.click('[data-testid=nav-settings]');
    await until('the saved URL', async () => (await page.inputValue('[data-testid=settings-base-url]')) === `${api.url}/v1`);
    expect(await page.isChecked('[data-testid=settings-sync]')).toBe(true);
  });

  it('signs in with email and password: refresh token kept, password never written; wrong password named', async () => {
    await fresh('password');
    await fill(`${api.url}/v1`, A.id);
    await page.fill('[data-testid=settings-email]', 'jane@alpha.test');
    await page.fill('[data-testid=settings-password]', 'not-the-password');
    await page.click('[data-testid=settings-sign-in]');
    let r = await result();
    expect(r).toMatchObject({ ok: 'false', failure: 'unauthorized' });
    expect(r.text).toMatch(/Sign-in failed: Wrong email or password \(401\)/);

    await page.fill('[data-testid=settings-password]', 'pw-alpha');
    await page.click('[data-testid=settings-sign-in]');
    await until('signed in', async () =>
      /Signed in as jane@alpha\.test/.test((await page.textContent('[data-testid=settings-secret-state]')) ?? ''),
    );
    r = await result();
    expect(r.ok).toBe('true');
    const text = fs.readFileSync(path.join(home, 'settings.json'), 'utf8');
    expect(JSON.parse(text).auth).toEqual({ method: 'password', email: 'jane@alpha.test' });
    expect(text).not.toContain('pw-alpha');
    // the kept refresh token works (and rotates) for Test connection, twice
    expect(await test()).toMatchObject({ ok: 'true' });
    expect(await test()).toMatchObject({ ok: 'true' });
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'settings.png'), fullPage: true });
  });

  it('client credentials: a wrong secret is named at sign-in, the right one connects and is kept', async () => {
    await fresh('clientCredentials');
    await fill(`${api.url}/v1`, A.id);
    await page.fill('[data-testid=settings-client-id]', 'cli_alpha');
    await page.fill('[data-testid=settings-secret]', 'not-the-secret');
    let r = await test();
    expect(r).toMatchObject({ ok: 'false', failure: 'unauthorized' });
    expect(r.text).toMatch(/Sign-in failed: The API refused the client id or client secret \(401\)/);
    await page.fill('[data-testid=settings-secret]', 'secret-alpha-0123');
    r = await test();
    expect(r.text).toBe(`Connected to ${api.url}/v1 as client cli_alpha, tenant ${A.id}.`);
    await page.click('[data-testid=settings-save]');
    await page.waitForSelector('[data-testid=settings-saved]');
    const text = fs.readFileSync(path.join(home, 'settings.json'), 'utf8');
    expect(JSON.parse(text).auth).toEqual({ method: 'clientCredentials', clientId: 'cli_alpha' });
    expect(text).not.toContain('secret-alpha-0123');
    expect(await page.textContent('[data-testid=settings-secret-state]')).toMatch(/The client secret is kept/);
  });

  it('shows the provider really running after an import (serve --provider cpu wins over the setting)', async () => {
    await fresh('apiKey');
    expect(await page.textContent('[data-testid=settings-provider-running]')).toMatch(
      /Not known yet: .*tries cpu\)\. This engine was started with --provider cpu/,
    );
    const photos = tmpDir();
    fs.copyFileSync(path.join(GENERAL, 'dog.jpg'), path.join(photos, 'dog.jpg'));
    await page.click('[data-testid=nav-import]');
    await page.fill('[data-testid=import-paths]', photos);
    await page.click('[data-testid=import-start]');
    await until('the import to end', async () => (await page.getAttribute('[data-testid=import-item]', 'data-state')) === 'done', 90_000);
    await page.click('[data-testid=nav-settings]');
    await until('the provider running', async () =>
      /Running on CPU \(model yolox-nano-coco\)\./.test((await page.textContent('[data-testid=settings-provider-running]')) ?? ''),
    );
  });
});
