import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { RedisHealthIndicator } from './redis.health.js';
import { SigningKeysHealthIndicator } from './signing-keys.health.js';
import { TokenEndpointHealthIndicator } from './token-endpoint.health.js';

/** `/health` (liveness) and `/health/ready` (readiness). */
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [SigningKeysHealthIndicator, TokenEndpointHealthIndicator, RedisHealthIndicator],
})
export class HealthModule {}
