import { BadRequestException, HttpException, type INestApplication, type NestApplicationOptions, PayloadTooLargeException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { REQUEST_ID_HEADER, requestIdOf } from './logging/request-id.js';

/**
 * Largest request body either platform reads, in bytes; past it the answer is 413 before any
 * guard or handler runs. Express's body-parser default is 100 KiB and Fastify's 1 MiB: one figure
 * for both, so the service answers the same on each.
 */
export const BODY_LIMIT_BYTES = 100 * 1024;

/**
 * On every answer, both platforms: a browser that meets an answer (an error body, the OpenAPI
 * document) must not guess a type other than the one declared and run it as script or HTML.
 * (Fastify never sends `X-Powered-By`; Express's is turned off: it only tells scanners what to try.)
 */
const NOSNIFF = ['X-Content-Type-Options', 'nosniff'] as const;

/**
 * Nest on Express (the default) or on Fastify (`HTTP_PLATFORM=fastify`), whose leaner request path
 * roughly doubles what one core serves (figures in bench/README.md). Fastify is loaded only when
 * chosen.
 */
export async function createNestApplication(module: object, platform: string | undefined, options: NestApplicationOptions): Promise<INestApplication> {
  if (platform !== 'fastify') {
    const { ExpressAdapter } = await import('@nestjs/platform-express');
    const adapter = new (class extends ExpressAdapter {
      override mapException(error: unknown): unknown {
        return bodyError(error) ?? withErrorBody(super.mapException(error));
      }
    })();
    const app = await NestFactory.create<NestExpressApplication>(module, adapter, options);
    app.disable('x-powered-by');
    // First, so that answers written by any later middleware (a 413 from the body parser) carry it too.
    app.use((_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => {
      res.setHeader(...NOSNIFF);
      next();
    });
    // Before init, so Nest skips its own parsers of the same kind (and their default limit).
    app.useBodyParser('json', { limit: BODY_LIMIT_BYTES });
    app.useBodyParser('urlencoded', { limit: BODY_LIMIT_BYTES, extended: true });
    return app;
  }
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  const adapter = new (class extends FastifyAdapter {
    override mapException(error: unknown): unknown {
      return bodyError(error) ?? withErrorBody(super.mapException(error));
    }
  })({
    bodyLimit: BODY_LIMIT_BYTES,
    // Fastify's own request id is the one pino-http logs (middie hands it over as `req.id`), so it
    // follows the same rule as on Express; the hook echoes it on every answer, refusals included.
    genReqId: requestIdOf,
  });
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    reply.header(...NOSNIFF);
    done();
  });
  const app = await NestFactory.create(module, adapter, options);
  // Express leaves a body of a type it has no parser for unread and lets the route answer, after the
  // guards; Fastify would answer 415 before them. Made the same: such a body is not read here either.
  adapter.getInstance().addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  return app;
}

/** The body errors of both platforms (body-parser's `type`, Fastify's `code`), answered alike. */
function bodyError(error: unknown): HttpException | undefined {
  const { type, code } = (error ?? {}) as { type?: unknown; code?: unknown };
  if (type === 'entity.too.large' || code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new PayloadTooLargeException(`Request body is larger than ${BODY_LIMIT_BYTES} bytes`, { cause: error });
  }
  if (type === 'entity.parse.failed' || code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return new BadRequestException('Request body is not valid JSON', { cause: error });
  }
  return undefined;
}

/**
 * Other errors raised before a handler runs (an unsupported media type on Fastify, …) reach the
 * exception layer as an `HttpException` whose body is a bare message, answered `{statusCode,
 * message}`; the contract's body is `{statusCode, error, message}` on every error and platform.
 */
function withErrorBody(mapped: unknown): unknown {
  if (!(mapped instanceof HttpException)) return mapped;
  const body = mapped.getResponse();
  if (typeof body === 'object' && body !== null && 'error' in body) return mapped;
  const status = mapped.getStatus();
  const message = typeof body === 'string' ? body : mapped.message;
  return new HttpException({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message }, status, { cause: mapped });
}
