/**
 * The preload's side of the contract. The API itself is `KliqApi` from src/shared/rpc (one contract
 * for every host); the channel names are in src/shared/ipc.ts.
 *
 * This file must stay free of runtime imports: it is read by the sandboxed preload (bundled as
 * CommonJS) and, as types only, by the renderer.
 */
export type { KliqApi } from '../shared/rpc';

/**
 * `window.kliqFiles`, desktop only: the local path of a dropped File. Sandboxed renderers no longer
 * get `File.path` (Electron 32+); `webUtils.getPathForFile` is only available in the preload.
 * Not part of KliqApi: in a browser there is no such thing as a dropped file's path.
 */
export interface KliqFiles {
  pathForFile(file: File): string;
}
