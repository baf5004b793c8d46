import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module, RequestMethod } from '@nestjs/common';
import { LoggerModule, type Params } from 'nestjs-pino';
import pino from 'pino';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { CENSOR, redactHeaders, redactUrl, REDACT_PATHS } from './redaction.js';
import { loggedHeaders, requestId } from './request-id.js';

/** Probes and scrapes every few seconds would drown the log; their failures still show in metrics. */
const QUIET_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Every path, on both platforms. nestjs-pino's default, `{/*splat}`, is mounted by @fastify/middie
 * (9.3.6) as `/{/*splat}`, which matches no request: on Fastify the request logger then never ran —
 * no access log, no `x-request-id` answer header and no `reqId` on the "auth rejected" lines.
 */
const ALL_ROUTES = { path: '{*path}', method: RequestMethod.ALL };

/** The path as requested: on Fastify, middie strips a mounted middleware's path from `req.url`. */
const requestedUrl = (req: IncomingMessage & { originalUrl?: string }) => req.originalUrl ?? req.url;

/** pino-pretty is a devDependency: a production install does not have it, and must not need it. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/** Lines are written when this many bytes are waiting, or every LOG_FLUSH_MS, whichever comes first. */
const LOG_BUFFER_BYTES = 4096;
const LOG_FLUSH_MS = 250;
let stdout: ReturnType<typeof pino.destination> | undefined;

/**
 * Standard output, written in batches: pino's default destination makes one `write` system call per
 * line, i.e. one per request for the access log, which cost more than the request's own JavaScript
 * on this VM (bench/README.md). Writes stay synchronous (no thread pool); what is buffered at exit,
 * graceful or not, is flushed by the `exit` handler; a SIGKILL loses at most LOG_FLUSH_MS of lines.
 * One per process, like the file descriptor it writes to.
 */
function bufferedStdout(): ReturnType<typeof pino.destination> {
  if (!stdout) {
    const destination = pino.destination({ dest: 1, sync: true, minLength: LOG_BUFFER_BYTES, periodicFlush: LOG_FLUSH_MS });
    process.once('exit', () => destination.flushSync());
    stdout = destination;
  }
  return stdout;
}

export function loggerParams(config: AppConfig): Params {
  const pretty = config.env.NODE_ENV === 'development' && config.env.LOG_LEVEL !== 'silent' && prettyAvailable();
  const options = {
    level: config.env.LOG_LEVEL,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    genReqId: requestId,
    // App log lines inside a request carry `reqId` only; the completion line carries the request.
    quietReqLogger: true,
    autoLogging: { ignore: (req: IncomingMessage) => QUIET_PATHS.test(requestedUrl(req) ?? '') },
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    serializers: {
      req: (req: { id: unknown; method: string; url: string; headers: Record<string, unknown>; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        headers: redactHeaders(loggedHeaders(req.headers, req.id)),
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number; headers: Record<string, unknown> }) => ({
        statusCode: res.statusCode,
        headers: redactHeaders(res.headers),
      }),
    },
    ...(pretty && { transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } } }),
  };
  const buffered = !pretty && config.env.LOG_LEVEL !== 'silent';
  return { forRoutes: [ALL_ROUTES], pinoHttp: buffered ? [options, bufferedStdout()] : options };
}

/**
 * JSON logs (pino) for the whole application, Nest's own Logger included (`bootstrap.ts` installs
 * it): request ids, secrets redacted, level from LOG_LEVEL; pretty-printed in development when
 * pino-pretty is installed.
 */
@Module({
  imports: [LoggerModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => loggerParams(config) })],
})
export class LoggingModule {}
