import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';

/**
 * `PING` on the shared token cache (TOKEN_CACHE_URL). Its own lazy connection, so a probe never
 * queues behind token traffic; closed with the application.
 */
@Injectable()
export class RedisHealthIndicator implements OnModuleDestroy {
  private redis?: Redis;

  constructor(
    private readonly indicator: HealthIndicatorService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get enabled(): boolean {
    return this.config.env.TOKEN_CACHE_URL !== undefined;
  }

  check() {
    const timeoutMs = this.config.env.HEALTH_CHECK_TIMEOUT_MS;
    return this.indicator
      .check('redis')
      .attempt(async () => {
        const pong = await this.client().ping();
        if (pong !== 'PONG') throw new Error(`unexpected PING answer`);
      })
      .withTimeout(timeoutMs);
  }

  async onModuleDestroy(): Promise<void> {
    const redis = this.redis;
    this.redis = undefined;
    if (!redis) return;
    if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
    else redis.disconnect();
  }

  private client(): Redis {
    this.redis ??= new Redis(this.config.env.TOKEN_CACHE_URL!, {
      lazyConnect: false,
      connectTimeout: this.config.env.HEALTH_CHECK_TIMEOUT_MS,
      commandTimeout: this.config.env.HEALTH_CHECK_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
      retryStrategy: (times) => Math.min(200 * 2 ** times, 5000),
    });
    // Errors surface as failed PINGs; without a listener ioredis would log them as unhandled.
    this.redis.on('error', () => {});
    return this.redis;
  }
}
