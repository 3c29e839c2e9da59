/**
 * The preload's API contract: what `window.kliq` offers the renderer and the IPC channels behind it.
 *
 * Placeholder for the first shell: a single method. The full RPC contract moves to src/shared/ in a later
 * issue; until then this file must stay free of runtime imports (it is read by the main process, the
 * preload and, as a type only, the renderer).
 */

/** IPC channel names; every channel handled by the main process is listed here. */
export const KLIQ_IPC = {
  getVersion: 'kliq:get-version',
} as const;

export type KliqChannel = (typeof KLIQ_IPC)[keyof typeof KLIQ_IPC];

/** `window.kliq`: the only API the renderer gets. */
export interface KliqApi {
  /** The app version (package.json "version"). */
  getVersion(): Promise<string>;
}
