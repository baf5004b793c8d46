import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { AuthPrincipal } from './principal.js';

interface Entry {
  principal: AuthPrincipal;
  kid: string | undefined;
  /** Epoch ms after which the entry must not be used (the token's `exp`). */
  expiresAt: number;
}

/**
 * Results of successful verifications, keyed by a SHA-256 of the token so that memory holds no
 * bearer token. Only successes enter, so an attacker cannot evict good entries without holding
 * valid tokens; each entry lives no longer than its token's `exp` (clock tolerance is not granted
 * to cached entries) and goes as soon as its signing key leaves the JWKS.
 */
export class VerifiedTokenCache {
  private readonly cache?: LRUCache<string, Entry>;

  constructor(
    maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    if (maxEntries > 0) this.cache = new LRUCache<string, Entry>({ max: maxEntries });
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  get(token: string): AuthPrincipal | undefined {
    if (!this.cache) return undefined;
    const key = hash(token);
    const entry = this.cache.get(key);
    if (!entry) return undefined;
    if (this.now() >= entry.expiresAt) {
      this.cache.delete(key);
      return undefined;
    }
    return entry.principal;
  }

  set(token: string, principal: AuthPrincipal, kid: string | undefined, expSeconds: number): void {
    if (!this.cache) return;
    const expiresAt = expSeconds * 1000;
    if (expiresAt <= this.now()) return;
    this.cache.set(hash(token), { principal, kid, expiresAt });
  }

  /** Drops every entry verified with one of these keys (they left the issuer's JWKS). */
  dropKids(kids: ReadonlyArray<string | undefined>): void {
    if (!this.cache) return;
    const gone = new Set(kids);
    for (const [key, entry] of this.cache.entries()) if (gone.has(entry.kid)) this.cache.delete(key);
  }

  clear(): void {
    this.cache?.clear();
  }
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
