/**
 * The preload's side of the contract: the IPC channels behind `window.kliq` and the photo protocol.
 * The API itself is `KliqApi` from src/shared/rpc.ts (one contract for every host).
 *
 * This file must stay free of runtime imports: it is read by the main process, the sandboxed preload
 * (bundled as CommonJS) and, as types only, the renderer.
 */
export type { KliqApi } from '../shared/rpc';

/** IPC channel names; every channel between the main process and the preload is listed here. */
export const KLIQ_IPC = {
  /** invoke(method, params) → RpcResponse (src/shared/rpc.ts). */
  call: 'kliq:call',
  /** main → renderer: EngineEvent[] batches. */
  events: 'kliq:events',
} as const;

export type KliqChannel = (typeof KLIQ_IPC)[keyof typeof KLIQ_IPC];

/** Custom protocol serving a photo's original file: `kliq-photo://<observationId>`. */
export const PHOTO_SCHEME = 'kliq-photo';

/**
 * `window.kliqFiles`, desktop only: the local path of a dropped File. Sandboxed renderers no longer
 * get `File.path` (Electron 32+); `webUtils.getPathForFile` is only available in the preload.
 * Not part of KliqApi: in a browser there is no such thing as a dropped file's path.
 */
export interface KliqFiles {
  pathForFile(file: File): string;
}
