/**
 * An access token's claims (RFC 7519, RFC 9068, and Auth0's `azp`, `gty`, `permissions`). Values
 * come from the token as signed: rely on the listed types only after validation (the guard has
 * checked `iss`, `aud`, `exp`, `nbf`, `iat`, `sub`), and treat any other claim as `unknown`.
 */
export interface TokenClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  azp?: string;
  client_id?: string;
  scope?: string;
  permissions?: string[];
  gty?: string;
  [claim: string]: unknown;
}

/** The caller, as handed to handlers by `@Principal()`. */
export interface AuthPrincipal {
  /** From `azp`, `client_id`, or `sub` without Auth0's `@clients` suffix. */
  clientId: string | undefined;
  subject: string | undefined;
  /** Union of the space-separated `scope` claim and Auth0's `permissions` array. */
  scopes: ReadonlySet<string>;
  claims: Readonly<TokenClaims>;
}

const AUTH0_CLIENT_SUFFIX = '@clients';

/** Scopes from whatever shapes the claims have: non-strings are ignored, never thrown on. */
export function scopesOf(claims: Record<string, unknown>): Set<string> {
  const scopes = new Set<string>();
  if (typeof claims.scope === 'string') {
    for (const s of claims.scope.split(' ')) if (s) scopes.add(s);
  }
  if (Array.isArray(claims.permissions)) {
    for (const p of claims.permissions) if (typeof p === 'string' && p) scopes.add(p);
  }
  return scopes;
}

export function clientIdOf(claims: Record<string, unknown>): string | undefined {
  if (typeof claims.azp === 'string') return claims.azp;
  if (typeof claims.client_id === 'string') return claims.client_id;
  if (typeof claims.sub === 'string') {
    return claims.sub.endsWith(AUTH0_CLIENT_SUFFIX) ? claims.sub.slice(0, -AUTH0_CLIENT_SUFFIX.length) : claims.sub;
  }
  return undefined;
}

export function toPrincipal(claims: TokenClaims): AuthPrincipal {
  return {
    clientId: clientIdOf(claims),
    subject: typeof claims.sub === 'string' ? claims.sub : undefined,
    scopes: scopesOf(claims),
    claims: Object.freeze(claims),
  };
}

export function isAuth0ClientSubject(sub: unknown): boolean {
  return typeof sub === 'string' && sub.endsWith(AUTH0_CLIENT_SUFFIX) && sub.length > AUTH0_CLIENT_SUFFIX.length;
}
