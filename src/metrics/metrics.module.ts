import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuthMetrics } from './auth.metrics.js';
import { FastifyHttpMetrics, HttpMetricsMiddleware } from './http-metrics.middleware.js';
import { M2MMetrics } from './m2m.metrics.js';
import { METRICS } from './metrics.constants.js';
import { MetricsController } from './metrics.controller.js';
import { createMetrics } from './metrics.js';

/** `/metrics` (Prometheus): HTTP, auth, JWKS and outgoing-token metrics plus default process metrics. */
@Module({
  controllers: [MetricsController],
  providers: [{ provide: METRICS, useFactory: () => createMetrics() }, AuthMetrics, M2MMetrics, HttpMetricsMiddleware, FastifyHttpMetrics],
  exports: [METRICS, M2MMetrics],
})
export class MetricsModule implements NestModule {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  configure(consumer: MiddlewareConsumer): void {
    // Fastify requests are timed by FastifyHttpMetrics' hook; a middleware that only passes them on
    // would still cost a middie dispatch per request.
    if (this.adapterHost.httpAdapter?.getType() === 'fastify') return;
    consumer.apply(HttpMetricsMiddleware).forRoutes('{*path}');
  }
}
