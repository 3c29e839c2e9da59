/**
 * The Electron IPC channels and the photo protocol: every name the main process and the preload share
 * is listed here, so the shell never imports from the preload. No runtime imports: the sandboxed
 * preload bundles it as CommonJS.
 */
export const KLIQ_IPC = {
  /** invoke(method, params) → RpcResponse (src/shared/rpc). */
  call: 'kliq:call',
  /** main → renderer: EngineEvent[] batches. */
  events: 'kliq:events',
} as const;

export type KliqChannel = (typeof KLIQ_IPC)[keyof typeof KLIQ_IPC];

/** Custom protocol serving a photo's original file: `kliq-photo://<observationId>`; its thumbnail: `kliq-photo://<observationId>/thumb`. */
export const PHOTO_SCHEME = 'kliq-photo';
