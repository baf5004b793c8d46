import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { AuthEvents } from '@nest-m2m/auth';
import { METRICS } from './metrics.constants.js';
import type { Metrics } from './metrics.js';

/** Counts auth rejections and JWKS fetches through the AuthModule's event hook. */
@Injectable()
export class AuthMetrics implements OnModuleInit {
  constructor(
    private readonly events: AuthEvents,
    @Inject(METRICS) private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.events.on({
      rejected: (code, status) => this.metrics.authRejections.inc({ code, status: String(status) }),
      jwksFetched: (outcome) => this.metrics.jwksFetches.inc({ outcome }),
    });
  }
}
