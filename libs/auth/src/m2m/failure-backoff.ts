import {
  InvalidTokenResponseError,
  M2MError,
  TokenEndpointError,
  TokenEndpointTimeoutError,
  TokenEndpointUnreachableError,
} from './m2m.errors.js';

/** Default back-off after a failed token request. */
export const DEFAULT_FAILURE_BACKOFF_MS = 2000;
/** Longest back-off, whatever `Retry-After` says: past it one caller asks again (and learns the new `Retry-After`). */
export const MAX_FAILURE_BACKOFF_MS = 60_000;

const UNTIL = Symbol('nest_m2m:backoff_until');

/**
 * Until when a failed token request (a retryable one: network error, timeout, 5xx, 429) answers every caller of its cache entry without asking the
 * issuer again: the back-off, or the issuer's `Retry-After` (RFC 9110 §10.2.3) when longer, at most
 * `MAX_FAILURE_BACKOFF_MS`. A failure shared by another replica keeps that replica's deadline, so an
 * error is never served longer than one window.
 */
export function backoffUntil(error: unknown, now: number, backoffMs: number): number {
  // An OAuth answer such as invalid_client or access_denied is final and costs one request, not a
  // retry sequence; it is not remembered, so a fixed configuration works at the next call.
  if (!(error instanceof M2MError) || !error.retryable) return now;
  const shared = (error as { [UNTIL]?: number } | null)?.[UNTIL];
  if (typeof shared === 'number') return Math.min(shared, now + MAX_FAILURE_BACKOFF_MS);
  const retryAfterMs = error instanceof TokenEndpointError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : 0;
  return now + Math.min(Math.max(backoffMs, retryAfterMs), MAX_FAILURE_BACKOFF_MS);
}

/** A failure as replicas share it through Redis: the error's public fields, never a secret or a token (none are in them). */
export function encodeFailure(error: unknown, until: number): string {
  const e = (error ?? {}) as {
    code?: string;
    message?: string;
    status?: number;
    error?: string;
    error_description?: string;
    retryAfterSeconds?: number;
    timeoutMs?: number;
  };
  return JSON.stringify({
    until,
    code: e.code,
    message: e.message,
    status: e.status,
    error: e.error,
    error_description: e.error_description,
    retryAfterSeconds: e.retryAfterSeconds,
    timeoutMs: e.timeoutMs,
  });
}

/** The error another replica stored, rebuilt as its class; undefined if unreadable or over. */
export function decodeFailure(raw: string, now: number): M2MError | undefined {
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof f !== 'object' || f === null || typeof f.until !== 'number' || f.until <= now) return undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  let error: M2MError;
  switch (f.code) {
    case 'ERR_M2M_TOKEN_ENDPOINT':
      error = new TokenEndpointError(
        num(f.status) ?? 503,
        text(f.error) ?? 'server_error',
        text(f.error_description),
        num(f.retryAfterSeconds),
      );
      break;
    case 'ERR_M2M_TOKEN_ENDPOINT_TIMEOUT':
      error = new TokenEndpointTimeoutError(num(f.timeoutMs) ?? 0);
      break;
    case 'ERR_M2M_INVALID_TOKEN_RESPONSE':
      error = new InvalidTokenResponseError(text(f.message) ?? 'Invalid token response');
      break;
    default:
      error = new TokenEndpointUnreachableError(
        `${(text(f.message) ?? 'failed').replace(/^Token endpoint unreachable: /, '')} (reported by another replica)`,
      );
  }
  Object.defineProperty(error, UNTIL, { value: Math.min(f.until, now + MAX_FAILURE_BACKOFF_MS) });
  return error;
}
