import type { CachedToken } from './token-cache.js';

/**
 * Who asks the issuer, when many callers need the same token at once (Duende's token request
 * synchronisation). Behind this one interface: in-process single flight (`LocalTokenSynchronizer`)
 * and, with the cache in Redis, one request per fleet (`RedisTokenSynchronizer`).
 */
export interface TokenSynchronizer {
  /**
   * Runs `fetch` (which asks the issuer and stores the token) for the cache entry `key`, unless a
   * renewal of that entry is under way already, here or in another process: then resolves with that
   * renewal's token instead. `current` is the caller's still-valid token, if any, which a process
   * waiting for another one may serve rather than wait. The in-process synchroniser keeps no
   * failure (the service remembers it for its back-off); the Redis one shares a transient failure
   * with the fleet for that window.
   */
  run(key: string, fetch: () => Promise<CachedToken>, current?: CachedToken): Promise<CachedToken>;
  close(): Promise<void>;
}

/** In-process single flight: concurrent callers share one pending renewal per entry. */
export class LocalTokenSynchronizer implements TokenSynchronizer {
  private readonly inflight = new Map<string, Promise<CachedToken>>();

  run(key: string, fetch: () => Promise<CachedToken>): Promise<CachedToken> {
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = fetch().finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  async close(): Promise<void> {}
}
