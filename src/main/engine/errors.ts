/**
 * The engine's errors, in one place. Each carries a stable code from src/shared/errors.ts, which the
 * RPC layer sends on the wire (errorCode below) and the CLI maps to its exit status. Bottom layer:
 * imports nothing of the engine.
 */
import type { ErrorCode } from '../../shared/errors';

export abstract class EngineError extends Error {
  abstract readonly code: ErrorCode;
}

/** A user-facing configuration problem that names what to do next; the CLI exits 2. */
export class ConfigError extends EngineError {
  override name = 'ConfigError';
  readonly code = 'config';
}

/** A path given to import does not exist; the CLI exits 2. */
export class PathNotFoundError extends EngineError {
  override name = 'PathNotFoundError';
  readonly code = 'path-not-found';
}

/** A request names a photo, detection or import that does not exist. */
export class NotFoundError extends EngineError {
  override name = 'NotFoundError';
  readonly code = 'not-found';
}

/** A request that is well-formed but cannot be done (a deleted box, a flag without a reason…). */
export class InvalidRequestError extends EngineError {
  override name = 'InvalidRequestError';
  readonly code = 'bad-request';
}

/** The edit was made on a state that is no longer current (another tab or a re-audit changed it): reload and redo. */
export class ConflictError extends EngineError {
  override name = 'ConflictError';
  readonly code = 'conflict';
}

/** A per-photo problem: that photo fails with this message, the batch goes on. */
export class PhotoError extends EngineError {
  override name = 'PhotoError';
  readonly code = 'photo';
}

/** The database refused a batch of writes (disk full, read-only file, lock): the run stops, completed photos are kept. */
export class DbWriteError extends EngineError {
  override name = 'DbWriteError';
  readonly code = 'db-write';
}

/** The wire code of any error: an engine error's own code, 'failed' for anything unexpected. */
export function errorCode(err: unknown): ErrorCode {
  return err instanceof EngineError ? err.code : 'failed';
}
