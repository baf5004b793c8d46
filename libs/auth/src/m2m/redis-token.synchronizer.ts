import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import { backoffUntil, decodeFailure, DEFAULT_FAILURE_BACKOFF_MS, encodeFailure } from './failure-backoff.js';
import { FAILED } from './redis-connection.js';
import { RedisNotifications, type Subscription } from './redis-notifications.js';
import type { RedisTokenCache } from './redis-token.cache.js';
import type { CachedToken } from './token-cache.js';
import { isFresh, isUnexpired } from './token-lifetime.js';
import { LocalTokenSynchronizer, type TokenSynchronizer } from './token-synchronizer.js';

// Only the owner deletes its lock (a holder whose lock lapsed must not free its successor's); the
// waiters are told either way, and only now, after the token was stored.
const RELEASE_AND_NOTIFY = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return redis.call('PUBLISH', ARGV[2], 'released')`;

// Takes the lock for a lease; a lock found without any expiry (written by something else, or by a
// bug) is given the lease, so that no lock can stall the fleet for ever.
const ACQUIRE = `if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

// The holder extends its own lease while it is alive and fetching; 0 once the lock is not its own.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** Lease of a fleet lock: a holder that died frees its entry after at most this. */
export const DEFAULT_LOCK_LEASE_MS = 3000;

export interface RedisTokenSynchronizerOptions {
  /** Longest a waiter waits for a live holder: the holder's whole retry sequence. Then it fetches itself. */
  maxWaitMs: number;
  /**
   * Lifetime of a lock unless its holder renews it (every third of it, while fetching). A holder
   * that crashed frees its entry after at most this, and waiters, which re-check at least every half
   * lease, take over. Default 3000 (at most `maxWaitMs`).
   */
  leaseMs?: number;
  /** Time source of the freshness decisions. Default: the system clock. */
  clock?: Clock;
  /** How long a failed fetch answers the fleet's callers of its entry (longer with a `Retry-After`). Default 2000. */
  failureBackoffMs?: number;
}

/**
 * One token request per cache entry for the whole fleet, by a lock in Redis (`SET NX PX`). The holder
 * re-reads the cache (another process may have just stored a token), fetches, stores, then releases
 * the lock and publishes on the entry's channel. A process that finds the lock taken serves its own
 * still-valid token if it has one; otherwise it waits for that message instead of polling.
 *
 * Locks are leases: short (3 s), renewed by a live holder while its fetch runs, so a holder that
 * crashed (or a lock left without expiry, which the first waiter gives one) stalls its entry for a
 * lease at most — waiters re-check every half lease and take the lapsed lock — instead of for the
 * holder's whole retry sequence. A live holder is waited for up to `maxWaitMs`; then the waiter
 * fetches anyway.
 *
 * A failed fetch is shared too: the holder stores the error (its public fields) for the back-off
 * window before releasing, and every process reads it before taking the lock, so while the issuer
 * is down the fleet makes one retry sequence per window instead of one per process and caller.
 *
 * Lost wake-up: the waiter subscribes first and only then re-reads the cache and retries the lock, so
 * a token stored (or a lock released) before the subscription took effect is seen by that re-check,
 * and one stored after it arrives as a message. Without Redis there is no fleet to coordinate with:
 * each process fetches for itself.
 */
export class RedisTokenSynchronizer implements TokenSynchronizer {
  private readonly local = new LocalTokenSynchronizer();
  private readonly clock: Clock;
  private readonly notifications: RedisNotifications;
  private readonly leaseMs: number;

  constructor(
    private readonly cache: RedisTokenCache,
    private readonly options: RedisTokenSynchronizerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.notifications = new RedisNotifications(cache.connection.client);
    this.leaseMs = Math.round(Math.max(30, Math.min(options.leaseMs ?? DEFAULT_LOCK_LEASE_MS, options.maxWaitMs)));
  }

