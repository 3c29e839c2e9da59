/**
 * The Electron shell: the main window, its security settings and the app lifecycle.
 * Security checklist (Electron security guide): contextIsolation, sandbox, no nodeIntegration, a single
 * preload, strict CSP (src/renderer/index.html), no window.open, no navigation away from the app page,
 * no <webview>, every permission request denied, IPC senders checked.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  Menu,
  net,
  protocol,
  screen,
  session,
  shell,
  type IpcMainInvokeEvent,
  type WebContents,
} from 'electron';
import { userDataDir } from '../engine/paths';
import { getEngine, registerIpc, secretValues, sendShellCommand, setShellLog } from './ipc';
import { foldersFromArgv } from './argv';
import { RotatingLog, teeConsole } from './log';
import { menuTemplate } from './menu';
import { startAutoUpdate, updatePlan } from './updates';
import { readSettings } from '../engine/settings/file';
import { clampBounds, readWindowState, windowStateFile, WINDOW_DEFAULTS, writeWindowState } from './window-state';
import { APP_SCHEME, appFileFor, isAppUrl, preloadPath, PRIVILEGED_SCHEMES, resolveRendererTarget, type RendererTarget } from './security';

// Custom schemes must be declared before `ready`, once (see PRIVILEGED_SCHEMES). app:// serves the built
// renderer (so 'self' in its CSP is the app alone); kliq-photo:// the photos of the open database.
protocol.registerSchemesAsPrivileged(PRIVILEGED_SCHEMES);

let target: RendererTarget | null = null;
let mainWindow: BrowserWindow | null = null;

function rendererTarget(): RendererTarget {
  target ??= resolveRendererTarget({ isPackaged: app.isPackaged, appPath: app.getAppPath(), env: process.env });
  return target;
}

/** Applied to every WebContents the app ever creates (see `web-contents-created` in startApp). */
function hardenWebContents(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-frame-navigate', (event) => {
    if (!isAppUrl(event.url, rendererTarget())) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isAppUrl(event.url, rendererTarget())) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** IPC is answered only for our main window, its top frame, showing our page. */
export function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const win = mainWindow;
  if (!win || win.isDestroyed() || event.sender !== win.webContents) return false;
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  return isAppUrl(frame.url, rendererTarget());
}

export function createMainWindow(): BrowserWindow {
  // the size and place it had, kept on a display that still exists
  const stateFile = windowStateFile(userDataDir());
  const saved = readWindowState(stateFile);
  const primary = screen.getPrimaryDisplay();
  const areas = [primary, ...screen.getAllDisplays().filter((d) => d.id !== primary.id)].map((d) => d.workArea);
  const bounds = clampBounds(saved, areas);
  const win = new BrowserWindow({
    ...bounds,
    minWidth: WINDOW_DEFAULTS.minWidth,
    minHeight: WINDOW_DEFAULTS.minHeight,
    title: 'KLIQ Audit',
    show: false,
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath(app.getAppPath()),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  if (saved?.maximized) win.maximize();
  win.on('close', () => {
    try {
      writeWindowState(stateFile, { ...win.getNormalBounds(), maximized: win.isMaximized() });
    } catch (err) {
      console.warn('cannot keep the window state:', err);
    }
  });
  mainWindow = win;
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });

  const t = rendererTarget();
  const loading = win.loadURL(t.url);
  loading.catch((err: unknown) => console.error(`KLIQ Audit: cannot load the window (${t.url}):`, err));
  return win;
}

/** Deny every permission (camera, notifications, geolocation…): the review UI needs none. */
function hardenDefaultSession(): void {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
}

/** Imports folders (a folder picker, a second launch, the first launch's command line) and shows the Import screen. */
async function importPaths(paths: string[]): Promise<void> {
  if (!paths.length) return;
  const e = await getEngine();
  if (!e) return;
  const r = await e.handle('startImport', { paths });
  if (!r.ok) dialog.showErrorBox('Cannot import', r.error.message);
  sendShellCommand('show-import');
}

