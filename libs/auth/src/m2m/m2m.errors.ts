import { SECURE_URL_RULE } from '../secure-url.js';

/**
 * Errors of the outgoing (M2M) side. Each carries a stable `code` (jose's style) so callers can
 * branch without `instanceof`, and `retryable` so the retry policy reads one flag. None of them ever
 * holds the client secret, the client assertion or an access token: messages are built from the
 * issuer's `error`/`error_description` and our own words only.
 */
export abstract class M2MError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/**
 * The token endpoint answered with an error (RFC 6749 §5.2 body when it sent one). 5xx and 429 are
 * retryable; other 4xx (`invalid_client`, `access_denied`, `invalid_scope`…) are final.
 */
export class TokenEndpointError extends M2MError {
  override readonly name = 'TokenEndpointError';
  readonly code = 'ERR_M2M_TOKEN_ENDPOINT';
  readonly retryable: boolean;

  constructor(
    readonly status: number,
    readonly error: string,
    readonly error_description?: string,
    /** From `Retry-After` (RFC 9110 §10.2.3), in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`Token endpoint answered ${status} ${error}${error_description ? `: ${error_description}` : ''}`);
    this.retryable = status >= 500 || status === 429;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      status: this.status,
      error: this.error,
      error_description: this.error_description,
      retryAfterSeconds: this.retryAfterSeconds,
    };
  }
}

/** No answer within `requestTimeoutMs`. */
export class TokenEndpointTimeoutError extends M2MError {
  override readonly name = 'TokenEndpointTimeoutError';
  readonly code = 'ERR_M2M_TOKEN_ENDPOINT_TIMEOUT';
  readonly retryable = true;

  constructor(readonly timeoutMs: number) {
    super(`Token endpoint did not answer within ${timeoutMs} ms`);
  }
}

/** Connection refused, reset, DNS failure… */
export class TokenEndpointUnreachableError extends M2MError {
  override readonly name = 'TokenEndpointUnreachableError';
  readonly code = 'ERR_M2M_TOKEN_ENDPOINT_UNREACHABLE';
  readonly retryable = true;

  constructor(reason: string) {
    super(`Token endpoint unreachable: ${reason}`);
  }
}

/**
 * The token endpoint (typically a discovered or `resolveTokenEndpoint` one) is plain http to another
 * host: the client secret or assertion would cross the network readable. Final: retrying cannot help.
 */
export class InsecureTokenEndpointError extends M2MError {
  override readonly name = 'InsecureTokenEndpointError';
  readonly code = 'ERR_M2M_INSECURE_TOKEN_ENDPOINT';
  readonly retryable = false;

  constructor(endpoint: string) {
    super(`Token endpoint ${endpoint} refused: the URL ${SECURE_URL_RULE}`);
  }
}

/**
 * The token endpoint's answer (success or error) passed the size limit while it streamed; it was cut
 * off there, so a hostile or broken issuer cannot make the service buffer it. Final: the same
 * endpoint would answer the same way.
 */
export class TokenResponseTooLargeError extends M2MError {
  override readonly name = 'TokenResponseTooLargeError';
  readonly code = 'ERR_M2M_TOKEN_RESPONSE_TOO_LARGE';
  readonly retryable = false;

  constructor(readonly maxBytes: number) {
    super(`Token endpoint answered a body over ${maxBytes} bytes`);
  }
}

/** A 2xx answer that is not a usable token response (RFC 6749 §5.1). */
export class InvalidTokenResponseError extends M2MError {
  override readonly name = 'InvalidTokenResponseError';
  readonly code = 'ERR_M2M_INVALID_TOKEN_RESPONSE';
  readonly retryable = false;
}

/** A sibling client was asked to send its token to another origin. */
export class SiblingOriginError extends M2MError {
  override readonly name = 'SiblingOriginError';
  readonly code = 'ERR_M2M_FOREIGN_ORIGIN';
  readonly retryable = false;

  constructor(sibling: string, expectedOrigin: string, actualOrigin: string) {
    super(
      `Sibling client '${sibling}' only sends requests to ${expectedOrigin}; refused a request to ${actualOrigin} (its token must not leave that origin)`,
    );
  }
}

/** A sibling client was asked for a path outside its base URL's path (`../admin`, `%2e%2e/`, an encoded separator). */
export class SiblingPathError extends M2MError {
  override readonly name = 'SiblingPathError';
  readonly code = 'ERR_M2M_OUTSIDE_BASE_PATH';
  readonly retryable = false;

  constructor(sibling: string, base: string, actual: string) {
    super(
      `Sibling client '${sibling}' only sends requests under ${base}; refused a request to ${actual} (its token must not reach other APIs of that host)`,
    );
  }
}

/** The options need an optional peer dependency that is not installed: a start-up error, with the fix in its message. */
export class MissingPeerDependencyError extends M2MError {
  override readonly name = 'MissingPeerDependencyError';
  readonly code = 'ERR_M2M_MISSING_PEER_DEPENDENCY';
  readonly retryable = false;

  constructor(
    readonly dependency: string,
    neededFor: string,
  ) {
    super(`${neededFor} but the optional peer dependency '${dependency}' is not installed: npm install ${dependency}`);
  }
}
