/**
 * The Electron shell: the main window, its security settings and the app lifecycle.
 * Security checklist (Electron security guide): contextIsolation, sandbox, no nodeIntegration, a single
 * preload, strict CSP (src/renderer/index.html), no window.open, no navigation away from the app page,
 * no <webview>, every permission request denied, IPC senders checked.
 */
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, net, protocol, session, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { PHOTO_SCHEME } from '../../shared/ipc';
import { registerIpc } from './ipc';
import { APP_SCHEME, appFileFor, isAppUrl, preloadPath, resolveRendererTarget, type RendererTarget } from './security';

// Custom schemes must be declared before `ready`, once. standard: parsed like http; secure: not mixed
// content. app:// serves the built renderer (so 'self' in its CSP is the app alone); kliq-photo:// the
// photos of the open database.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: PHOTO_SCHEME, privileges: { standard: true, secure: true, stream: true } },
]);

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
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 800,
    minHeight: 600,
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

/** Boots the desktop app. Called once from src/main/index.ts, before `ready`. */
export function startApp(): void {
  // Sandbox every renderer, whatever its webPreferences say.
  app.enableSandbox();

  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });

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
      registerIpc(isTrustedSender);
      createMainWindow();
      app.on('activate', () => {
        if (BrowserWindow.getAllWindows().length === 0) createMainWindow();
      });
    })
    .catch((err: unknown) => {
      console.error('KLIQ Audit failed to start:', err);
      app.exit(1);
    });
}
