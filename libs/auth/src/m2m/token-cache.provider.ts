import { Logger, type Provider } from '@nestjs/common';
import { CacheEncryption } from './cache-encryption.js';
import { M2M_MODULE_OPTIONS, M2M_TOKEN_CACHE } from './m2m.constants.js';
import { assertM2MOptions, decodeEncryptionKey, type M2MModuleOptions } from './m2m.options.js';
import { MemoryTokenCache } from './memory-token.cache.js';
import { createRedisClient } from './redis-connection.js';
import { RedisTokenCache } from './redis-token.cache.js';
import { RedisTokenSynchronizer } from './redis-token.synchronizer.js';
import type { TokenCache } from './token-cache.js';
import { LocalTokenSynchronizer, type TokenSynchronizer } from './token-synchronizer.js';

/**
 * The cache the options ask for: `cache` as given; with `cacheUrl`, a `RedisTokenCache` (ioredis, an
 * optional peer, is loaded only then, and its absence is a start-up error naming the fix); otherwise a
 * `MemoryTokenCache`. Options are checked first, so a broken configuration opens no connection.
 */
export async function createTokenCache(options: M2MModuleOptions): Promise<TokenCache> {
  assertM2MOptions(options);
  if (options.cache) return options.cache;
  if (!options.cacheUrl) return new MemoryTokenCache({ clock: options.clock });
  const key = options.cacheEncryptionKey ? decodeEncryptionKey(options.cacheEncryptionKey) : undefined;
  if (!key) {
    new Logger('M2MRedisTokenCache').warn(
      "'cacheUrl' without 'cacheEncryptionKey': tokens are stored in Redis in plain text, readable and replaceable by anyone with access to it",
    );
  }
  return new RedisTokenCache(await createRedisClient(options.cacheUrl), {
    keyPrefix: options.cacheKeyPrefix,
    encryption: key ? new CacheEncryption(key) : undefined,
    clock: options.clock,
  });
}

/** `M2M_TOKEN_CACHE` as `M2MModule` provides it. */
export const tokenCacheProvider: Provider = {
  provide: M2M_TOKEN_CACHE,
  inject: [M2M_MODULE_OPTIONS],
  useFactory: createTokenCache,
};

/** One request per fleet when the cache is shared through Redis; per process with any other cache. */
export function createTokenSynchronizer(cache: TokenCache, options: M2MModuleOptions): TokenSynchronizer {
  if (!(cache instanceof RedisTokenCache)) return new LocalTokenSynchronizer();
  // A live holder is waited for during its whole retry sequence; a crashed one's lease lapses in 3 s.
  const maxWaitMs = (options.requestTimeoutMs ?? 5000) * (options.maxAttempts ?? 3) + 2000;
  return new RedisTokenSynchronizer(cache, { maxWaitMs, clock: options.clock, failureBackoffMs: options.failureBackoffMs });
}
