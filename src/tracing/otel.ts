import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

type Env = Record<string, string | undefined>;

export interface Tracing {
  /** Where spans go (OTLP/HTTP, JSON). */
  readonly tracesUrl: string;
  /** Exports what is buffered, then unregisters the globals. */
  shutdown(): Promise<void>;
}

/**
 * The OpenTelemetry SDK from the standard `OTEL_*` variables, or nothing: tracing is on only when an
 * OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT`
 * + `/v1/traces`), and off with `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. Spans go
 * to that endpoint as OTLP/HTTP JSON; `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TIMEOUT`
 * are read by the exporter. W3C trace context and baggage are the propagators; the context manager
 * is AsyncLocalStorage, so a request's span is the parent of everything done for it.
 */
export function startTracing(env: Env): Tracing | undefined {
  const tracesUrl = tracesEndpoint(env);
  if (!tracesUrl || env.OTEL_SDK_DISABLED?.toLowerCase() === 'true' || env.OTEL_TRACES_EXPORTER?.toLowerCase() === 'none') return undefined;
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      ...resourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES),
      'service.name': env.OTEL_SERVICE_NAME || resourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES)['service.name'] || 'nest-m2m',
    }),
    sampler: sampler(env),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: tracesUrl }),
        scheduledDelayMillis: positive(env.OTEL_BSP_SCHEDULE_DELAY, 5000),
        maxQueueSize: positive(env.OTEL_BSP_MAX_QUEUE_SIZE, 2048),
        maxExportBatchSize: positive(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512),
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);
  return {
    tracesUrl,
    async shutdown() {
      await provider.shutdown();
      // Another app in the same process (tests) may register its own.
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

function tracesEndpoint(env: Env): string | undefined {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
}

/** `OTEL_RESOURCE_ATTRIBUTES`: `key=value,key=value`, values percent-encoded. */
function resourceAttributes(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) continue;
    try {
      out[pair.slice(0, i).trim()] = decodeURIComponent(pair.slice(i + 1).trim());
    } catch {
      // a malformed value is left out, as the specification asks
    }
  }
  return out;
}

/** `OTEL_TRACES_SAMPLER` (+ `OTEL_TRACES_SAMPLER_ARG`): the specification's built-in samplers; default parentbased_always_on. */
function sampler(env: Env): Sampler {
  const ratio = Math.min(1, Math.max(0, Number(env.OTEL_TRACES_SAMPLER_ARG ?? 1) || 0));
  switch ((env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').toLowerCase()) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