  run(key: string, fetch: () => Promise<CachedToken>, current?: CachedToken): Promise<CachedToken> {
    return this.local.run(key, () => this.acrossFleet(key, fetch, current));
  }

  async close(): Promise<void> {
    await this.notifications.close();
  }

  private async acrossFleet(key: string, fetch: () => Promise<CachedToken>, current?: CachedToken): Promise<CachedToken> {
    // Real time, not the clock: this bounds a wait on a live holder.
    const deadline = Date.now() + this.options.maxWaitMs;
    let subscription: Subscription | undefined;
    try {
      for (;;) {
        if (subscription) {
          const shared = await this.cache.get(key);
          if (shared) return shared;
        }
        const failure = await this.sharedFailure(key);
        if (failure) {
          if (current && isUnexpired(current, this.clock.now())) return current;
          throw failure;
        }
        const release = await this.tryLock(key);
        if (release) return await this.holding(key, fetch, release);
        if (current && isUnexpired(current, this.clock.now())) return current;
        if (!subscription) {
          subscription = await this.notifications.subscribe(this.channel(key));
          if (!subscription) return await fetch();
          continue; // re-check after subscribing: what happened before it sent no message we can hear
        }
        const remainingMs = deadline - Date.now();
        if (remainingMs <= 0) return await fetch();
        // The holder's message, or a re-check within half a lease: a holder that died sends none.
        await subscription.next(Math.min(remainingMs, this.leaseMs / 2));
      }
    } finally {
      await subscription?.close();
    }
  }

  private async holding(key: string, fetch: () => Promise<CachedToken>, release: () => Promise<void>): Promise<CachedToken> {
    try {
      // Another process may have stored a token between the caller's read and this lock.
      const fresh = await this.cache.get(key);
      if (fresh && isFresh(fresh, this.clock.now())) return fresh;
      return await fetch();
    } catch (error) {
      await this.shareFailure(key, error);
      throw error;
    } finally {
      await release();
    }
  }

  /**
   * The lock's release if this process may fetch now; undefined if another process holds it. While
   * held, the lease is renewed every third of it, until release or until the lock is not ours.
   */
  private async tryLock(key: string): Promise<(() => Promise<void>) | undefined> {
    const lockKey = `${this.cache.prefix}lock:${key}`;
    const owner = randomUUID();
    const { connection } = this.cache;
    const acquired = await connection.command((r) => r.eval(ACQUIRE, 1, lockKey, owner, String(this.leaseMs)));
    if (acquired === FAILED) return async () => {}; // Redis unreachable: nothing to release, nobody to tell
    if (acquired !== 1) return undefined;
    const renewal = setInterval(() => {
      void connection
        .command((r) => r.eval(RENEW, 1, lockKey, owner, String(this.leaseMs)))
        .then((renewed) => {
          if (renewed === 0) clearInterval(renewal);
        });
    }, this.leaseMs / 3);
    renewal.unref();
    return async () => {
      clearInterval(renewal);
      await connection.command((r) => r.eval(RELEASE_AND_NOTIFY, 1, lockKey, owner, this.channel(key)));
    };
  }

  private async shareFailure(key: string, error: unknown): Promise<void> {
    const now = this.clock.now();
    const until = backoffUntil(error, now, this.options.failureBackoffMs ?? DEFAULT_FAILURE_BACKOFF_MS);
    if (until <= now) return;
    await this.cache.connection.command((r) => r.set(this.failureKey(key), encodeFailure(error, until), 'PX', until - now));
  }

  private async sharedFailure(key: string): Promise<Error | undefined> {
    const raw = await this.cache.connection.command((r) => r.get(this.failureKey(key)));
    return typeof raw === 'string' ? decodeFailure(raw, this.clock.now()) : undefined;
  }

  private failureKey(key: string): string {
    return `${this.cache.prefix}failed:${key}`;
  }

  private channel(key: string): string {
    return `${this.cache.prefix}renewed:${key}`;
  }
}
