import { createHash } from 'node:crypto';

/** A token as cached: times are epoch milliseconds. */
export interface CachedToken {
  accessToken: string;
  tokenType: string;
  scope?: string;
  /** The token's real end of life: the earlier of `expires_in` and the JWT's `exp`. */
  expiresAt: number;
  /** From here on the token is renewed (refresh buffer, with jitter). */
  refreshAt: number;
}

/**
 * Where tokens are kept between calls (`M2M_TOKEN_CACHE`). Implementations: `MemoryTokenCache`,
 * `RedisTokenCache`, or your own through the `cache` option. Who fetches is not the cache's business
 * (see `TokenSynchronizer`).
 */
export interface TokenCache {
  /** A token that has not expired, or undefined. */
  get(key: string): Promise<CachedToken | undefined>;
  /** Stores until `expiresAt`. */
  set(key: string, token: CachedToken): Promise<void>;
  /** Deletes the entry; with `accessToken`, only if the entry still holds that token (so a stale 401 cannot evict a new token). */
  delete(key: string, accessToken?: string): Promise<void>;
  close(): Promise<void>;
}

export interface CacheKeyParts {
  tokenEndpoint: string;
  clientId: string;
  audience: string;
  /** Sorted, de-duplicated. */
  scopes: readonly string[];
  /** Thumbprint of the DPoP key a DPoP-bound token is bound to: its entry is not a Bearer token's, nor another key's. */
  dpopJkt?: string;
}

/** SHA-256 of the tuple: the key identifies the entry without revealing client or audience. */
export function cacheKey(parts: CacheKeyParts): string {
  return createHash('sha256')
    .update(JSON.stringify([parts.tokenEndpoint, parts.clientId, parts.audience, parts.scopes, ...(parts.dpopJkt ? [parts.dpopJkt] : [])]))
    .digest('hex');
}

export function isCachedToken(value: unknown): value is CachedToken {
  const v = value as Partial<CachedToken> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.accessToken === 'string' &&
    typeof v.tokenType === 'string' &&
    typeof v.expiresAt === 'number' &&
    typeof v.refreshAt === 'number'
  );
}
