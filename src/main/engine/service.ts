/** A long-lived service of the engine host (imports today; the watcher and sync next): started once, stopped before the database closes. */
export interface EngineService {
  start(): void;
  /** Finishes or cancels work in flight within `timeoutMs`; resolves in any case. */
  stop(timeoutMs: number): Promise<void>;
}
