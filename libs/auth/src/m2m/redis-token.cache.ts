import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { systemClock, type Clock } from '../clock.js';
import type { CacheEncryption } from './cache-encryption.js';
import { DEFAULT_CACHE_KEY_PREFIX } from './m2m.constants.js';
import { MemoryTokenCache } from './memory-token.cache.js';
import { isCachedToken, type CachedToken, type TokenCache, type TokenCacheLock } from './token-cache.js';
import { isUnexpired } from './token-lifetime.js';

export interface RedisTokenCacheOptions {
  url: string;
  keyPrefix?: string;
  encryption?: CacheEncryption;
  /** How long the first command waits for the first connection. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** Per-command timeout: a dead Redis must fail fast, not hold a request. Default 500 ms. */
  commandTimeoutMs?: number;
  /** Time source of expiry decisions. Default: the system clock. */
  clock?: Clock;
}

// Compare-and-delete: only the owner releases a lock; only the holder of the rejected token evicts it.
const DELETE_IF_EQUAL = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * A cache shared by every replica. Each write also goes to an in-process copy, which serves while
 * Redis is unreachable: an outage costs at most extra token requests, never failed calls, and is
 * logged once when it starts and once when it ends.
 */
export class RedisTokenCache implements TokenCache {
  readonly redis: Redis;
  private readonly logger = new Logger('M2MRedisTokenCache');
  private readonly fallback: MemoryTokenCache;
  private readonly clock: Clock;
  private readonly prefix: string;
  private readonly firstConnection: Promise<void>;
  private degraded = false;

  constructor(private readonly options: RedisTokenCacheOptions) {
    this.prefix = options.keyPrefix ?? DEFAULT_CACHE_KEY_PREFIX;
    this.clock = options.clock ?? systemClock;
    this.fallback = new MemoryTokenCache({ clock: this.clock });
    this.redis = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: options.connectTimeoutMs ?? 1000,
      maxRetriesPerRequest: 0,
      // Commands issued while disconnected fail at once instead of queueing behind a dead socket.
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
    });
    this.redis.on('error', (error: Error) => this.markDown(error));
    this.redis.on('ready', () => this.markUp());
    this.firstConnection = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        this.redis.off('error', done);
        resolve();
      };
      const timer = setTimeout(done, options.connectTimeoutMs ?? 1000);
      timer.unref();
      this.redis.once('ready', done);
      this.redis.once('error', done);
    });
  }

  async get(key: string): Promise<CachedToken | undefined> {
    const raw = await this.command((r) => r.get(this.prefix + key));
    if (raw === FAILED) return this.fallback.peek(key);
    if (raw === null) return undefined;
    const token = this.decode(key, raw);
    return token && isUnexpired(token, this.clock.now()) ? token : undefined;
  }

  async set(key: string, token: CachedToken): Promise<void> {
    await this.fallback.set(key, token);
    const ttlMs = Math.floor(token.expiresAt - this.clock.now());
    if (ttlMs <= 0) return;
    await this.command((r) => r.set(this.prefix + key, this.encode(key, token), 'PX', ttlMs));
  }

  async delete(key: string, accessToken?: string): Promise<void> {
    await this.fallback.delete(key, accessToken);
    if (accessToken === undefined) {
      await this.command((r) => r.del(this.prefix + key));
      return;
    }
    const raw = await this.command((r) => r.get(this.prefix + key));
    if (typeof raw !== 'string' || this.decode(key, raw)?.accessToken !== accessToken) return;
    await this.command((r) => r.eval(DELETE_IF_EQUAL, 1, this.prefix + key, raw));
  }

  async tryLock(key: string, ttlMs: number): Promise<TokenCacheLock | undefined> {
    const lockKey = `${this.prefix}lock:${key}`;
    const owner = randomUUID();
    const acquired = await this.command((r) => r.set(lockKey, owner, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'));
    // Without Redis there is no fleet to coordinate with: fetch.
    if (acquired === null) return undefined;
    return {
      release: async () => {
        if (acquired === 'OK') await this.command((r) => r.eval(DELETE_IF_EQUAL, 1, lockKey, owner));
      },
    };
  }

  async close(): Promise<void> {
    await this.fallback.close();
    this.redis.removeAllListeners('ready');
    this.redis.on('error', () => {});
    if (this.redis.status === 'ready') {
      await this.redis.quit().catch(() => this.redis.disconnect());
    } else {
      this.redis.disconnect();
    }
  }

  private async command<T>(run: (redis: Redis) => Promise<T>): Promise<T | typeof FAILED> {
    await this.firstConnection;
    try {
      const result = await run(this.redis);
      this.markUp();
      return result;
    } catch (error) {
      this.markDown(error as Error);
      return FAILED;
    }
  }

  private markDown(error: Error): void {
    if (this.degraded) return;
    this.degraded = true;
    this.logger.warn(`Redis token cache unavailable (${error.message}); using the in-process cache until it is back`);
  }

  private markUp(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.logger.log('Redis token cache is reachable again');
  }

  private encode(key: string, token: CachedToken): string {
    const json = JSON.stringify(token);
    return this.options.encryption ? this.options.encryption.encrypt(json, key) : json;
  }

  /** Undecodable entries (another key, a foreign writer) are treated as misses. */
  private decode(key: string, raw: string): CachedToken | undefined {
    try {
      const value: unknown = JSON.parse(this.options.encryption ? this.options.encryption.decrypt(raw, key) : raw);
      return isCachedToken(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }
}

const FAILED = Symbol('redis command failed');
