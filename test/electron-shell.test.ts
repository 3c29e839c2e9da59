// The desktop shell's logic, as plain functions run under Node (the Electron binary cannot run here):
// folders from a second launch's argv, the window bounds clamped to a visible display, the menus, the
// rotating log with secrets redacted, the watched-batch notification, the bounded shutdown.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { foldersFromArgv } from '../src/main/electron/argv';
import { clampBounds, readWindowState, windowStateFile, writeWindowState, type Rect } from '../src/main/electron/window-state';
import { menuTemplate, type MenuActions } from '../src/main/electron/menu';
import { redact, RotatingLog } from '../src/main/electron/log';
import { watchBatchNotification } from '../src/main/electron/notify';
import { boundedShutdown } from '../src/main/electron/shutdown';
import type { AuditReport } from '../src/shared/domain';
import { tmpDir } from './tmp';

describe('second-launch argv → folders', () => {
  test('real folders and photos, relative to the launching directory; flags, the exe, the app path, URLs and other files skipped', () => {
    const root = tmpDir();
    const visits = path.join(root, 'visits');
    fs.mkdirSync(path.join(visits, 'store 12'), { recursive: true });
    fs.writeFileSync(path.join(visits, 'shelf.JPG'), 'x');
    fs.writeFileSync(path.join(visits, 'notes.txt'), 'x');
    const argv = [
      '/opt/KLIQ Audit/kliq-audit',
      '--enable-features=Foo',
      '--allow-file-access-from-files',
      'store 12',
      './store 12', // the same folder again
      'shelf.JPG',
      'notes.txt',
      'missing-folder',
      'kliq://open',
      '--',
      '-dash-named-folder-is-skipped-unless-after-dashes',
    ];
    fs.mkdirSync(path.join(visits, '-dash-named-folder-is-skipped-unless-after-dashes'));
    expect(foldersFromArgv(argv, visits, { isPackaged: true })).toEqual([
      path.join(visits, 'store 12'),
      path.join(visits, 'shelf.JPG'),
      path.join(visits, '-dash-named-folder-is-skipped-unless-after-dashes'),
    ]);
  });

  test('in development (`electron .`) the app path is not a folder to import', () => {
    const app = tmpDir();
    const photos = tmpDir();
    expect(foldersFromArgv(['/usr/bin/electron', app, photos], '/', { isPackaged: false, appPath: app })).toEqual([photos]);
    expect(foldersFromArgv(['/usr/bin/electron', '.', app, photos], app, { isPackaged: false, appPath: app })).toEqual([photos]);
  });

  test('absolute paths ignore the working directory', () => {
    const photos = tmpDir();
    expect(foldersFromArgv(['exe', photos], '/somewhere/else', { isPackaged: true })).toEqual([photos]);
  });
});

describe('window bounds clamped to a visible display', () => {
  const laptop: Rect = { x: 0, y: 0, width: 1920, height: 1040 };
  const rightMonitor: Rect = { x: 1920, y: 0, width: 2560, height: 1400 };

  test('nothing saved: the default size centred on the primary display', () => {
    expect(clampBounds(null, [laptop])).toEqual({ x: 320, y: 120, width: 1280, height: 800 });
  });

  test('saved on a display that is still there: kept as it was', () => {
    const saved = { x: 2100, y: 100, width: 1600, height: 1000 };
    expect(clampBounds(saved, [laptop, rightMonitor])).toEqual(saved);
  });

  test('saved on a monitor since unplugged: same size, centred on the primary', () => {
    expect(clampBounds({ x: 2100, y: 100, width: 1600, height: 1000 }, [laptop])).toEqual({ x: 160, y: 20, width: 1600, height: 1000 });
  });

  test('larger than the display now (a lower resolution): shrunk to fit it', () => {
    const small: Rect = { x: 0, y: 0, width: 1280, height: 720 };
    expect(clampBounds({ x: 10, y: 10, width: 1920, height: 1040 }, [small])).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
  });

  test('title bar above the top of every display: brought back (it could not be dragged)', () => {
    const r = clampBounds({ x: 100, y: -500, width: 1000, height: 700 }, [laptop]);
    expect(r).toEqual({ x: 460, y: 170, width: 1000, height: 700 });
  });

  test('hanging off the right edge of its display: moved back inside it', () => {
    expect(clampBounds({ x: 1800, y: 50, width: 1000, height: 700 }, [laptop])).toEqual({ x: 920, y: 50, width: 1000, height: 700 });
  });

  test('a display with a negative origin (left of the primary) counts', () => {
    const left: Rect = { x: -1600, y: 0, width: 1600, height: 900 };
    const saved = { x: -1500, y: 50, width: 1200, height: 800 };
    expect(clampBounds(saved, [laptop, left])).toEqual(saved);
  });

  test('the state file: written and read back; a damaged one reads as nothing saved', () => {
    const dir = tmpDir();
    const file = windowStateFile(dir);
    expect(readWindowState(file)).toBeNull();
    writeWindowState(file, { x: 5, y: 6, width: 900, height: 700, maximized: true });
    expect(readWindowState(file)).toEqual({ x: 5, y: 6, width: 900, height: 700, maximized: true });
    fs.writeFileSync(file, '{"x":');
    expect(readWindowState(file)).toBeNull();
  });
});

