/**
 * The native menus as a plain template (Electron's MenuItemConstructorOptions shape), built from the
 * actions the shell provides: tested in test/electron-shell.test.ts without Electron, turned into a
 * Menu by Menu.buildFromTemplate in app.ts.
 * File: Import folder…, Watch folder…, Export…, Settings…, Quit; Edit (for text fields); View; Help:
 * Keyboard shortcuts, Open logs folder, About.
 */
import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  importFolder(): void;
  watchFolder(): void;
  exportData(): void;
  openSettings(): void;
  showShortcuts(): void;
  openLogsFolder(): void;
  about(): void;
  quit(): void;
}

export function menuTemplate(a: MenuActions, platform: NodeJS.Platform, opts: { dev?: boolean } = {}): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  const file: MenuItemConstructorOptions = {
    label: '&File',
    submenu: [
      { id: 'import-folder', label: 'Import Folder…', accelerator: 'CmdOrCtrl+O', click: () => a.importFolder() },
      { id: 'watch-folder', label: 'Watch Folder…', accelerator: 'CmdOrCtrl+Shift+O', click: () => a.watchFolder() },
      { id: 'export', label: 'Export…', accelerator: 'CmdOrCtrl+E', click: () => a.exportData() },
      { type: 'separator' },
      ...(mac ? [] : [{ id: 'settings', label: 'Settings…', accelerator: 'CmdOrCtrl+,', click: () => a.openSettings() }]),
      ...(mac ? [] : [{ type: 'separator' as const }]),
      { id: 'quit', label: mac ? 'Close Window' : 'Quit', accelerator: mac ? 'Cmd+W' : 'Ctrl+Q', click: () => a.quit() },
    ],
  };
  const edit: MenuItemConstructorOptions = {
    label: '&Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'selectAll' },
    ],
  };
  const view: MenuItemConstructorOptions = {
    label: '&View',
    submenu: [
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
      ...(opts.dev ? [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }] : []),
    ],
  };
  const help: MenuItemConstructorOptions = {
    label: '&Help',
    role: 'help',
    submenu: [
      { id: 'shortcuts', label: 'Keyboard Shortcuts', accelerator: 'F1', click: () => a.showShortcuts() },
      { id: 'logs', label: 'Open Logs Folder', click: () => a.openLogsFolder() },
      ...(mac ? [] : [{ type: 'separator' as const }, { id: 'about', label: 'About KLIQ Audit', click: () => a.about() }]),
    ],
  };
  const appMenu: MenuItemConstructorOptions = {
    label: 'KLIQ Audit',
    submenu: [
      { id: 'about', label: 'About KLIQ Audit', click: () => a.about() },
      { type: 'separator' },
      { id: 'settings', label: 'Settings…', accelerator: 'Cmd+,', click: () => a.openSettings() },
      { type: 'separator' },
      { role: 'hide' },
      { role: 'hideOthers' },
      { role: 'unhide' },
      { type: 'separator' },
      { id: 'quit-app', label: 'Quit KLIQ Audit', accelerator: 'Cmd+Q', click: () => a.quit() },
    ],
  };
  return mac ? [appMenu, file, edit, view, help] : [file, edit, view, help];
}
