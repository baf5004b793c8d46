import { Injectable } from '@nestjs/common';
import type { HealthIndicatorFunction } from '@nestjs/terminus';

/**
 * The hook for readiness checks that live outside this module (the M2M wiring, a database…):
 * `register('name', () => indicator.check('name').attempt(…))` at start-up, and `/health/ready`
 * includes it. Names are unique; registering a name again replaces the check.
 */
@Injectable()
export class ReadinessChecks {
  private readonly checks = new Map<string, HealthIndicatorFunction>();

  register(name: string, check: HealthIndicatorFunction): void {
    this.checks.set(name, check);
  }

  all(): HealthIndicatorFunction[] {
    return [...this.checks.values()];
  }
}
