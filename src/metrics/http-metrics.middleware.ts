import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { METRICS } from './metrics.constants.js';
import type { Metrics } from './metrics.js';

/**
 * Times every request. The route label is Express's matched pattern (`/internal/documents/:id`),
 * read when the response finishes, so ids and probing URLs cannot blow up the label set;
 * requests that match no route share `unmatched`.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(@Inject(METRICS) private readonly metrics: Metrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.metrics.httpRequestDuration.startTimer();
    res.once('finish', () => {
      const pattern = req.route?.path as string | undefined;
      // Nest answers unknown paths from a catch-all route (`{/*splat}`): report those as unmatched.
      const unmatched = pattern === undefined || (res.statusCode === 404 && pattern.includes('*'));
      const route = unmatched ? 'unmatched' : `${req.baseUrl ?? ''}${pattern}`;
      end({ method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  }
}
