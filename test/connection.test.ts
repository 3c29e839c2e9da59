// "Test connection" against real servers on 127.0.0.1: the local KLIQ API server (API key, email +
// password, client credentials, wrong key, other tenant), a closed port, an unresolvable host (.invalid),
// a TLS server with a self-signed certificate made here with openssl, a server that never answers,
// a server that is not a KLIQ API, and one that answers 404 for the tenant.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApiServer, type ApiServer, type SeedTenant } from '../src/api-server/server';
import { MemorySecretStore, SettingsService, classifyTransportError, testConnection } from '../src/main/engine/settings';
import { defaultSettings, type AppSettings } from '../src/shared/settings';
import { tmpDir } from './tmp';

const A: SeedTenant = {
  id: 't_alpha',
  apiKey: 'key_alpha_0123456789',
  users: [{ email: 'jane@alpha.test', password: 'pw-alpha' }],
  clients: [{ id: 'cli_alpha', secret: 'secret-alpha-0123' }],
};
const B: SeedTenant = { id: 't_beta', apiKey: 'key_beta_0123456789' };

let api: ApiServer;
const servers: (http.Server | net.Server)[] = [];
const sockets = new Set<net.Socket>();

function listen<S extends http.Server | net.Server>(server: S): Promise<number> {
  servers.push(server);
  server.on('connection', (c: net.Socket) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

beforeAll(async () => {
  api = await startApiServer({ tenants: [A, B] });
});
afterAll(async () => {
  await api?.close();
  for (const c of sockets) c.destroy();
  for (const s of servers) if (s.listening) await new Promise((r) => s.close(r));
});

const draft = (baseUrl: string, tenantId: string, auth: AppSettings['auth'] = { method: 'apiKey' }) => ({
  api: { baseUrl, tenantId },
  auth,
});

describe('against the local KLIQ API server', () => {
  test('an API key: connected', async () => {
    const r = await testConnection(draft(`${api.url}/v1`, A.id), { secret: A.apiKey });
    expect(r).toEqual({
      ok: true,
      baseUrl: `${api.url}/v1`,
      tenantId: A.id,
      method: 'apiKey',
      message: `Connected to ${api.url}/v1 as the API key, tenant ${A.id}.`,
    });
  });

  test('a wrong API key: 401 at the authenticated request, and the key is not in the message', async () => {
    const r = await testConnection(draft(`${api.url}/v1`, A.id), { secret: 'key_wrong_000000' });
    expect(r).toMatchObject({ ok: false, step: 'request', failure: 'unauthorized', statusCode: 401 });
    expect(!r.ok && r.message).toMatch(/refused the API key \(401\)/);
    expect(JSON.stringify(r)).not.toContain('key_wrong_000000');
  });

  test("another tenant's id with a valid key: 403", async () => {
    const r = await testConnection(draft(`${api.url}/v1`, B.id), { secret: A.apiKey });
    expect(r).toMatchObject({ ok: false, step: 'request', failure: 'forbidden', statusCode: 403 });
    expect(!r.ok && r.message).toMatch(/may not access tenant t_beta \(403\)/);
  });

  test('email + password: connected; a wrong password: 401 at sign-in', async () => {
    const tokens: string[] = [];
    const ok = await testConnection(
      draft(`${api.url}/v1`, A.id, { method: 'password', email: 'jane@alpha.test' }),
      { password: 'pw-alpha' },
      { onTokens: (t) => tokens.push(t.refreshToken) },
    );
    expect(ok).toMatchObject({ ok: true, method: 'password' });
    expect(tokens).toHaveLength(1);
    const bad = await testConnection(draft(`${api.url}/v1`, A.id, { method: 'password', email: 'jane@alpha.test' }), { password: 'nope' });
    expect(bad).toMatchObject({
      ok: false,
      step: 'sign-in',
      failure: 'unauthorized',
      statusCode: 401,
      message: 'Wrong email or password (401).',
    });
  });

  test('client credentials: connected; a wrong secret: 401 at sign-in', async () => {
    const auth = { method: 'clientCredentials' as const, clientId: 'cli_alpha' };
    expect(await testConnection(draft(`${api.url}/v1`, A.id, auth), { secret: 'secret-alpha-0123' })).toMatchObject({ ok: true });
    expect(await testConnection(draft(`${api.url}/v1`, A.id, auth), { secret: 'wrong-secret' })).toMatchObject({
      ok: false,
      step: 'sign-in',
      failure: 'unauthorized',
    });
  });

  test('the base URL without /v1: not a KLIQ API (the health check answers 404)', async () => {
    const r = await testConnection(draft(api.url, A.id), { secret: A.apiKey });
    expect(r).toMatchObject({ ok: false, step: 'health', failure: 'not-kliq', statusCode: 404 });
    expect(!r.ok && r.message).toMatch(/check the base URL \(it ends with \/v1\)/);
  });

  test('nothing is sent while the settings are incomplete', async () => {
    expect(await testConnection(draft('', A.id), { secret: 'x' })).toMatchObject({ step: 'settings', failure: 'not-configured' });
    expect(await testConnection(draft(`${api.url}/v1`, ''), { secret: 'x' })).toMatchObject({
      step: 'settings',
      failure: 'not-configured',
    });
    expect(await testConnection(draft(`${api.url}/v1`, A.id), {})).toMatchObject({
      failure: 'missing-secret',
      message: 'Enter the API key.',
    });
    expect(await testConnection(draft('ftp://x/v1', A.id), { secret: 'x' })).toMatchObject({ step: 'settings', failure: 'bad-url' });
  });

  test('settings service: sign-in keeps the refresh token, not the password; a test rotates it; sign-out forgets it', async () => {
    const dir = tmpDir();
    const secrets = new MemorySecretStore();
    const service = new SettingsService({ dir, secrets, host: 'serve' });
    const { connection, view } = await service.signIn({
      api: { baseUrl: `${api.url}/v1`, tenantId: A.id },
      email: 'jane@alpha.test',
      password: 'pw-alpha',
    });
    expect(connection.ok).toBe(true);
    expect(view.secrets.refreshToken).toBe(true);
    expect(view.settings.auth).toEqual({ method: 'password', email: 'jane@alpha.test' });
    const file = fs.readFileSync(path.join(dir, 'settings.json'), 'utf8');
    expect(file).not.toContain('pw-alpha');
    const first = await secrets.get('refreshToken');
    expect(file).not.toContain(first!);
    // the kept refresh token is good once (rotation): a test uses it and keeps its successor, so a second test works too
    expect(await service.test(service.settings())).toMatchObject({ ok: true });
    const second = await secrets.get('refreshToken');
    expect(second).not.toBe(first);
    expect(await service.test(service.settings())).toMatchObject({ ok: true });
    const sync = await service.syncConfig();
    expect(sync).toEqual({ ok: false, reason: 'sync is off (Settings → Sync)' });
    await service.save({ ...service.settings(), sync: { enabled: true } });
    const on = await service.syncConfig();
    expect(on.ok && on.config.credentials).toEqual({ refreshToken: await secrets.get('refreshToken') });
    await service.signOut();
    expect(await secrets.get('refreshToken')).toBeNull();
    expect(await service.test(service.settings())).toMatchObject({ failure: 'missing-secret' });
  });

  test('a failed sign-in keeps nothing and changes no setting', async () => {
    const dir = tmpDir();
    const secrets = new MemorySecretStore();
    const service = new SettingsService({ dir, secrets, host: 'serve' });
    const { connection } = await service.signIn({
      api: { baseUrl: `${api.url}/v1`, tenantId: A.id },
      email: 'jane@alpha.test',
      password: 'x',
    });
    expect(connection).toMatchObject({ ok: false, failure: 'unauthorized' });
    expect(await secrets.get('refreshToken')).toBeNull();
    expect(fs.existsSync(path.join(dir, 'settings.json'))).toBe(false);
    expect(service.settings()).toEqual(defaultSettings());
  });
});

describe('transport failures, each named', () => {
  test('a closed port: connection refused', async () => {
    const s = net.createServer();
    const port = await listen(s);
    await new Promise((r) => s.close(r)); // now nothing listens there
    const r = await testConnection(draft(`http://127.0.0.1:${port}/v1`, A.id), { secret: 'k' });
    expect(r).toMatchObject({ ok: false, step: 'health', failure: 'refused', statusCode: null });
    expect(!r.ok && r.message).toContain(`127.0.0.1:${port} refused the connection`);
    expect(!r.ok && r.detail).toContain('ECONNREFUSED');
  });

  test('an unresolvable host: DNS', async () => {
    const r = await testConnection(draft('https://kliq-audit-test.invalid/v1', A.id), { secret: 'k' });
    expect(r).toMatchObject({ ok: false, step: 'health', failure: 'dns' });
    expect(!r.ok && r.message).toMatch(/Cannot find the server kliq-audit-test\.invalid \(DNS lookup failed\)/);
  });

  test('a server that never answers: timeout', async () => {
    const s = net.createServer(() => {
      /* accepts and stays silent */
    });
    const port = await listen(s);
    const r = await testConnection(draft(`http://127.0.0.1:${port}/v1`, A.id), { secret: 'k' }, { timeoutMs: 300 });
    expect(r).toMatchObject({ ok: false, step: 'health', failure: 'timeout' });
    expect(!r.ok && r.message).toMatch(/did not answer within 0\.3 s/);
  });

  test.skipIf(!hasOpenssl())('TLS with a self-signed certificate: tls', async () => {
    const dir = tmpDir();
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'],
      {
        stdio: 'ignore',
      },
    );
    const s = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    });
    const port = await listen(s);
    const r = await testConnection(draft(`https://127.0.0.1:${port}/v1`, A.id), { secret: 'k' });
    expect(r).toMatchObject({ ok: false, step: 'health', failure: 'tls' });
    expect(!r.ok && r.detail).toMatch(/SELF_SIGNED|self-signed/i);
    expect(!r.ok && r.message).toMatch(/certificate is not trusted here/);
  });

  test('https:// to a plain http server: tls', async () => {
    const s = http.createServer((_req, res) => res.end('{}'));
    const port = await listen(s);
    const r = await testConnection(draft(`https://127.0.0.1:${port}/v1`, A.id), { secret: 'k' });
    expect(r).toMatchObject({ ok: false, step: 'health', failure: 'tls' });
  });

  test('a server whose health is fine but which does not know the tenant: unknown tenant (404)', async () => {
    const s = http.createServer((req, res) => {
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/v1/health') return json(200, { status: 'ok', time: new Date().toISOString() });
      json(404, { error: { code: 'not_found', message: 'no such tenant', requestId: 'req_1' } });
    });
    const port = await listen(s);
    const r = await testConnection(draft(`http://127.0.0.1:${port}/v1`, 't_nope'), { secret: 'k' });
    expect(r).toMatchObject({ ok: false, step: 'request', failure: 'unknown-tenant', statusCode: 404 });
    expect(!r.ok && r.message).toBe('Tenant t_nope was not found (404): check the tenant id.');
  });

  test('the classifier reads the cause chain of undici errors, AggregateErrors included', () => {
    const wrap = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause });
    expect(classifyTransportError(wrap(Object.assign(new Error('getaddrinfo EAI_AGAIN x'), { code: 'EAI_AGAIN' }))).failure).toBe('dns');
    const agg = Object.assign(new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:1'), { code: 'ECONNREFUSED' })]), {
      code: 'ECONNREFUSED',
    });
    expect(classifyTransportError(wrap(agg)).failure).toBe('refused');
    expect(classifyTransportError(wrap(Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }))).failure).toBe(
      'tls',
    );
    expect(classifyTransportError(new DOMException('The operation was aborted due to timeout', 'TimeoutError')).failure).toBe('timeout');
    expect(classifyTransportError(wrap(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })))).toEqual({
      failure: 'network',
      detail: 'ECONNRESET: socket hang up',
    });
  });
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
