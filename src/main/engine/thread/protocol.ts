/** Messages between a host's thread and the engine thread (./entry.ts). Structured-clone data only. */
import type { EngineEvent, RpcResponse } from '../../../shared/rpc';
import type { ProviderChoice } from '../../../shared/domain';
import type { SecretName } from '../../../shared/settings';
import type { SecretStoreStatus } from '../settings/secrets';
import type { RenditionKind } from '../thumbs';

export interface ThreadInit {
  dbFile: string;
  user?: string;
  provider?: ProviderChoice;
  settingsDir: string;
  host: 'desktop' | 'serve';
  secretStatus: SecretStoreStatus;
}

/** host → engine thread */
export type ToThread =
  | { type: 'call'; id: number; method: string; params: unknown }
  | { type: 'photo'; id: number; observationId: string; head: boolean }
  /** A thumbnail: answered like a photo (photo-head, photo-chunk, photo-end, or photo-refused). */
  | { type: 'thumb'; id: number; observationId: string; kind?: RenditionKind }
  | { type: 'secret-reply'; id: number; value: string | null; status: SecretStoreStatus; error?: string }
  | { type: 'close'; timeoutMs: number };

/** engine thread → host */
export type FromThread =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'response'; id: number; response: RpcResponse }
  | { type: 'events'; events: EngineEvent[] }
  | { type: 'photo-head'; id: number; mimeType: string; size: number }
  | { type: 'photo-chunk'; id: number; chunk: ArrayBuffer }
  | { type: 'photo-end'; id: number; error?: string }
  | { type: 'photo-refused'; id: number; status: number; message: string }
  | {
      type: 'secret';
      id: number;
      op: 'get' | 'set' | 'delete' | 'flush';
      name?: SecretName;
      value?: string;
      /** The settings' consent to weak storage (Linux without a keyring), for the host's store. */
      allowWeak: boolean;
    }
  /** The thread's console output, for the host's log. */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; text: string }
  | { type: 'closed' };
