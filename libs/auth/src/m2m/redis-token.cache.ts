import { Logger } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import type { CacheEncryption } from './cache-encryption.js';
import { DEFAULT_CACHE_KEY_PREFIX } from './m2m.constants.js';
import { MemoryTokenCache } from './memory-token.cache.js';
import { FAILED, RedisConnection, type RedisClient } from './redis-connection.js';
import { isCachedToken, type CachedToken, type TokenCache } from './token-cache.js';
import { isUnexpired } from './token-lifetime.js';

export interface RedisTokenCacheOptions {
  /** Default `nest-m2m:token:`. */
  keyPrefix?: string;
  encryption?: CacheEncryption;
  /** Time source of expiry decisions. Default: the system clock. */
  clock?: Clock;
}

// Compare-and-delete: only the holder of the rejected token evicts it.
const DELETE_IF_EQUAL = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * A cache shared by every replica. Each write also goes to an in-process copy, which serves while
 * Redis is unreachable: an outage costs at most extra token requests, never failed calls, and is
 * logged once when it starts and once when it ends.
 */
export class RedisTokenCache implements TokenCache {
  readonly connection: RedisConnection;
  readonly prefix: string;
  private readonly fallback: MemoryTokenCache;
  private readonly clock: Clock;

  /** `client`: e.g. an ioredis `Redis`, which the cache then owns and quits on `close()`. */
  constructor(
    client: RedisClient,
    private readonly options: RedisTokenCacheOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? DEFAULT_CACHE_KEY_PREFIX;
    this.clock = options.clock ?? systemClock;
    this.fallback = new MemoryTokenCache({ clock: this.clock });
    this.connection = new RedisConnection(client, new Logger('M2MRedisTokenCache'));
  }

  async get(key: string): Promise<CachedToken | undefined> {
    const raw = await this.connection.command((r) => r.get(this.prefix + key));
    if (raw === FAILED) return this.fallback.peek(key);
    if (raw === null) return undefined;
    const token = this.decode(key, raw);
    return token && isUnexpired(token, this.clock.now()) ? token : undefined;
  }

  async set(key: string, token: CachedToken): Promise<void> {
    await this.fallback.set(key, token);
    const ttlMs = Math.floor(token.expiresAt - this.clock.now());
    if (ttlMs <= 0) return;
    await this.connection.command((r) => r.set(this.prefix + key, this.encode(key, token), 'PX', ttlMs));
  }

  async delete(key: string, accessToken?: string): Promise<void> {
    await this.fallback.delete(key, accessToken);
    if (accessToken === undefined) {
      await this.connection.command((r) => r.del(this.prefix + key));
      return;
    }
    const raw = await this.connection.command((r) => r.get(this.prefix + key));
    if (typeof raw !== 'string' || this.decode(key, raw)?.accessToken !== accessToken) return;
    await this.connection.command((r) => r.eval(DELETE_IF_EQUAL, 1, this.prefix + key, raw));
  }

  async close(): Promise<void> {
    await this.fallback.close();
    await this.connection.close();
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
