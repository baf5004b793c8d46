import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { KeySource } from '@nest-m2m/auth';

/** Up once the issuer's signing keys are loaded (and not past the stale-if-error window). */
@Injectable()
export class SigningKeysHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly keys: KeySource,
  ) {}

  check() {
    const session = this.indicator.check('signingKeys');
    return this.keys.ready ? session.up() : session.down({ message: 'no usable signing key: the JWKS has not been fetched successfully' });
  }
}
