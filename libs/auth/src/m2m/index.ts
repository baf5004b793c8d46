export type { Clock } from '../clock.js';
export { CacheEncryption } from './cache-encryption.js';
export { ClientAssertionSigner, type ClientAssertionKey } from './client-assertion.js';
export {
  DEFAULT_CACHE_KEY_PREFIX,
  M2M_MODULE_OPTIONS,
  M2M_SIBLING_CLIENT_PREFIX,
  M2M_TOKEN_CACHE,
} from './m2m.constants.js';
export {
  InvalidTokenResponseError,
  M2MError,
  MissingPeerDependencyError,
  SiblingOriginError,
  TokenEndpointError,
  TokenEndpointTimeoutError,
  TokenEndpointUnreachableError,
} from './m2m.errors.js';
export { ASYNC_OPTIONS_TYPE as M2M_ASYNC_OPTIONS_TYPE, OPTIONS_TYPE as M2M_OPTIONS_TYPE, type M2MModuleExtras } from './m2m.module-definition.js';
export { M2MModule } from './m2m.module.js';
export {
  assertM2MOptions,
  type ClientAuthMethod,
  type M2MModuleOptions,
  type SiblingServiceOptions,
  type TokenEndpointDialect,
} from './m2m.options.js';
export { M2MTokenService } from './m2m-token.service.js';
export type { M2MEvents, M2MStats, M2MToken, M2MTokenRequest } from './m2m-token.types.js';
export { MemoryTokenCache } from './memory-token.cache.js';
export { lowQuotaWarnings, parseQuotaHeader, readQuota, type M2MQuota, type QuotaBucket, type RateLimit } from './quota.js';
export type { RedisClient } from './redis-connection.js';
export { RedisTokenCache, type RedisTokenCacheOptions } from './redis-token.cache.js';
export { withRetries, type RetryPolicy } from './retry.js';
export { cacheKey, type CachedToken, type CacheKeyParts, type TokenCache } from './token-cache.js';
export {
  parseRetryAfter,
  TokenEndpointClient,
  type TokenEndpointResponse,
  type TokenEndpointResponseListener,
  type TokenRequest,
} from './token-endpoint.client.js';
export { DEFAULT_LIFETIME_SECONDS, toCachedToken } from './token-lifetime.js';
export { getSiblingClientToken, InjectSiblingClient, SiblingClient, SiblingClients } from './sibling.client.js';
