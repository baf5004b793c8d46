import { createRequire } from 'node:module';
import { Injectable, type MiddlewareConsumer, Module, type NestModule, type OnModuleInit, RequestMethod } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { LoggerModule, type Params, PinoLogger } from 'nestjs-pino';
import pino, { type Logger as Pino } from 'pino';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { CENSOR, REDACT_PATHS } from './redaction.js';
import { expressRequestLogger, logFastifyRequests, type RequestScope } from './request-logging.js';

/**
 * Every path, on Express (on Fastify the request logging is a set of hooks, no middleware). Not
 * nestjs-pino's default, `{/*splat}`, which @fastify/middie (9.3.6) mounts as `/{/*splat}` and
 * which then matches no request.
 */
const ALL_ROUTES = { path: '{*path}', method: RequestMethod.ALL };

/** pino-pretty is a devDependency: a production install does not have it, and must not need it. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/** Lines are written when this many characters are waiting, or every LOG_FLUSH_MS, whichever comes first. */
const LOG_BUFFER_CHARS = 4096;
const LOG_FLUSH_MS = 250;

/** What pino needs of its destination: `write` per line (and `flushSync` for the exit handler). */
interface LineSink {
  write(line: string): boolean;
  flushSync(): void;
}
let stdout: LineSink | undefined;

/**
 * Standard output, written in batches: pino's default destination makes one `write` system call per
 * line, i.e. one per request for the access log, which cost more than the request's own JavaScript
 * on this VM (bench/README.md). Writes stay synchronous (no thread pool); what is buffered at exit,
 * graceful or not, is flushed by the `exit` handler; a SIGKILL loses at most LOG_FLUSH_MS of lines.
 * One per process, like the file descriptor it writes to.
 *
 * The batch is collected here, as an array of lines joined once per batch, and handed to an
 * unbuffered sonic-boom (which keeps the system-call side: partial writes, EAGAIN retries).
 * sonic-boom's own `minLength` buffering appends each line to one growing string and measures that
 * string's UTF-8 length on every write, i.e. flattens and scans up to 4 KiB per line: 15 k
 * instructions per line against 3 k this way (bench/README.md, round 3).
 */
function bufferedStdout(): LineSink {
  if (!stdout) {
    const boom = pino.destination({ dest: 1, sync: true });
    const lines: string[] = [];
    let chars = 0;
    const flushSync = () => {
      if (lines.length === 0) return;
      const batch = lines.join('');
      lines.length = 0;
      chars = 0;
      boom.write(batch); // synchronous: written (or retried on EAGAIN) before it returns
    };
    setInterval(flushSync, LOG_FLUSH_MS).unref();
    process.once('exit', flushSync);
    stdout = {
      write(line: string): boolean {
        lines.push(line);
        chars += line.length;
        if (chars >= LOG_BUFFER_CHARS) flushSync();
        return true;
      },
      flushSync,
    };
  }
  return stdout;
}

export function loggerParams(config: AppConfig): Params {
  const pretty = config.env.NODE_ENV === 'development' && config.env.LOG_LEVEL !== 'silent' && prettyAvailable();
  const options = {
    level: config.env.LOG_LEVEL,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    // The access line is written by request-logging.ts, from plain objects it builds itself; pino's
    // default `err` serializer stays for the lines app code writes.
    wrapSerializers: false,
    ...(pretty && { transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } } }),
  };
  const buffered = !pretty && config.env.LOG_LEVEL !== 'silent';
  // No routes: nestjs-pino's request middleware (pino-http + its request scope) is replaced by
  // RequestLogging; the module is kept for its root logger and Nest's `Logger` on top of it.
  return { forRoutes: [], pinoHttp: buffered ? [options, bufferedStdout()] : options };
}

/**
 * Request ids, the request scope of app log lines (`reqId`) and the access line, per platform
 * (request-logging.ts): what nestjs-pino's middleware did through pino-http, for less per request.
 */
@Injectable()
class RequestLogging implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly logger: PinoLogger,
  ) {}

  get root(): Pino {
    return PinoLogger.root;
  }

  readonly scope: RequestScope = (id, next) => {
    this.logger.runInContext(next, { bindings: { reqId: id } });
  };

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() === 'fastify') logFastifyRequests(adapter.getInstance(), this.root, this.scope);
  }
}

/**
 * JSON logs (pino) for the whole application, Nest's own Logger included (`bootstrap.ts` installs
 * it): request ids, secrets redacted, level from LOG_LEVEL; pretty-printed in development when
 * pino-pretty is installed.
 */
@Module({
  imports: [LoggerModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => loggerParams(config) })],
  providers: [RequestLogging],
})
export class LoggingModule implements NestModule {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly requestLogging: RequestLogging,
  ) {}

  configure(consumer: MiddlewareConsumer): void {
    if (this.adapterHost.httpAdapter?.getType() === 'fastify') return;
    consumer.apply(expressRequestLogger(this.requestLogging.root, this.requestLogging.scope)).forRoutes(ALL_ROUTES);
  }
}
