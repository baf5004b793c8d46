export type { Clock } from '../clock.js';
export { CacheEncryption } from './cache-encryption.js';
export { DpopClientKey, type DpopClientOptions, type ProofInput } from './dpop-client.js';
export { M2M_MODULE_OPTIONS, M2M_TOKEN_CACHE } from './m2m.constants.js';
export {
  InsecureTokenEndpointError,
  InvalidTokenResponseError,
  M2MError,
  MissingPeerDependencyError,
  SiblingOriginError,
  SiblingPathError,
  TokenEndpointError,
  TokenEndpointTimeoutError,
  TokenEndpointUnreachableError,
  TokenResponseTooLargeError,
} from './m2m.errors.js';
export type { M2MModuleExtras } from './m2m.module-definition.js';
export { M2MModule } from './m2m.module.js';
export type { ClientAuthMethod, M2MModuleOptions, SiblingServiceOptions, TokenEndpointDialect } from './m2m.options.js';
export { M2MTokenService } from './m2m-token.service.js';
export type { M2MEvents, M2MStats, M2MToken, M2MTokenRequest } from './m2m-token.types.js';
export { MemoryTokenCache } from './memory-token.cache.js';
export type { M2MQuota, QuotaBucket, RateLimit } from './quota.js';
export type { RedisClient } from './redis-connection.js';
export { RedisTokenCache, type RedisTokenCacheOptions } from './redis-token.cache.js';
export type { CachedToken, TokenCache } from './token-cache.js';
export {
  TokenEndpointClient,
  type TokenEndpointResponse,
  type TokenEndpointResponseListener,
  type TokenRequest,
} from './token-endpoint.client.js';
export { getSiblingClientToken, InjectSiblingClient, SiblingClient, SiblingClients } from './sibling.client.js';
