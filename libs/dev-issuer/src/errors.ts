/**
 * An OAuth error response (RFC 6749 §5.2): JSON `{ error, error_description }` with its status.
 * Auth0 uses the same body shape, including for its own codes (`access_denied`, `too_many_requests`).
 */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
    this.name = 'OAuthError';
  }

  body(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/** RFC 6749 §5.2: a 401 answering Basic credentials carries a matching challenge. */
export const BASIC_CHALLENGE: Readonly<Record<string, string>> = { 'WWW-Authenticate': 'Basic realm="dev-issuer"' };

/** RFC 6749 §5.2 `invalid_request`: missing, repeated or malformed parameters. */
export const invalidRequest = (description: string) => new OAuthError(400, 'invalid_request', description);

/**
 * RFC 6749 §5.2 `invalid_client`. When the client tried Basic, the 401 must carry a matching
 * `WWW-Authenticate` challenge (same section).
 */
export const invalidClient = (description: string, usedBasic = false) =>
  new OAuthError(401, 'invalid_client', description, usedBasic ? BASIC_CHALLENGE : {});


/** Auth0's `access_denied` (403 for audience/grant problems, 401 "Unauthorized" for a wrong secret). */
export const accessDenied = (status: 401 | 403, description: string, headers: Record<string, string> = {}) =>
  new OAuthError(status, 'access_denied', description, headers);
