import { type Attributes, context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/**
 * Spans through `@opentelemetry/api` only: no-ops until the application registers an OpenTelemetry
 * SDK (the API's global), so the package costs nothing to users who do not trace. Attributes follow
 * the semantic conventions (`url.full`, `server.address`, `http.request.method`,
 * `http.response.status_code`, `error.type`); package-specific ones are prefixed `nest_m2m.`. No span
 * carries a token, a client secret, a client assertion or a query string.
 */
const tracer = trace.getTracer('@nest-m2m/auth');

export { type Span, SpanKind };

/** `fn` inside an active span that ends when it settles; a rejection marks the span as failed. */
export function withSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      markFailed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Attributes on the span active here (inside `withSpan`); nothing without one. */
export function setActiveSpanAttributes(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** A span that the caller ends (for work that does not fit one promise, such as axios interceptors). */
export function startSpan(name: string, kind: SpanKind, attributes: Attributes): Span {
  return tracer.startSpan(name, { kind, attributes });
}

/** Error status with the error's stable code (`ERR_AUTH_*`, an OAuth `error`) or class as `error.type`. */
export function markFailed(span: Span, err: unknown): void {
  const e = err as { code?: unknown; error?: unknown; name?: unknown; message?: unknown };
  const type =
    typeof e?.code === 'string' ? e.code : typeof e?.error === 'string' ? e.error : typeof e?.name === 'string' ? e.name : 'Error';
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof e?.message === 'string' ? e.message : type });
}

/** W3C `traceparent`/`tracestate` (whatever propagator the application registered) of `span` into outgoing headers. */
export function injectTraceContext(span: Span, set: (name: string, value: string) => void): void {
  propagation.inject(trace.setSpan(context.active(), span), undefined, { set: (_carrier, name, value) => set(name, value) });
}

/** `url.full`, `server.address` and `server.port` of a URL, without user info or query (they may carry credentials). */
export function urlAttributes(value: string): Attributes {
  try {
    const url = new URL(value);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return { 'url.full': `${url.origin}${url.pathname}`, 'server.address': url.hostname, 'server.port': port };
  } catch {
    return {};
  }
}
