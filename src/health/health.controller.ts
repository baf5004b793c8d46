import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { KeySource, Public } from '../auth/index.js';

@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly keys: KeySource) {}

  /** Liveness: the process answers; never depends on the issuer. */
  @Get()
  live() {
    return { status: 'ok' };
  }

  /** Readiness: signing keys are loaded, so valid tokens can be verified. */
  @Get('ready')
  ready() {
    const signingKeys = this.keys.ready;
    if (!signingKeys) throw new ServiceUnavailableException({ status: 'error', checks: { signingKeys: 'down' } });
    return { status: 'ok', checks: { signingKeys: 'up' } };
  }
}
