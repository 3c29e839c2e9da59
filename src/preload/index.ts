/**
 * Preload (sandboxed, context-isolated): exposes `window.kliq`, exactly the KliqApi of
 * src/shared/rpc, over IPC. No Node APIs, no raw ipcRenderer, no event objects reach the page.
 * Results are validated by the renderer (the same zod schemas as every other transport) so the
 * preload stays free of runtime dependencies.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { EngineEvent, RpcResponse } from '../shared/rpc';
import { KLIQ_IPC, PHOTO_SCHEME } from '../shared/ipc';
import { RpcError } from '../shared/errors';
import type { KliqApi, KliqFiles } from './api';

const api: KliqApi = {
  async call(method, params) {
    const res = (await ipcRenderer.invoke(KLIQ_IPC.call, method, params)) as RpcResponse;
    if (!res.ok) throw new RpcError(res.error.code, res.error.message);
    return res.result as never;
  },
  onEvents(listener) {
    // only the payload crosses into the page, never the IpcRendererEvent
    const wrapped = (_event: IpcRendererEvent, events: EngineEvent[]) => listener(events);
    ipcRenderer.on(KLIQ_IPC.events, wrapped);
    return () => {
      ipcRenderer.removeListener(KLIQ_IPC.events, wrapped);
    };
  },
  photoUrl: (observationId) => `${PHOTO_SCHEME}://${encodeURIComponent(observationId)}`,
  thumbUrl: (observationId) => `${PHOTO_SCHEME}://${encodeURIComponent(observationId)}/thumb`,
  viewUrl: (observationId) => `${PHOTO_SCHEME}://${encodeURIComponent(observationId)}/view`,
  smallViewUrl: (observationId) => `${PHOTO_SCHEME}://${encodeURIComponent(observationId)}/small`,
};

const files: KliqFiles = {
  pathForFile: (file) => webUtils.getPathForFile(file),
};

contextBridge.exposeInMainWorld('kliq', Object.freeze(api));
contextBridge.exposeInMainWorld('kliqFiles', Object.freeze(files));
