import {
  type DynamicModule,
  Inject,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { startTracing, type Tracing } from './otel.js';
import { FASTIFY_ROUTE, ServerSpanMiddleware } from './server-span.middleware.js';
import { TRACING } from './tracing.constants.js';

/**
 * OpenTelemetry for the service: the SDK from the standard OTEL_* variables (off when no OTLP
 * endpoint is set), a SERVER span per request, and the buffered spans exported at shutdown (after
 * the in-flight requests, which graceful shutdown drains first). The library `@nest-m2m/auth` adds
 * its own spans through `@opentelemetry/api`.
 */
@Module({})
export class TracingModule implements NestModule, OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(TRACING) private readonly tracing: Tracing | undefined,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  static forRoot(env: Record<string, string | undefined>): DynamicModule {
    return {
      module: TracingModule,
      providers: [{ provide: TRACING, useFactory: () => startTracing(env) }, ServerSpanMiddleware],
      exports: [TRACING],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // Off (no OTLP endpoint): no middleware at all, rather than one that passes every request on
    // (on Fastify each Nest middleware is a @fastify/middie dispatch per request).
    if (!this.tracing) return;
    consumer.apply(ServerSpanMiddleware).forRoutes('{*path}');
  }

  /** On Fastify, middleware runs before routing: note each request's route pattern for its span's name. */
  onModuleInit(): void {
    if (!this.tracing || this.adapterHost.httpAdapter?.getType() !== 'fastify') return;
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyLike>();
    fastify.addHook('onRequest', (request, _reply, done) => {
      (request.raw as unknown as Record<symbol, unknown>)[FASTIFY_ROUTE] = request.routeOptions?.url;
      done();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.tracing?.shutdown();
  }
}

interface FastifyLike {
  addHook(
    name: 'onRequest',
    hook: (request: { raw: object; routeOptions?: { url?: string } }, reply: unknown, done: () => void) => void,
  ): void;
}