describe('menus', () => {
  const calls: string[] = [];
  const actions = new Proxy({} as MenuActions, { get: (_t, name) => () => calls.push(String(name)) });
  type Item = { id?: string; label?: string; role?: string; submenu?: Item[]; click?: () => void; accelerator?: string };
  const find = (items: Item[], id: string): Item | undefined => {
    for (const i of items) {
      if (i.id === id) return i;
      const sub = i.submenu && find(i.submenu, id);
      if (sub) return sub;
    }
    return undefined;
  };

  test.each(['linux', 'win32', 'darwin'] as const)('%s: File, View and Help have every item, each wired to its action', (platform) => {
    calls.length = 0;
    const t = menuTemplate(actions, platform) as Item[];
    const labels = t.map((m) => m.label);
    expect(labels).toEqual(
      platform === 'darwin' ? ['KLIQ Audit', '&File', '&Edit', '&View', '&Help'] : ['&File', '&Edit', '&View', '&Help'],
    );
    const file = t.find((m) => m.label === '&File')!.submenu!;
    expect(file.filter((i) => i.label).map((i) => i.label)).toEqual(
      platform === 'darwin'
        ? ['Import Folder…', 'Watch Folder…', 'Export…', 'Close Window']
        : ['Import Folder…', 'Watch Folder…', 'Export…', 'Settings…', 'Quit'],
    );
    const help = t.find((m) => m.label === '&Help')!.submenu!;
    expect(help.filter((i) => i.label).map((i) => i.label)).toEqual(
      platform === 'darwin' ? ['Keyboard Shortcuts', 'Open Logs Folder'] : ['Keyboard Shortcuts', 'Open Logs Folder', 'About KLIQ Audit'],
    );
    for (const [id, action] of [
      ['import-folder', 'importFolder'],
      ['watch-folder', 'watchFolder'],
      ['export', 'exportData'],
      ['settings', 'openSettings'],
      ['shortcuts', 'showShortcuts'],
      ['logs', 'openLogsFolder'],
      ['about', 'about'],
    ]) {
      calls.length = 0;
      find(t, id)!.click!();
      expect(calls).toEqual([action]);
    }
    const view = t.find((m) => m.label === '&View')!.submenu!;
    expect(view.map((i) => i.role).filter(Boolean)).toEqual(['resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen']);
  });

  test('developer items (reload, devtools) only when not packaged', () => {
    const dev = menuTemplate(actions, 'linux', { dev: true }) as Item[];
    const roles = dev.find((m) => m.label === '&View')!.submenu!.map((i) => i.role);
    expect(roles).toContain('toggleDevTools');
    const packaged = menuTemplate(actions, 'linux') as Item[];
    expect(packaged.find((m) => m.label === '&View')!.submenu!.map((i) => i.role)).not.toContain('toggleDevTools');
  });
});

describe('log', () => {
  test('redaction: known secret values, Authorization headers, secret-named fields, JWTs', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLXN0dWZm';
    const line = [
      'POST /v1/auth/token {"email":"jane@a.test","password":"pw-alpha"}',
      'Authorization: Bearer key_alpha_0123456789',
      `tokens ${jwt}`,
      'client_secret=\'s3cr3t-value\' apiKey=key_beta_987 refreshToken: "rt-1"',
      'the key my_custom_secret_value leaked into a message',
      'GET /v1/tenants/t_alpha/locations?limit=1&token=abc123',
    ].join('\n');
    const out = redact(line, ['my_custom_secret_value', null, '']);
    for (const secret of [
      'pw-alpha',
      'key_alpha_0123456789',
      jwt,
      's3cr3t-value',
      'key_beta_987',
      'rt-1',
      'my_custom_secret_value',
      'abc123',
    ])
      expect(out).not.toContain(secret);
    // what is not secret stays readable
    expect(out).toContain('"email":"jane@a.test"');
    expect(out).toContain('GET /v1/tenants/t_alpha/locations?limit=1&token=[redacted]');
    expect(out).toContain('Authorization: Bearer [redacted]');
    expect(out).toContain('"password":"[redacted]"');
  });

  test('the rotating file: lines redacted, rotated by size, at most `keep` old files', () => {
    const dir = tmpDir();
    const log = new RotatingLog(dir, { maxBytes: 200, keep: 2, secrets: () => ['key_alpha_0123456789'], now: () => new Date(0) });
    for (let i = 0; i < 12; i++) log.info(`line ${i} with key_alpha_0123456789`);
    const files = fs.readdirSync(dir).sort();
    expect(files).toEqual(['kliq-audit.log', 'kliq-audit.log.1', 'kliq-audit.log.2']);
    const all = files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('');
    expect(all).not.toContain('key_alpha_0123456789');
    for (const f of files) expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(200);
    // the newest lines are in the current file, the oldest beyond `keep` are gone
    expect(fs.readFileSync(path.join(dir, 'kliq-audit.log'), 'utf8')).toContain('line 11 with [redacted]');
    expect(all).not.toContain('line 0 ');
    expect(fs.readFileSync(path.join(dir, 'kliq-audit.log'), 'utf8')).toMatch(/^1970-01-01T00:00:00\.000Z INFO {2}line \d+/);
  });

  test('a log reopened continues the same file and size', () => {
    const dir = tmpDir();
    new RotatingLog(dir, { maxBytes: 1000 }).error('first', { code: 7 });
    new RotatingLog(dir, { maxBytes: 1000 }).warn('second');
    const text = fs.readFileSync(path.join(dir, 'kliq-audit.log'), 'utf8');
    expect(text).toMatch(/ERROR first \{ code: 7 \}\n.*WARN {2}second\n$/);
  });
});

