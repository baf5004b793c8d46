import type { Clock } from '../clock.js';
import type { CachedToken, TokenCache } from './token-cache.js';
import { isFresh } from './token-lifetime.js';

/** A cache entry and the request that fills it. */
export interface TokenTarget {
  key: string;
  audience: string;
  /** Sorted, de-duplicated. */
  scopes: string[];
  /** A DPoP-bound token (RFC 9449) for this client's DPoP key. */
  dpop?: boolean;
}

/** Renews `target`'s token; `current` is what the cache holds now, if anything. */
export type RenewToken = (target: TokenTarget, current: CachedToken | undefined) => Promise<CachedToken>;

/**
 * Refresh-ahead (`backgroundRefresh`): one timer per cache entry renews its token when the clock
 * reaches the token's refresh point, so that no caller waits on the issuer. Timers run on real time
 * and never keep the process alive. A renewal that fails is rescheduled by whoever renewed (the
 * service, which knows whether a stale token is still being served).
 */
export class TokenRefresher {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly cache: TokenCache,
    private readonly clock: Clock,
    private readonly renew: RenewToken,
  ) {}

  /** Renews `target` once the clock reads `at` (epoch ms), replacing the entry's earlier schedule. */
  schedule(target: TokenTarget, at: number): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(target.key));
    const timer = setTimeout(
      () => {
        this.timers.delete(target.key);
        void this.refresh(target);
      },
      Math.max(0, at - this.clock.now()),
    );
    timer.unref();
    this.timers.set(target.key, timer);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private async refresh(target: TokenTarget): Promise<void> {
    // No `closed` test here: close() clears every timer and schedule() refuses new ones once closed.
    try {
      const cached = await this.cache.get(target.key);
      if (cached && isFresh(cached, this.clock.now())) {
        // Another replica renewed it: follow that token's schedule instead of asking again.
        this.schedule(target, cached.refreshAt);
        return;
      }
      await this.renew(target, cached);
    } catch {
      // Logged, counted and rescheduled by the renewal itself.
    }
  }
}
