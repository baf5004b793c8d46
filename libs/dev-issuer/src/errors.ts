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
    /** RFC 6749 §5.2 `error_uri`: a page about the error. */
    readonly uri?: string,
  ) {
    super(description);
    this.name = 'OAuthError';
  }

  body(): { error: string; error_description: string; error_uri?: string } {
    return { error: this.error, error_description: this.description, ...(this.uri ? { error_uri: this.uri } : {}) };
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

/** Auth0's answer to a client whose `grant_types` lack the requested grant, with its `error_uri`. */
export const unauthorizedClient = (grantType: string) =>
  new OAuthError(
    403,
    'unauthorized_client',
    `Grant type '${grantType}' not allowed for the client.`,
    {},
    'https://auth0.com/docs/clients/client-grant-types',
  );

/** Auth0's `access_denied` (403 for audience/grant problems, 401 "Unauthorized" for a wrong secret). */
export const accessDenied = (status: 401 | 403, description: string, headers: Record<string, string> = {}) =>
  new OAuthError(status, 'access_denied', description, headers);
