import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
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
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('{*path}');
  }
}
