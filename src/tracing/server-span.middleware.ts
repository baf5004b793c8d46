import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRACING } from './tracing.constants.js';
import type { Tracing } from './otel.js';

const tracer = trace.getTracer('nest-m2m');

type Request = IncomingMessage & { route?: { path?: string }; baseUrl?: string; originalUrl?: string };

/**
 * The SERVER span of each request, child of the caller's W3C `traceparent` when it sends one, and
 * the active span while Nest handles the request (guards, the library's spans, sibling calls). Named
 * `<METHOD> <route pattern>` on Express (`DELETE /internal/documents/:id`); on Fastify middleware
 * runs before routing, so the name is the method and `url.path` tells the path. Nothing when tracing is off.
 */
@Injectable()
export class ServerSpanMiddleware implements NestMiddleware {
  constructor(@Inject(TRACING) private readonly tracing: Tracing | undefined) {}

  use(req: Request, res: ServerResponse, next: () => void): void {
    if (!this.tracing) return next();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const method = req.method ?? 'GET';
    const path = (req.originalUrl ?? req.url ?? '/').split('?')[0];
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': method,
          'url.path': path,
          'url.scheme': 'http',
          'network.protocol.version': req.httpVersion,
          ...(req.socket.localPort !== undefined && { 'server.port': req.socket.localPort }),
          ...(req.socket.remoteAddress !== undefined && { 'client.address': req.socket.remoteAddress }),
          ...(typeof req.headers['user-agent'] === 'string' && { 'user_agent.original': req.headers['user-agent'] }),
        },
      },
      parent,
    );
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const pattern = req.route?.path;
      if (pattern && !pattern.includes('*')) {
        const route = `${req.baseUrl ?? ''}${pattern}`;
        span.updateName(`${method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      // HTTP semantic conventions: a server span fails on 5xx only (4xx is the caller's error).
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      if (!res.writableFinished) span.setAttribute('error.type', 'connection_closed');
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  }
}
