import { Inject, Injectable, type NestMiddleware, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { METRICS } from './metrics.constants.js';
import type { Metrics } from './metrics.js';

const isFastify = (host: HttpAdapterHost) => host.httpAdapter?.getType() === 'fastify';

/**
 * Times every request on Express. The route label is Express's matched pattern (`/internal/documents/:id`),
 * read when the response finishes, so ids and probing URLs cannot blow up the label set;
 * requests that match no route share `unmatched`.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(@Inject(METRICS) private readonly metrics: Metrics) {}

  /** Express only (MetricsModule): on Fastify, middleware sees the raw request without its route; FastifyHttpMetrics times it. */
  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.metrics.httpRequestDuration.startTimer();
    res.once('finish', () => {
      const pattern = (req.route as { path?: string } | undefined)?.path;
      // Nest answers unknown paths from a catch-all route (`{/*splat}`): report those as unmatched.
      const unmatched = pattern === undefined || (res.statusCode === 404 && pattern.includes('*'));
      const route = unmatched ? 'unmatched' : `${req.baseUrl ?? ''}${pattern}`;
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  }
}

interface FastifyLike {
  addHook(
    name: 'onResponse',
    hook: (req: FastifyRequestLike, reply: { statusCode: number; elapsedTime: number }, done: () => void) => void,
  ): void;
}
interface FastifyRequestLike {
  method: string;
  routeOptions?: { url?: string };
}

/** Times every request on Fastify from its `onResponse` hook, labelled with the matched route pattern. */
@Injectable()
export class FastifyHttpMetrics implements OnModuleInit {
  constructor(
    @Inject(METRICS) private readonly metrics: Metrics,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    if (!isFastify(this.adapterHost)) return;
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyLike>();
    fastify.addHook('onResponse', (req, reply, done) => {
      const route = req.routeOptions?.url ?? 'unmatched';
      this.metrics.httpRequestDuration.observe(
        { method: req.method, route, status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
}
