/**
 * The Electron shell's security rules, as plain functions (the Electron binary cannot be downloaded
 * here): which URLs are the app, and which file an app:// request may read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PHOTO_SCHEME } from '../src/shared/ipc';
import { appFileFor, isAppUrl, PRIVILEGED_SCHEMES, resolveRendererTarget } from '../src/main/electron/security';
import { launchChromium } from './ui-helpers';

const appPath = path.resolve('/opt/KLIQ Audit/resources/app.asar');
const built = resolveRendererTarget({ isPackaged: true, appPath, env: {} });
const dir = path.join(appPath, 'out', 'renderer');

describe('the renderer is loaded from app://kliq, not file://', () => {
  it('a built app loads app://kliq/index.html; dev loads the Vite server only when not packaged', () => {
    expect(built).toMatchObject({ kind: 'app', url: 'app://kliq/index.html', origin: 'app://kliq' });
    const dev = resolveRendererTarget({ isPackaged: false, appPath, env: { ELECTRON_RENDERER_URL: 'http://localhost:5173' } });
    expect(dev).toMatchObject({ kind: 'dev', origin: 'http://localhost:5173' });
    // a packaged app ignores the variable: nobody can point it at a remote page
    expect(resolveRendererTarget({ isPackaged: true, appPath, env: { ELECTRON_RENDERER_URL: 'http://evil.example' } }).kind).toBe('app');
    expect(() => resolveRendererTarget({ isPackaged: false, appPath, env: { ELECTRON_RENDERER_URL: 'file:///etc/passwd' } })).toThrow();
  });

  it.each([
    ['app://kliq/index.html', true],
    ['app://kliq/', true],
    ['app://kliq/index.html#/review', true],
    ['app://other/index.html', false],
    ['file:///opt/KLIQ%20Audit/resources/app.asar/out/renderer/index.html', false],
    ['https://kliq/index.html', false],
    ['app://kliq/assets/x.js', false],
    ['not a url', false],
  ])('isAppUrl(%s) is %s', (url, ok) => {
    expect(isAppUrl(url, built)).toBe(ok);
  });

  it.each([
    ['app://kliq/index.html', path.join(dir, 'index.html')],
    ['app://kliq/', path.join(dir, 'index.html')],
    ['app://kliq/assets/index-abc.js', path.join(dir, 'assets', 'index-abc.js')],
    ['app://kliq/assets/a%20b.css', path.join(dir, 'assets', 'a b.css')],
    // dot segments are collapsed by the URL parser: they end inside the renderer folder, never above it
    ['app://kliq/../../secret', path.join(dir, 'secret')],
    ['app://kliq/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd', path.join(dir, 'etc', 'passwd')],
    ['app://kliq/..%2f..%2fetc%2fpasswd', null],
    ['app://kliq/a%5c..%5c..%5cwin.ini', null],
    ['app://kliq/%00index.html', null],
    ['app://kliq/%E0%A4%A', null],
    ['app://evil/index.html', null],
    ['kliq-photo://obs_1', null],
  ])('appFileFor(%s) → %s', (url, file) => {
    expect(appFileFor(url, built)).toBe(file);
  });
});

/**
 * In the desktop app the page (app://kliq) and its decode worker fetch kliq-photo:// (the small views; a
 * failed photo's status by HEAD). The scheme itself exists only in Electron (not run here), so this checks
 * the two halves that can be checked: the privileges Electron needs for such a fetch, and, in real Chromium,
 * that the page's own CSP lets it connect there.
 */
describe('the desktop page may fetch its photos from kliq-photo:', () => {
  it('the scheme is registered for fetch, cross-origin (Electron refuses a custom scheme otherwise)', () => {
    const photo = PRIVILEGED_SCHEMES.find((s) => s.scheme === PHOTO_SCHEME);
    expect(photo?.privileges).toMatchObject({ standard: true, secure: true, supportFetchAPI: true, corsEnabled: true });
  });

  it("index.html's CSP allows connecting to kliq-photo: and nothing else outside the app (Chromium)", async () => {
    const html = fs.readFileSync(path.join(__dirname, '..', 'src', 'renderer', 'index.html'), 'utf8');
    const csp = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(csp).toBeTruthy();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.route('http://kliq.test/', (r) =>
        r.fulfill({ contentType: 'text/html', body: `<meta http-equiv="Content-Security-Policy" content="${csp}"><p>app</p>` }),
      );
      await page.goto('http://kliq.test/');
      // Chromium has no kliq-photo: handler, so every fetch fails; what counts is whether the CSP refused it
      const refused = await page.evaluate(async (scheme) => {
        const blocked: string[] = [];
        document.addEventListener('securitypolicyviolation', (e) => blocked.push(e.blockedURI));
        for (const url of [`${scheme}://obs_1/small`, `${scheme}://obs_1`, 'https://example.invalid/photo.jpg']) {
          await fetch(url, { method: url.endsWith('small') ? 'GET' : 'HEAD' }).catch(() => null);
        }
        await new Promise((r) => setTimeout(r, 50));
        return blocked;
      }, PHOTO_SCHEME);
      expect(refused).toEqual(['https://example.invalid/photo.jpg']);
    } finally {
      await browser.close();
    }
  });
});