async function pickFolders(title: string, multi: boolean): Promise<string[]> {
  const opts = { title, properties: ['openDirectory', ...(multi ? (['multiSelections'] as const) : [])] } as Electron.OpenDialogOptions;
  const r = mainWindow ? await dialog.showOpenDialog(mainWindow, opts) : await dialog.showOpenDialog(opts);
  return r.canceled ? [] : r.filePaths;
}

function installMenu(logDir: string): void {
  const template = menuTemplate(
    {
      importFolder: () => void pickFolders('Import photo folders', true).then(importPaths),
      watchFolder: () =>
        void pickFolders('Watch a folder: new photos put in it are audited', false).then(async ([folder]) => {
          if (!folder) return;
          const r = await (await getEngine())?.handle('addImportFolder', { path: folder });
          if (r && !r.ok) dialog.showErrorBox('Cannot watch this folder', r.error.message);
          sendShellCommand('show-import');
        }),
      exportData: () => sendShellCommand('show-export'),
      openSettings: () => sendShellCommand('show-settings'),
      showShortcuts: () => sendShellCommand('show-shortcuts'),
      openLogsFolder: () => void shell.openPath(logDir),
      about: () =>
        void dialog.showMessageBox({
          type: 'info',
          title: 'About KLIQ Audit',
          message: `KLIQ Audit ${app.getVersion()}`,
          detail: [
            `Electron ${process.versions.electron}, Chromium ${process.versions.chrome}, Node ${process.versions.node}`,
            `Data: ${userDataDir()}`,
            `Logs: ${logDir}`,
          ].join('\n'),
        }),
      quit: () => app.quit(),
    },
    process.platform,
    { dev: !app.isPackaged },
  );
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

/** Boots the desktop app. Called once from src/main/index.ts, before `ready`. */
export function startApp(): void {
  // Sandbox every renderer, whatever its webPreferences say.
  app.enableSandbox();

  // One instance: a second launch hands its folders (argv, from its working directory) to this one and ends.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', (_event, argv, workingDirectory) => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
    void importPaths(foldersFromArgv(argv, workingDirectory, { isPackaged: app.isPackaged, appPath: app.getAppPath() }));
  });

  // the log: <userData>/logs/kliq-audit.log, rotated, secrets redacted
  const logDir = path.join(userDataDir(), 'logs');
  const log = new RotatingLog(logDir, { secrets: secretValues });
  teeConsole(log);
  setShellLog(log);
  log.info(`KLIQ Audit ${app.getVersion()} starting (Electron ${process.versions.electron}, ${process.platform}-${process.arch})`);

  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  app
    .whenReady()
    .then(() => {
      hardenDefaultSession();
      // the built renderer, file by file from out/renderer: nothing outside it, nothing but app://kliq
      protocol.handle(APP_SCHEME, (request) => {
        const file = appFileFor(request.url, rendererTarget());
        return file ? net.fetch(pathToFileURL(file).href) : new Response('not found', { status: 404 });
      });
      registerIpc(isTrustedSender, rendererTarget().origin);
      installMenu(logDir);
      const win = createMainWindow();
      // folders given on the first launch's command line
      const first = foldersFromArgv(process.argv, process.cwd(), { isPackaged: app.isPackaged, appPath: app.getAppPath() });
      if (first.length) win.webContents.once('did-finish-load', () => void importPaths(first));
      // auto-update: only when the settings say so (off by default), in a packaged build with an update feed
      const autoUpdate = readSettings(userDataDir()).settings.autoUpdate;
      void startAutoUpdate(
        updatePlan({ autoUpdate, isPackaged: app.isPackaged, resourcesPath: process.resourcesPath, env: process.env }),
        log,
      );
      app.on('activate', () => {
        if (BrowserWindow.getAllWindows().length === 0) createMainWindow();
      });
    })
    .catch((err: unknown) => {
      console.error('KLIQ Audit failed to start:', err);
      app.exit(1);
    });
}
