import { HttpException, HttpStatus } from '@nestjs/common';
import { quote } from './auth-param.js';

/**
 * Why a request was refused: a stable `code` on every BearerError (jose's `ERR_*` style, like the
 * outgoing side's `ERR_M2M_*`), so logs, metrics and callers can branch without `instanceof` or
 * parsing descriptions. The RFC 6750 error code (`oauthError`) is coarser: most codes are
 * `invalid_token`.
 *
 * | code                            | class                  | status | RFC 6750 error       | when                                                              |
 * |---------------------------------|------------------------|--------|----------------------|-------------------------------------------------------------------|
 * | `ERR_AUTH_TOKEN_MISSING`        | MissingTokenError      | 401    | (none, §3)           | no `Authorization: Bearer` credentials                            |
 * | `ERR_AUTH_INVALID_REQUEST`      | InvalidRequestError    | 400    | `invalid_request`    | several Authorization headers, a token in query or body, not one b64token |
 * | `ERR_AUTH_TOKEN_MALFORMED`      | InvalidTokenError      | 401    | `invalid_token`      | not a compact JWS, undecodable header or payload, too long        |
 * | `ERR_AUTH_TOKEN_EXPIRED`        | InvalidTokenError      | 401    | `invalid_token`      | `exp` passed (beyond the clock tolerance)                         |
 * | `ERR_AUTH_TOKEN_NOT_YET_VALID`  | InvalidTokenError      | 401    | `invalid_token`      | `nbf` in the future                                               |
 * | `ERR_AUTH_AUDIENCE_INVALID`     | InvalidTokenError      | 401    | `invalid_token`      | no `aud` value equals a configured audience                       |
 * | `ERR_AUTH_ISSUER_INVALID`       | InvalidTokenError      | 401    | `invalid_token`      | `iss` is not the configured issuer                                |
 * | `ERR_AUTH_SIGNATURE_INVALID`    | InvalidTokenError      | 401    | `invalid_token`      | the signature does not verify with the key                        |
 * | `ERR_AUTH_ALGORITHM_UNEXPECTED` | InvalidTokenError      | 401    | `invalid_token`      | `alg` not accepted, or not the algorithm of the key (RFC 8725 §3.1) |
 * | `ERR_AUTH_KEY_UNKNOWN`          | InvalidTokenError      | 401    | `invalid_token`      | a JWKS fetched after the token was issued has no key for its `kid` |
 * | `ERR_AUTH_HEADER_INVALID`       | InvalidTokenError      | 401    | `invalid_token`      | `crit`, key-carrying parameters (`jku`, `jwk`, `x5u`, `x5c`), bad `kid` |
 * | `ERR_AUTH_CLAIMS_INVALID`       | InvalidTokenError      | 401    | `invalid_token`      | no `exp`, odd `iat`/`sub`, RFC 9068 claims missing                |
 * | `ERR_AUTH_TOKEN_TYPE_INVALID`   | InvalidTokenError      | 401    | `invalid_token`      | `typ` is not `at+jwt` (`strictRfc9068`)                           |
 * | `ERR_AUTH_NOT_M2M`              | InvalidTokenError      | 401    | `invalid_token`      | not a client-credentials token (`m2mOnly`)                        |
 * | `ERR_AUTH_CLIENT_NOT_ALLOWED`   | InvalidTokenError      | 401    | `invalid_token`      | client id not in `allowedClientIds`                               |
 * | `ERR_AUTH_INSUFFICIENT_SCOPE`   | InsufficientScopeError | 403    | `insufficient_scope` | a scope the route requires is missing                             |
 * | `ERR_AUTH_KEYS_UNAVAILABLE`     | KeysUnavailableError   | 503    | (none)               | no signing key obtainable (JWKS down, timing out or unusable)     |
 * | `ERR_AUTH_DPOP_REQUIRED`        | InvalidTokenError      | 401    | `invalid_token`      | a Bearer token where DPoP is `required` (RFC 9449 §7.1)           |
 * | `ERR_AUTH_DPOP_BINDING_INVALID` | InvalidTokenError      | 401    | `invalid_token`      | a DPoP-bound token sent as Bearer, an unbound one as DPoP, or `cnf.jkt` not the proof key's thumbprint |
 * | `ERR_AUTH_DPOP_PROOF_INVALID`   | InvalidDpopProofError  | 401    | `invalid_dpop_proof` | the `DPoP` proof fails a check of RFC 9449 §4.3, or is replayed   |
 * | `ERR_AUTH_DPOP_NONCE_REQUIRED`  | UseDpopNonceError      | 401    | `use_dpop_nonce`     | server nonces are on and the proof's `nonce` is missing or stale (§9) |
 * | `ERR_AUTH_DPOP_REPLAY_STORE_UNAVAILABLE` | DpopReplayStoreUnavailableError | 503 | (none)  | DPoP `required` and the shared replay store (Redis) does not answer |
 */
