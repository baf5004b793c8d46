import { HttpException, type INestApplication, type NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { REQUEST_ID_HEADER, requestIdOf } from './logging/request-id.js';

export { BODY_LIMIT_BYTES } from './json-body.interceptor.js';

/**
 * On every answer, both platforms: a browser that meets an answer (an error body, the OpenAPI
 * document) must not guess a type other than the one declared and run it as script or HTML.
 * (Fastify never sends `X-Powered-By`; Express's is turned off: it only tells scanners what to try.)
 */
const NOSNIFF = ['X-Content-Type-Options', 'nosniff'] as const;

/**
 * Nest on Fastify (the default: the same service costs less than half the instructions per request
 * it costs on Express, bench/README.md) or on Express (`HTTP_PLATFORM=express`), loaded only when chosen.
 */
export async function createNestApplication(
  module: object,
  platform: string | undefined,
  options: NestApplicationOptions,
): Promise<INestApplication> {
  // Bodies are read after the guards, by JsonBodyInterceptor on the routes that take one (`@ReadsBody()`),
  // on both platforms; the platforms' own parsers (off here, and the Fastify catch-all below) read nothing.
  return createOnPlatform(module, platform, { ...options, bodyParser: false });
}

async function createOnPlatform(module: object, platform: string | undefined, options: NestApplicationOptions): Promise<INestApplication> {
  if (platform === 'express') {
    const { ExpressAdapter } = await import('@nestjs/platform-express');
    const adapter = new (class extends ExpressAdapter {
      override mapException(error: unknown): unknown {
        return withErrorBody(super.mapException(error));
      }
    })();
    const app = await NestFactory.create<NestExpressApplication>(module, adapter, options);
    app.disable('x-powered-by');
    // First, so that answers written by any later middleware carry it too.
    app.use((_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => {
      res.setHeader(...NOSNIFF);
      next();
    });
    return app;
  }
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  const adapter = new (class extends FastifyAdapter {
    override mapException(error: unknown): unknown {
      return withErrorBody(super.mapException(error));
    }
  })({
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
  // Fastify parses JSON (and answers 415 for other types) before the route's guards run: its
  // parsers are replaced by one that reads nothing, and JsonBodyInterceptor reads the body later.
  adapter.getInstance().removeAllContentTypeParsers();
  adapter.getInstance().addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  return app;
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
