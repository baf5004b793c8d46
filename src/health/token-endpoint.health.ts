import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { IssuerDiscovery } from '@nest-m2m/auth';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { resolveTokenEndpoint } from '../config/token-endpoint.js';

/**
 * Up when the token endpoint answers HTTP at all (any status below 500: a GET on a token endpoint is
 * a 404/405, which proves DNS, TLS and routing). Cached, so a fleet of probes costs the issuer one
 * request per replica per `HEALTH_TOKEN_ENDPOINT_CACHE_MS`, and never touches the token quota.
 */
@Injectable()
export class TokenEndpointHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly discovery: IssuerDiscovery,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Only when the service makes outgoing calls. */
  get enabled(): boolean {
    return this.config.client !== undefined;
  }

  check() {
    const { HEALTH_CHECK_TIMEOUT_MS: timeoutMs, HEALTH_TOKEN_ENDPOINT_CACHE_MS: cacheMs } = this.config.env;
    return this.indicator
      .check('tokenEndpoint')
      .attempt(async ({ signal }) => {
        const url = await resolveTokenEndpoint(this.config, this.discovery);
        const res = await fetch(url, { method: 'GET', signal, redirect: 'manual' });
        await res.body?.cancel();
        if (res.status >= 500) throw new Error(`token endpoint answered ${res.status}`);
        return { httpStatus: res.status };
      })
      .withTimeout(timeoutMs)
      .cacheFor(cacheMs);
  }
}
