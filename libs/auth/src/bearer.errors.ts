import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * Why a request was refused. Stable codes (like jose's `ERR_*`) so logs, metrics and callers can
 * branch on them without `instanceof`.
 */
export type RejectionReason =
  | 'missing_token'
  | 'invalid_request'
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'audience'
  | 'issuer'
  | 'signature'
  | 'algorithm'
  | 'kid_unknown'
  | 'header'
  | 'claims'
  | 'token_type'
  | 'not_m2m'
  | 'client_not_allowed'
  | 'jwks_unavailable'
  | 'insufficient_scope';

/** Quotes a value for an RFC 6750 §3 auth-param: backslash and quote escaped, control characters removed. */
function quote(value: string): string {
  return `"${value.replace(/[\u0000-\u001f\u007f]/g, '').replace(/(["\\])/g, '\\$1')}"`;
}

/** Base of every answer the AuthModule gives to a refused request; the filter turns it into headers and a body. */
export abstract class BearerError extends HttpException {
  abstract readonly reason: RejectionReason;
  /** RFC 6750 §3.1 error code, or undefined when the request carried no credentials (§3). */
  abstract readonly oauthError?: string;
  readonly errorDescription?: string;

  protected constructor(status: number, error: string, message: string, description?: string) {
    super({ statusCode: status, error, message }, status);
    this.errorDescription = description;
  }

  /** RFC 6750 §3: the `WWW-Authenticate` challenge for this error. */
  challenge(realm: string): string {
    const params = [`realm=${quote(realm)}`];
    if (this.oauthError) params.push(`error=${quote(this.oauthError)}`);
    if (this.errorDescription) params.push(`error_description=${quote(this.errorDescription)}`);
    params.push(...this.extraParams());
    return `Bearer ${params.join(', ')}`;
  }

  protected extraParams(): string[] {
    return [];
  }

  /** Extra response headers (e.g. Retry-After). */
  headers(): Record<string, string> {
    return {};
  }
}

/** RFC 6750 §3: a request with no credentials gets a challenge without an error code. */
export class MissingTokenError extends BearerError {
  readonly reason = 'missing_token' as const;
  readonly oauthError = undefined;
  constructor() {
    super(HttpStatus.UNAUTHORIZED, 'Unauthorized', 'Missing bearer token');
  }
}

/** RFC 6750 §3.1 `invalid_request`: malformed request, e.g. a token sent by more than one method (§2). */
export class InvalidRequestError extends BearerError {
  readonly reason = 'invalid_request' as const;
  readonly oauthError = 'invalid_request';
  constructor(description: string) {
    super(HttpStatus.BAD_REQUEST, 'Bad Request', description, description);
  }
}

/** RFC 6750 §3.1 `invalid_token`: expired, revoked, malformed or otherwise invalid access token. */
export class InvalidTokenError extends BearerError {
  readonly oauthError = 'invalid_token';
  constructor(
    readonly reason: Exclude<RejectionReason, 'missing_token' | 'invalid_request' | 'insufficient_scope' | 'jwks_unavailable'>,
    description: string,
  ) {
    super(HttpStatus.UNAUTHORIZED, 'Unauthorized', description, description);
  }
}

/** RFC 6750 §3.1 `insufficient_scope`: the `scope` attribute lists the scopes the resource needs. */
export class InsufficientScopeError extends BearerError {
  readonly reason = 'insufficient_scope' as const;
  readonly oauthError = 'insufficient_scope';
  constructor(readonly requiredScopes: readonly string[]) {
    super(HttpStatus.FORBIDDEN, 'Forbidden', 'Insufficient scope', 'Insufficient scope');
  }

  protected override extraParams(): string[] {
    return [`scope=${quote(this.requiredScopes.join(' '))}`];
  }
}

/**
 * The signing keys cannot be obtained (JWKS endpoint down or timing out, no cached key fits).
 * A 503 with Retry-After rather than a 401: a 401 makes M2M callers throw away good tokens and buy
 * new ones (Auth0 bills them), while the fault is ours, not theirs.
 */
export class KeysUnavailableError extends BearerError {
  readonly reason = 'jwks_unavailable' as const;
  readonly oauthError = undefined;
  constructor(readonly retryAfterSeconds: number) {
    super(HttpStatus.SERVICE_UNAVAILABLE, 'Service Unavailable', 'Signing keys are temporarily unavailable');
  }

  override challenge(realm: string): string {
    return `Bearer realm=${quote(realm)}`;
  }

  override headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfterSeconds) };
  }
}
