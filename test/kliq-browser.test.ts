// src/kliq runs in a browser: bundled by Vite for the browser (no Node polyfills), loaded into headless
// Chromium on a page of the local API server (same origin), it calls the API, raises typed errors and
// signs and verifies webhook payloads with Web Crypto.
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser } from 'playwright-core';
import { startApiServer, type ApiServer } from '../src/api-server/server';
import { ROOT, tmpDir } from './helpers';
import { CHROMIUM, launchChromium } from './ui-helpers';

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) console.warn(`kliq-browser.test.ts skipped: no Chromium at ${CHROMIUM}`);

describe.skipIf(!hasChromium)('the KLIQ client in Chromium', () => {
  let server: ApiServer;
  let browser: Browser;
  let bundle: string;
  const dir = tmpDir('kliq-browser-');

  beforeAll(async () => {
    await build({
      configFile: false,
      logLevel: 'silent',
      root: ROOT,
      build: {
        outDir: dir,
        emptyOutDir: false,
        minify: false,
        lib: { entry: path.join(ROOT, 'src/kliq/index.ts'), formats: ['iife'], name: 'Kliq', fileName: () => 'kliq.js' },
      },
    });
    bundle = path.join(dir, 'kliq.js');
    server = await startApiServer({ tenants: [{ id: 't_web', apiKey: 'key_web_000000' }] });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('calls the API, raises typed errors, signs and verifies webhook payloads', async () => {
    const source = fs.readFileSync(bundle, 'utf8');
    expect(source).not.toMatch(/require\(["'](node:)?(crypto|http|https|fs|buffer)["']\)/);
    const page = await browser.newPage();
    await page.goto(`${server.url}/v1/health`);
    await page.addScriptTag({ content: source });
    const out = await page.evaluate(async () => {
      const K = (window as unknown as { Kliq: typeof import('../src/kliq') }).Kliq;
      const kliq = new K.KliqClient({ apiKey: 'key_web_000000', baseUrl: `${location.origin}/v1` });
      const t = kliq.forTenant('t_web');
      const loc = await t.locations.create({ name: 'From the browser' });
      const names: string[] = [];
      for await (const l of t.locations.listAll()) names.push(l.name);
      let notFound = '';
      try {
        await t.observations.get('obs_missing');
      } catch (err) {
        notFound = err instanceof K.NotFoundError ? `NotFoundError ${(err as InstanceType<typeof K.KliqError>).statusCode}` : String(err);
      }
      const body = JSON.stringify({ id: 'evt_1', type: 'cv_job.completed' });
      const header = await K.signWebhookPayload(body, 'whsec_browser_secret');
      return {
        id: loc.id,
        names,
        notFound,
        healthy: await kliq.health(),
        verified: await K.verifyWebhookSignature(body, header, 'whsec_browser_secret'),
        forged: await K.verifyWebhookSignature(body + ' ', header, 'whsec_browser_secret'),
      };
    });
    expect(out).toMatchObject({ names: ['From the browser'], notFound: 'NotFoundError 404', healthy: true, verified: true, forged: false });
    expect(out.id).toMatch(/^loc_/);
  });
});
