import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthIndicatorFunction } from '@nestjs/terminus';
import { Public } from '@nest-m2m/auth';
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

  /** Readiness: signing keys loaded; token endpoint and Redis reachable when they are used. */
  @Get('ready')
  @HealthCheck()
  ready() {
    const checks: HealthIndicatorFunction[] = [() => this.signingKeys.check()];
    if (this.tokenEndpoint.enabled) checks.push(() => this.tokenEndpoint.check());
    if (this.redis.enabled) checks.push(() => this.redis.check());
    return this.health.check(checks);
  }
}
