import { Controller, Get, Inject, Req, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthIndicatorFunction } from '@nestjs/terminus';
import { Public } from '@nest-m2m/auth';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { isManagementRequest } from '../management/management-port.js';
import { RedisHealthIndicator } from './redis.health.js';
import { SigningKeysHealthIndicator } from './signing-keys.health.js';
import { TokenEndpointHealthIndicator } from './token-endpoint.health.js';

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly signingKeys: SigningKeysHealthIndicator,
    private readonly tokenEndpoint: TokenEndpointHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Liveness: the process answers. No dependency checks: an issuer outage must not restart the fleet.
   * Terminus' answer to an empty check list, without running its executor on every probe.
   */
  @Get()
  @HealthCheck()
  live() {
    return { status: 'ok', info: {}, error: {}, details: {} };
  }

  /**
   * Readiness: signing keys loaded; token endpoint and Redis reachable when they are used. With
   * `MANAGEMENT_PORT` set, the details (internal URLs, error texts) are given on that port only; the
   * API port answers the bare status, `200 {"status":"ok"}` or `503 {"status":"error"}`.
   */
  @Get('ready')
  @HealthCheck()
  async ready(@Req() request: object) {
    const checks: HealthIndicatorFunction[] = [() => this.signingKeys.check()];
    if (this.tokenEndpoint.enabled) checks.push(() => this.tokenEndpoint.check());
    if (this.redis.enabled) checks.push(() => this.redis.check());
    if (this.config.env.MANAGEMENT_PORT === undefined || isManagementRequest(request)) return this.health.check(checks);
    try {
      return { status: (await this.health.check(checks)).status };
    } catch (error) {
      if (error instanceof ServiceUnavailableException) throw new ServiceUnavailableException({ status: 'error' });
      throw error;
    }
  }
}
