import { Controller, Get, Header, Inject } from '@nestjs/common';
// `contentType` is not a named export Node's ESM loader can see in this CommonJS package; the static is.
import { Registry } from 'prom-client';
import { Public } from '@nest-m2m/auth';
import { METRICS } from './metrics.constants.js';
import type { Metrics } from './metrics.js';

/** Prometheus scrape endpoint; public like /health (internal network, see DESIGN.md). */
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS) private readonly metrics: Metrics) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