export type BearerErrorCode =
  | 'ERR_AUTH_TOKEN_MISSING'
  | 'ERR_AUTH_INVALID_REQUEST'
  | InvalidTokenCode
  | 'ERR_AUTH_INSUFFICIENT_SCOPE'
  | 'ERR_AUTH_KEYS_UNAVAILABLE'
  | 'ERR_AUTH_DPOP_PROOF_INVALID'
  | 'ERR_AUTH_DPOP_NONCE_REQUIRED'
  | 'ERR_AUTH_DPOP_REPLAY_STORE_UNAVAILABLE';

/** The codes of `InvalidTokenError` (RFC 6750 §3.1 `invalid_token`). */
export type InvalidTokenCode =
  | 'ERR_AUTH_TOKEN_MALFORMED'
  | 'ERR_AUTH_TOKEN_EXPIRED'
  | 'ERR_AUTH_TOKEN_NOT_YET_VALID'
  | 'ERR_AUTH_AUDIENCE_INVALID'
  | 'ERR_AUTH_ISSUER_INVALID'
  | 'ERR_AUTH_SIGNATURE_INVALID'
  | 'ERR_AUTH_ALGORITHM_UNEXPECTED'
  | 'ERR_AUTH_KEY_UNKNOWN'
  | 'ERR_AUTH_HEADER_INVALID'
  | 'ERR_AUTH_CLAIMS_INVALID'
  | 'ERR_AUTH_TOKEN_TYPE_INVALID'
  | 'ERR_AUTH_NOT_M2M'
  | 'ERR_AUTH_CLIENT_NOT_ALLOWED'
  | 'ERR_AUTH_DPOP_REQUIRED'
  | 'ERR_AUTH_DPOP_BINDING_INVALID';

/** Base of every answer the AuthModule gives to a refused request; the filter turns it into headers and a body. */
export abstract class BearerError extends HttpException {
  /** Stable code, see the table above. */
  abstract readonly code: BearerErrorCode;
  /** RFC 6750 §3.1 error code, or undefined when the request carried no credentials (§3). */
  abstract readonly oauthError?: string;
  readonly errorDescription?: string;

  protected constructor(status: number, error: string, message: string, description?: string) {
    super({ statusCode: status, error, message }, status);
    this.errorDescription = description;
  }

  /** RFC 6750 §3: the `WWW-Authenticate` challenge for this error. */
  challenge(realm: string): string {
    return `Bearer ${[`realm=${quote(realm)}`, ...this.authParams()].join(', ')}`;
  }

  /** The challenge's auth-params after the realm (`error`, `error_description`, …), quoted; shared by the DPoP challenge. */
  authParams(): string[] {
    const params: string[] = [];
    if (this.oauthError) params.push(`error=${quote(this.oauthError)}`);
    if (this.errorDescription) params.push(`error_description=${quote(this.errorDescription)}`);
    params.push(...this.extraParams());
    return params;
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
  readonly code = 'ERR_AUTH_TOKEN_MISSING' as const;
  readonly oauthError = undefined;
  constructor() {
    super(HttpStatus.UNAUTHORIZED, 'Unauthorized', 'Missing bearer token');
  }
}

/** RFC 6750 §3.1 `invalid_request`: malformed request, e.g. a token sent by more than one method (§2). */
export class InvalidRequestError extends BearerError {
  readonly code = 'ERR_AUTH_INVALID_REQUEST' as const;
  readonly oauthError = 'invalid_request';
  constructor(description: string) {
    super(HttpStatus.BAD_REQUEST, 'Bad Request', description, description);
  }
}

/** RFC 6750 §3.1 `invalid_token`: expired, revoked, malformed or otherwise invalid access token. */
export class InvalidTokenError extends BearerError {
  readonly oauthError = 'invalid_token';
  constructor(
    readonly code: InvalidTokenCode,
    description: string,
  ) {
    super(HttpStatus.UNAUTHORIZED, 'Unauthorized', description, description);
  }
}

/** RFC 6750 §3.1 `insufficient_scope`: the `scope` attribute lists the scopes the resource needs. */
export class InsufficientScopeError extends BearerError {
  readonly code = 'ERR_AUTH_INSUFFICIENT_SCOPE' as const;
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
  readonly code = 'ERR_AUTH_KEYS_UNAVAILABLE' as const;
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
