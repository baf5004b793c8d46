import { decodeJwt } from 'jose';
import type { TokenEndpointResponse } from './token-endpoint.client.js';
import type { CachedToken } from './token-cache.js';

/** Lifetime assumed when the issuer sends no `expires_in` (RFC 6749 §5.1 makes it optional): short, never forever. */
export const DEFAULT_LIFETIME_SECONDS = 300;

/**
 * When a fresh token expires and when to renew it. Expiry is the earlier of `expires_in` and the
 * JWT's `exp` (decoded, not verified: we are the token's bearer, not its audience). An `exp` that is
 * not in the future says our clock is ahead of the issuer's; `expires_in` is relative and immune to
 * that skew, so it wins then. The refresh buffer is capped at half the lifetime so short-lived tokens
 * are still reused, and jittered (up to +20 %) so replicas do not renew in lockstep.
 */
export function toCachedToken(response: TokenEndpointResponse, refreshBufferMs: number, now: number): CachedToken {
  let expiresAt = now + (response.expiresIn ?? DEFAULT_LIFETIME_SECONDS) * 1000;
  const exp = jwtExpiry(response.accessToken);
  if (exp !== undefined && exp > now && exp < expiresAt) expiresAt = exp;
  const buffer = Math.min(refreshBufferMs, (expiresAt - now) / 2) * (1 + Math.random() * 0.2);
  return {
    accessToken: response.accessToken,
    tokenType: response.tokenType,
    ...(response.scope !== undefined ? { scope: response.scope } : {}),
    expiresAt,
    refreshAt: Math.floor(expiresAt - buffer),
  };
}

/** Not yet past its real end of life: the only test for serving a token at all. */
export function isUnexpired(token: CachedToken, now: number): boolean {
  return now < token.expiresAt;
}

/** Not yet due for renewal: served without asking anyone (a fresh token is also unexpired). */
export function isFresh(token: CachedToken, now: number): boolean {
  return now < token.refreshAt && now < token.expiresAt;
}

/** The JWT's `exp` in epoch ms; undefined for opaque tokens (decodeJwt throws on anything but a three-part JWT). */
function jwtExpiry(token: string): number | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
