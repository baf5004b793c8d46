import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { ReadinessChecks } from './readiness-checks.js';
import { RedisHealthIndicator } from './redis.health.js';
import { SigningKeysHealthIndicator } from './signing-keys.health.js';
import { TokenEndpointHealthIndicator } from './token-endpoint.health.js';

/** `/health` (liveness) and `/health/ready` (readiness); `ReadinessChecks` takes checks from other modules. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ReadinessChecks, SigningKeysHealthIndicator, TokenEndpointHealthIndicator, RedisHealthIndicator],
  exports: [ReadinessChecks],
})
export class HealthModule {}