describe('watched batch notification', () => {
  const report = (counts: Partial<AuditReport['counts']>, cancelled = false) =>
    ({ counts: { total: 5, completed: 5, failed: 0, cached: 0, cancelled: 0, ...counts }, cancelled }) as AuditReport;

  test('a watched folder batch that finished: counted, named by its folder', () => {
    expect(watchBatchNotification({ type: 'watch', folder: '/data/visits/store 12', event: { type: 'done', report: report({}) } })).toEqual(
      {
        title: 'KLIQ Audit: store 12',
        body: '5 photos audited. Open the Queue to review them.',
      },
    );
    expect(
      watchBatchNotification({
        type: 'watch',
        folder: '/d/x',
        event: { type: 'done', report: report({ completed: 1, failed: 2, cached: 3 }) },
      }),
    ).toEqual({ title: 'KLIQ Audit: x', body: '1 photo audited, 3 already audited, 2 failed. Open the Queue to review them.' });
  });

  test('nothing for imports started by hand, progress events, cancelled or empty batches', () => {
    expect(watchBatchNotification({ type: 'import', event: { type: 'done', report: report({}) } })).toBeNull();
    expect(
      watchBatchNotification({
        type: 'watch',
        folder: '/d/x',
        event: { type: 'progress', done: 1, total: 2, failed: 0, photosPerSecond: 1, etaSeconds: 1 },
      }),
    ).toBeNull();
    expect(watchBatchNotification({ type: 'watch', folder: '/d/x', event: { type: 'done', report: report({}, true) } })).toBeNull();
    expect(watchBatchNotification({ type: 'watch', folder: '/d/x', event: { type: 'done', report: report({ total: 0 }) } })).toBeNull();
  });
});

describe('bounded shutdown', () => {
  test('waits for every step; reports failures', async () => {
    const order: string[] = [];
    const r = await boundedShutdown(
      [
        { name: 'writes', run: async () => void order.push('writes') },
        {
          name: 'sync',
          run: async () => {
            throw new Error('socket closed');
          },
        },
      ],
      60_000,
    );
    expect(r).toEqual({ done: ['writes'], failed: [{ name: 'sync', error: 'socket closed' }], timedOut: [] });
  });

  test('a step that never ends does not hold the quit: it is named at the deadline', async () => {
    const r = await boundedShutdown(
      [
        { name: 'writes', run: () => Promise.resolve() },
        { name: 'sync', run: () => new Promise<void>(() => undefined) },
      ],
      50,
    );
    expect(r).toEqual({ done: ['writes'], failed: [], timedOut: ['sync'] });
  });
});

describe('auto-update plan (electron-updater is not run here: no Electron binary)', () => {
  test('checks only when the setting is on, in a packaged build with an update feed, unless KLIQ_NO_UPDATE=1', async () => {
    const { updatePlan } = await import('../src/main/electron/updates');
    const dir = tmpDir();
    const base = { autoUpdate: true, isPackaged: true, resourcesPath: dir, env: {} };
    expect(updatePlan({ ...base, autoUpdate: false })).toEqual({ check: false, reason: 'auto-update is off (Settings → Updates)' });
    expect(updatePlan({ ...base, isPackaged: false }).check).toBe(false);
    expect(updatePlan(base)).toEqual({ check: false, reason: 'this build has no update feed (built without a publish target)' });
    fs.writeFileSync(path.join(dir, 'app-update.yml'), 'provider: generic\nurl: https://updates.example.test/kliq\n');
    expect(updatePlan(base)).toEqual({ check: true, reason: 'checking for updates' });
    expect(updatePlan({ ...base, env: { KLIQ_NO_UPDATE: '1' } }).check).toBe(false);
  });
});
