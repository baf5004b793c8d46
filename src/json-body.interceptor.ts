import type { IncomingMessage } from 'node:http';
import {
  BadRequestException,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  PayloadTooLargeException,
  UseInterceptors,
} from '@nestjs/common';
import { assertNoAccessTokenParameter } from '@nest-m2m/auth';
import { from, type Observable, switchMap } from 'rxjs';

/** Largest request body read, in bytes, on both platforms; past it the answer is 413. */
export const BODY_LIMIT_BYTES = 100 * 1024;

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * Reads request bodies (JSON, and forms only to apply RFC 6750's one-method rule) after the
 * guards, on both platforms, so an unauthenticated client cannot make a replica read or parse
 * anything: its request is refused from its headers alone. Nest runs guards before interceptors
 * and interceptors before the pipes that hand `@Body()` to a handler; the platforms' own parsers
 * would run before all of them, so they read nothing (http-platform.ts).
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<{ raw?: IncomingMessage; body?: unknown } & IncomingMessage>();
    const raw = request.raw ?? request;
    const type = raw.headers['content-type'] ?? '';
    const json = JSON_TYPE.test(type);
    if (!(json || FORM_TYPE.test(type)) || !hasBody(raw)) return next.handle();
    return from(readBody(raw)).pipe(
      switchMap((text) => {
        const body = json ? parseJson(text) : Object.fromEntries(new URLSearchParams(text));
        // The guard saw the header token; the body is read only now, so the library's one-method rule applies here.
        assertNoAccessTokenParameter(body);
        request.body = body;
        return next.handle();
      }),
    );
  }
}

/**
 * On each route handler that takes a body (`@Body()`) or must apply RFC 6750's one-method rule to a
 * form body (every method with body semantics: PUT, POST, PATCH, DELETE): reads it with
 * JsonBodyInterceptor, after the guards. A route without it reads no body at all (its platform
 * parser reads nothing either, http-platform.ts), so `GET` routes pay for no interceptor chain: RFC
 * 6750 §2.2 forbids the form-body method on `GET`, so a token there is no credential to refuse.
 * test/request-body.e2e.spec.ts checks that every non-GET route of the service carries it.
 */
export const ReadsBody = (): MethodDecorator & ClassDecorator => UseInterceptors(JsonBodyInterceptor);

function hasBody(raw: IncomingMessage): boolean {
  return raw.headers['transfer-encoding'] !== undefined || Number(raw.headers['content-length'] ?? 0) > 0;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text, refusePrototypeKeys);
  } catch {
    throw new BadRequestException('Request body is not valid JSON');
  }
}

function readBody(raw: IncomingMessage): Promise<string> {
  const tooLarge = () => new PayloadTooLargeException(`Request body is larger than ${BODY_LIMIT_BYTES} bytes`);
  if (Number(raw.headers['content-length'] ?? 0) > BODY_LIMIT_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      raw.off('data', onData).off('end', onEnd).off('error', onError);
      if (err) {
        // Stop reading, as body-parser does: the answer goes out now, the request timeout bounds the rest.
        raw.pause();
        reject(err);
        return;
      }
      resolve(Buffer.concat(chunks, size).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) {
        done(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = (err: Error) => done(new BadRequestException('Request body could not be read', { cause: err }));
    raw.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/**
 * `__proto__` keys, and `constructor` objects holding a `prototype`, are refused as Fastify's
 * secure-json-parse refuses them: JSON.parse makes them own properties, which a later merge or
 * spread would turn into a prototype.
 */
function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__' || (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype'))) {
    throw new SyntaxError('forbidden prototype property');
  }
  return value;
}
