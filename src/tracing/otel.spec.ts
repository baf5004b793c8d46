import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from './otel.js';

describe('startTracing (the OpenTelemetry SDK from OTEL_* variables)', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it('tracing_is_off_without_an_otlp_endpoint_or_when_disabled', () => {
    expect(startTracing({})).toBeUndefined();
    expect(startTracing({ OTEL_SERVICE_NAME: 'x' })).toBeUndefined();
    expect(startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    // Nothing registered: the API's tracer makes non-recording spans.
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(false);
  });

  it('the_endpoint_variables_name_the_traces_url_and_register_a_recording_tracer', () => {
    tracing = startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' });
    expect(tracing?.tracesUrl).toBe('http://127.0.0.1:4318/v1/traces');
    expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(true);
  });

  it('the_traces_endpoint_wins_and_is_used_as_is', () => {
    tracing = startTracing({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9999/custom',
    });
    expect(tracing?.tracesUrl).toBe('http://127.0.0.1:9999/custom');
  });
});
