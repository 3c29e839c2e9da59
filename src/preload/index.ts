/**
 * Preload (sandboxed, context-isolated): exposes exactly one object, `window.kliq`, whose methods are
 * thin ipcRenderer.invoke calls. No Node APIs, no raw ipcRenderer, no event objects reach the page.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { KLIQ_IPC, type KliqApi } from './api';

const api: KliqApi = {
  getVersion: () => ipcRenderer.invoke(KLIQ_IPC.getVersion) as Promise<string>,
};

contextBridge.exposeInMainWorld('kliq', Object.freeze(api));
