import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger as Pino } from 'pino';
import { redactHeaders, redactUrl } from './redaction.js';
import { loggedHeaders, requestId } from './request-id.js';

/** Probes and scrapes every few seconds would drown the log; their failures still show in metrics. */
export const QUIET_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Runs the rest of a request inside nestjs-pino's logging context with its `reqId`, so that the
 * lines app code writes through Nest's `Logger` or `PinoLogger` in that request carry it
 * (`PinoLogger.runInContext`, what its own pino-http middleware does, without pino-http's request
 * serialisation and second child logger).
 */
export type RequestScope = (id: string, next: () => void) => void;

type Level = 'info' | 'warn' | 'error';

/** pino-http's levels as the service configured them: error for 5xx, warn for 4xx, info otherwise. */
const levelOf = (status: number): Level => (status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info');

/**
 * The access line, as pino-http wrote it with the serializers the service gave it (same fields,
 * order and messages): `reqId`, `req` (id, method, URL and headers censored, remote address), `res`
 * (status, headers censored), `responseTime` in ms, and `err` on a 5xx. Built only when the line is
 * written, from the request as it is at the end (the request itself is not changed by the service).
 */
function writeAccessLine(root: Pino, id: string, req: IncomingMessage, res: ServerResponse, responseTime: number, aborted: boolean): void {
  const status = res.statusCode;
  const level = levelOf(status);
  if (!root.isLevelEnabled(level)) return;
  const line: Record<string, unknown> = {
    reqId: id,
    req: {
      id,
      method: req.method,
      url: redactUrl((req as { originalUrl?: string }).originalUrl ?? req.url),
      headers: redactHeaders(loggedHeaders(req.headers, id)),
      remoteAddress: req.socket?.remoteAddress,
    },
    res: { statusCode: status, headers: redactHeaders(res.getHeaders() as OutgoingHttpHeaders) },
  };
  if (status >= 500) line.err = new Error(`failed with status code ${status}`);
  line.responseTime = responseTime;
  const ended = !aborted && !req.readableAborted && res.writableEnded;
  root[level](line, status >= 500 ? 'request errored' : ended ? 'request completed' : 'request aborted');
}

interface FastifyRequestLike {
  id: string;
  raw: IncomingMessage;
}
interface FastifyReplyLike {
  raw: ServerResponse;
  elapsedTime: number;
}
type Done = () => void;
interface FastifyLike {
  addHook(name: 'onRequest' | 'onResponse', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: Done) => void): void;
  addHook(name: 'onRequestAbort', hook: (request: FastifyRequestLike, done: Done) => void): void;
}

/** Set on a raw request whose access line is written (once, whichever of finish and abort comes first). */
const LOGGED = Symbol('nest-m2m.access-logged');
type Marked = IncomingMessage & { [LOGGED]?: true };

/**
 * Fastify: request id from Fastify (`genReqId`, http-platform.ts), the request scope from an
 * `onRequest` hook, the access line from `onResponse` (or `onRequestAbort` when the client goes
 * first). No middleware: on Fastify, each Nest middleware costs a @fastify/middie dispatch per request.
 */
export function logFastifyRequests(fastify: FastifyLike, root: Pino, scope: RequestScope): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    scope(request.id, done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const raw = request.raw as Marked;
    if (raw[LOGGED] === undefined && !QUIET_PATHS.test(raw.url ?? '')) {
      writeAccessLine(root, request.id, raw, reply.raw, Math.round(reply.elapsedTime), false);
    }
    done();
  });
  fastify.addHook('onRequestAbort', (request, done) => {
    const raw = request.raw as Marked;
    if (!QUIET_PATHS.test(raw.url ?? '')) {
      raw[LOGGED] = true;
      const res = (raw.socket as { _httpMessage?: ServerResponse } | null)?._httpMessage;
      if (res) writeAccessLine(root, request.id, raw, res, 0, true);
    }
    done();
  });
}

/** Express: the same, as one middleware (the id goes out as `x-request-id` on every answer). */
export function expressRequestLogger(
  root: Pino,
  scope: RequestScope,
): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  return (req, res, next) => {
    const id = requestId(req, res);
    (req as { id?: string }).id = id;
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '';
    if (!QUIET_PATHS.test(url)) {
      const start = Date.now();
      const done = () => {
        res.off('finish', done).off('close', done);
        writeAccessLine(root, id, req, res, Date.now() - start, false);
      };
      res.on('finish', done).on('close', done);
    }
    scope(id, next);
  };
}
