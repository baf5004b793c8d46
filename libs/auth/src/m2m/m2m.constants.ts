/** Injection tokens of the M2M module, namespaced so they never collide with the host application's. */
export const M2M_MODULE_OPTIONS = 'nest_m2m:m2m_options';
/** The `TokenCache` of `M2MTokenService`: the `cache` option, a `RedisTokenCache` with `cacheUrl`, else a `MemoryTokenCache`. */
export const M2M_TOKEN_CACHE = 'nest_m2m:token_cache';
export const M2M_SIBLING_CLIENT_PREFIX = 'nest_m2m:sibling_client:';

export const DEFAULT_CACHE_KEY_PREFIX = 'nest-m2m:token:';
