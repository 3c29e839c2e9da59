/**
 * The stable error codes of the contract, listed once. The engine's errors (src/main/engine/errors.ts)
 * each carry one; the RPC layer sends it on the wire; every client (preload, WebSocket transport,
 * renderer) raises the one `RpcError` below with it. Codes are part of the contract: add, never rename.
 */
export const ERROR_CODES = {
  'bad-request': 'the call breaks the contract, or asks for something that cannot be done',
  'not-found': 'no such photo, detection or import',
  config: 'a setting, model or database cannot be used as given (the message says what to change)',
  'path-not-found': 'a file or folder to import does not exist on the machine running the engine',
  photo: 'one photo cannot be audited (unreadable, corrupt, too large)',
  'db-write': 'the database refused a write (disk full, read-only, locked)',
  conflict: 'the photo changed since it was shown (another tab, another auditor, a re-audit): reload it',
  failed: 'an unexpected failure in the engine (a bug: the message has the details)',
  // raised by clients, never sent by the engine
  disconnected: 'the connection to the engine was lost before it answered',
  'no-token': 'the page has no access token',
  'bad-response': "the engine's answer does not match the contract",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** What a client raises when a call fails, whatever the transport. */
export class RpcError extends Error {
  override name = 'RpcError';
  readonly code: ErrorCode;

  constructor(code: string, message: string) {
    super(message);
    this.code = isErrorCode(code) ? code : 'failed';
  }
}
