/**
 * Typed errors of the KLIQ API client, one per status class of seed 000 (KliqError and its subclasses).
 */
import type { ErrorBody } from './wire';

export class KliqError extends Error {
  override name = 'KliqError';
  constructor(
    message: string,
    /** HTTP status; 0 when no response arrived (transport error, client-side timeout). */
    readonly statusCode: number,
    readonly requestId: string | null = null,
    /** The API's error code ('validation_error', 'not_found', …) when it sent one. */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}
/** 401: missing, invalid or expired credentials. */
export class AuthenticationError extends KliqError {
  override name = 'AuthenticationError';
}
/** 403: valid credentials that may not do this (another tenant's resources). */
export class ForbiddenError extends KliqError {
  override name = 'ForbiddenError';
}
/** 404. */
export class NotFoundError extends KliqError {
  override name = 'NotFoundError';
}
/** 409: a conflict (a labels edit from an older version, an Idempotency-Key whose first request is still running). */
export class ConflictError extends KliqError {
  override name = 'ConflictError';
}
/** 429, raised once the automatic retries are used up; `retryAfterSeconds` from the Retry-After header. */
export class RateLimitError extends KliqError {
  override name = 'RateLimitError';
  retryAfterSeconds: number | null = null;
}
/** 400 (and 413, 415, 422): invalid input; `fields` maps a field path to its messages. */
export class ValidationError extends KliqError {
  override name = 'ValidationError';
  fields: Record<string, string[]> = {};
}
/** 5xx, raised once the retries (GETs and requests with an Idempotency-Key) are used up, or at once for others. */
export class ServerError extends KliqError {
  override name = 'ServerError';
}
/** No response: connection refused or dropped, DNS, or the per-request timeout; raised after the retries. */
export class KliqConnectionError extends KliqError {
  override name = 'KliqConnectionError';
}
/** `cv.waitForCompletion` ran out of time; `job` is the last state seen. */
export class KliqTimeoutError extends KliqError {
  override name = 'KliqTimeoutError';
}

/** The typed error for an HTTP error response. */
export function errorFromResponse(status: number, body: ErrorBody | null, requestId: string | null, retryAfter: number | null): KliqError {
  const message = body?.error.message ?? `HTTP ${status}`;
  const rid = body?.error.requestId ?? requestId;
  const code = body?.error.code ?? null;
  if (status === 400 || status === 413 || status === 415 || status === 422) {
    const err = new ValidationError(message, status, rid, code);
    err.fields = body?.error.fields ?? {};
    return err;
  }
  if (status === 401) return new AuthenticationError(message, status, rid, code);
  if (status === 403) return new ForbiddenError(message, status, rid, code);
  if (status === 404) return new NotFoundError(message, status, rid, code);
  if (status === 409) return new ConflictError(message, status, rid, code);
  if (status === 429) {
    const err = new RateLimitError(message, status, rid, code);
    err.retryAfterSeconds = retryAfter ?? body?.error.retryAfter ?? null;
    return err;
  }
  if (status >= 500) return new ServerError(message, status, rid, code);
  return new KliqError(message, status, rid, code);
}
