import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { M2MTokenService } from '@nest-m2m/auth/m2m';
import { METRICS } from './metrics.constants.js';
import type { Metrics } from './metrics.js';

/** What the adapter reads from `M2MTokenService`: its events, its counters and the latest quota. */
export type M2MMetricsSource = Pick<M2MTokenService, 'events' | 'stats' | 'quota'>;

/**
 * Outgoing-token metrics. Binds itself to the application's `M2MTokenService` when one is
 * registered (any module); `bind(service)` does it by hand for a service built elsewhere.
 */
@Injectable()
export class M2MMetrics implements OnApplicationBootstrap {
  private readonly logger = new Logger('M2MMetrics');
  private bound?: M2MMetricsSource;

  constructor(
    @Inject(METRICS) private readonly metrics: Metrics,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
    let service: M2MTokenService;
    try {
      service = this.moduleRef.get(M2MTokenService, { strict: false });
    } catch {
      return; // no outgoing calls configured
    }
    this.bind(service);
  }

  bind(source: M2MMetricsSource): void {
    if (this.bound === source) return;
    if (this.bound) throw new Error('M2MMetrics is already bound to another M2MTokenService');
    this.bound = source;
    const { tokenRequests, tokenCacheHits, tokenCacheMisses, auth0QuotaRemaining } = this.metrics;

    source.events.on('token_issued', ({ audience }) => tokenRequests.inc({ audience, outcome: 'success' }));
    source.events.on('failure', ({ audience, servedStale }) =>
      tokenRequests.inc({ audience, outcome: servedStale ? 'failure_served_stale' : 'failure' }),
    );

    // Hits and misses are counters the service keeps; they are read at scrape time.
    const seen = { hits: 0, misses: 0 };
    const collectCache = () => {
      const stats = source.stats();
      if (stats.cacheHits > seen.hits) tokenCacheHits.inc(stats.cacheHits - seen.hits);
      if (stats.cacheMisses > seen.misses) tokenCacheMisses.inc(stats.cacheMisses - seen.misses);
      seen.hits = stats.cacheHits;
      seen.misses = stats.cacheMisses;
    };
    const collectQuota = () => {
      const quota = source.quota();
      if (!quota) return;
      auth0QuotaRemaining.reset();
      for (const [scope, buckets] of [
        ['client', quota.client],
        ['organization', quota.organization],
      ] as const) {
        for (const b of buckets ?? []) auth0QuotaRemaining.set({ client_id: quota.clientId, scope, bucket: b.bucket }, b.remaining);
      }
      if (quota.rateLimit)
        auth0QuotaRemaining.set({ client_id: quota.clientId, scope: 'rate_limit', bucket: 'window' }, quota.rateLimit.remaining);
    };
    // prom-client calls `collect` on every scrape; chaining keeps a single hook per metric.
    Object.assign(tokenCacheHits, { collect: collectCache });
    Object.assign(auth0QuotaRemaining, { collect: collectQuota });
    this.logger.log('Outgoing token metrics bound to M2MTokenService');
  }
}
