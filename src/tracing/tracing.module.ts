import { type DynamicModule, Inject, type MiddlewareConsumer, Module, type NestModule, type OnApplicationShutdown } from '@nestjs/common';
import { startTracing, type Tracing } from './otel.js';
import { ServerSpanMiddleware } from './server-span.middleware.js';
import { TRACING } from './tracing.constants.js';

/**
 * OpenTelemetry for the service: the SDK from the standard OTEL_* variables (off when no OTLP
 * endpoint is set), a SERVER span per request, and the buffered spans exported at shutdown (after
 * the in-flight requests, which graceful shutdown drains first). The library `@nest-m2m/auth` adds
 * its own spans through `@opentelemetry/api`.
 */
@Module({})
export class TracingModule implements NestModule, OnApplicationShutdown {
  constructor(@Inject(TRACING) private readonly tracing: Tracing | undefined) {}

  static forRoot(env: Record<string, string | undefined>): DynamicModule {
    return {
      module: TracingModule,
      providers: [{ provide: TRACING, useFactory: () => startTracing(env) }, ServerSpanMiddleware],
      exports: [TRACING],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ServerSpanMiddleware).forRoutes('{*path}');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.tracing?.shutdown();
  }
}
