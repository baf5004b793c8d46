import { Injectable, type NestMiddleware } from '@nestjs/common';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { QUIET_PATHS } from '../logging/request-logging.js';

const tracer = trace.getTracer('nest-m2m');
/** Where TracingModule's Fastify hook leaves the matched route pattern on the raw request. */
export const FASTIFY_ROUTE = Symbol('nest_m2m:fastify_route');

type Request = IncomingMessage & { route?: { path?: string }; baseUrl?: string; originalUrl?: string; [FASTIFY_ROUTE]?: string };

/**
 * The SERVER span of each request, child of the caller's W3C `traceparent` when it sends one, and
 * the active span while Nest handles the request (guards, the library's spans, sibling calls). Named
 * `<METHOD> <route pattern>` (`DELETE /internal/documents/:id`; on Fastify the pattern comes from
 * TracingModule's onRequest hook), the method alone for unmatched paths. Mounted by TracingModule only
 * when tracing is on.
 */
@Injectable()
export class ServerSpanMiddleware implements NestMiddleware {
  use(req: Request, res: ServerResponse, next: () => void): void {
    const path = (req.originalUrl ?? req.url ?? '/').split('?')[0]!; // split() returns at least one element
    // Probes and scrapes (every few seconds per replica) are not traced, as they are not logged.
    if (QUIET_PATHS.test(path)) {
      next();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const method = req.method ?? 'GET';
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
      const pattern = req.route?.path ?? req[FASTIFY_ROUTE];
      if (pattern && !pattern.includes('*')) {
        const route = req.route ? `${req.baseUrl ?? ''}${pattern}` : pattern;
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
