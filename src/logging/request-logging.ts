import { createRequire } from 'node:module';
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import type { Logger as Pino } from 'pino';
import { redactHeaders, redactUrl } from './redaction.js';
import { loggedHeaders, requestId } from './request-id.js';

/** Probes and scrapes every few seconds would drown the log; their failures still show in metrics. */
export const QUIET_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * nestjs-pino's request scope: its `PinoLogger` (Nest's logger once bootstrap.ts installs it) writes
 * through `storage.getStore().logger` inside a request, so app lines there carry `reqId`. The module
 * is not exported by the package, and must be the very instance its ESM entry imports: resolved
 * next to that entry (nestjs-pino 5: `dist/esm/storage.js`); `checkRequestScope` proves it at start-up.
 */
const nestjsPinoEntry = createRequire(import.meta.url).resolve('nestjs-pino'); // dist/cjs/index.js
const { storage } = (await import(new URL('../esm/storage.js', pathToFileURL(nestjsPinoEntry)).href)) as {
  storage: AsyncLocalStorage<RequestScope>;
};

/**
 * What nestjs-pino's `PinoLogger` reads in a request: a child logger with the request id, built on
 * the first line logged in the request (most requests log nothing but their access line, which is
 * written from the root logger), instead of two children with the request serialised into one on
 * every request, as pino-http does.
 */
class RequestScope {
  private child?: Pino;
  /** nestjs-pino's `PinoLogger.assign()` sets this; the access line does not carry assigned fields. */
  responseLogger?: Pino;

  constructor(
    private readonly root: Pino,
    readonly id: string,
  ) {}

  get logger(): Pino {
    return (this.child ??= this.root.child({ reqId: this.id }));
  }

  set logger(logger: Pino) {
    this.child = logger;
  }
}

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
  if (status >= 500) {
    line.err = new Error(`failed with status code ${status}`);
    line.responseTime = responseTime;
    root[level](line, 'request errored');
    return;
  }
  line.responseTime = responseTime;
  root[level](line, aborted || req.readableAborted || !res.writableEnded ? 'request aborted' : 'request completed');
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
export function logFastifyRequests(fastify: FastifyLike, root: Pino): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    storage.run(new RequestScope(root, request.id), done);
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
export function expressRequestLogger(root: Pino): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
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
    storage.run(new RequestScope(root, id), next);
  };
}

/** Throws at start-up if `storage` is not the one nestjs-pino's logger reads (a layout change in the package). */
export function checkRequestScope(readLogger: () => unknown, root: Pino): void {
  const scope = new RequestScope(root, 'start-up-check');
  if (storage.run(scope, readLogger) !== scope.logger) {
    throw new Error('nestjs-pino request scope not found: request log lines would lose their reqId');
  }
}
