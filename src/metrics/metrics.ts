import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric of the service starts with this, default process metrics included. */
export const METRIC_PREFIX = 'nest_m2m_';

/**
 * The service's metric definitions, on one registry per application (tests boot several apps in a
 * process; prom-client's global registry would refuse the second set).
 */
export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'HTTP request duration by method, route pattern (never the raw URL) and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    authRejections: new Counter({
      name: `${METRIC_PREFIX}auth_rejections_total`,
      help: 'Refused incoming requests by the error code of @nest-m2m/auth (ERR_AUTH_TOKEN_EXPIRED, ERR_AUTH_KEY_UNKNOWN, ERR_AUTH_INSUFFICIENT_SCOPE…) and HTTP status',
      labelNames: ['code', 'status'] as const,
      registers: [registry],
    }),
    jwksFetches: new Counter({
      name: `${METRIC_PREFIX}jwks_fetches_total`,
      help: 'JWKS fetches from the issuer by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    tokenRequests: new Counter({
      name: `${METRIC_PREFIX}token_requests_total`,
      help: 'Outgoing client-credentials token renewals by audience and outcome (success, failure, failure_served_stale), after retries',
      labelNames: ['audience', 'outcome'] as const,
      registers: [registry],
    }),
    tokenCacheHits: new Counter({
      name: `${METRIC_PREFIX}token_cache_hits_total`,
      help: 'Outgoing token lookups answered from the cache',
      registers: [registry],
    }),
    tokenCacheMisses: new Counter({
      name: `${METRIC_PREFIX}token_cache_misses_total`,
      help: 'Outgoing token lookups that needed a renewal',
      registers: [registry],
    }),
    auth0QuotaRemaining: new Gauge({
      name: `${METRIC_PREFIX}auth0_quota_remaining`,
      help: "Token requests left in the issuer's quota (Auth0 quota and X-RateLimit headers), from its latest answer that carried them",
      labelNames: ['client_id', 'scope', 'bucket'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
