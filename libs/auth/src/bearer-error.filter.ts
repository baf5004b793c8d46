import { type ArgumentsHost, Catch, type ExceptionFilter, Inject, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AUTH_MODULE_OPTIONS } from './auth.module-definition.js';
import type { AuthModuleOptions } from './auth.options.js';
import { AuthEvents } from './auth.events.js';
import { BearerError } from './bearer.errors.js';
import { dpopStateOf, wwwAuthenticate } from './dpop/dpop-challenge.js';
import { DEFAULT_DPOP_ALGORITHMS } from './dpop/dpop.options.js';

/**
 * Writes RFC 6750 answers: the status, the `WWW-Authenticate` challenge, extra headers
 * (Retry-After) and a `{statusCode, error, message}` body with nothing internal, in every NODE_ENV.
 * The log line names the error's stable `code`, never the token.
 */
@Catch(BearerError)
export class BearerErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(AUTH_MODULE_OPTIONS) private readonly options: AuthModuleOptions,
    private readonly events: AuthEvents,
  ) {}

  catch(error: BearerError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<{ method?: string; url?: string; originalUrl?: string }>();
    const res = http.getResponse<unknown>();
    const adapter = this.adapterHost.httpAdapter;
    const status = error.getStatus();

    const algorithms = this.options.dpopProof?.algorithms ?? DEFAULT_DPOP_ALGORITHMS;
    adapter.setHeader(res, 'WWW-Authenticate', wwwAuthenticate(error, this.options.realm ?? 'api', dpopStateOf(req), algorithms));
    for (const [name, value] of Object.entries(error.headers())) adapter.setHeader(res, name, value);
    adapter.setHeader(res, 'Cache-Control', 'no-store');
    adapter.reply(res, error.getResponse(), status);

    const path = (req.originalUrl ?? req.url ?? '').split('?')[0];
    this.logger.warn(`auth rejected code=${error.code} status=${status} ${req.method ?? ''} ${path}`);
    this.events.emitRejected(error.code, status);
  }
}
