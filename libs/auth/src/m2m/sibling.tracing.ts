import { AxiosError, AxiosHeaders, type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { injectTraceContext, markFailed, type Span, SpanKind, startSpan, urlAttributes } from '../tracing.js';

const SPAN = Symbol('nest_m2m:sibling_span');
type TracedConfig = InternalAxiosRequestConfig & { [SPAN]?: Span };

/**
 * A CLIENT span per request to a sibling (`<METHOD> <sibling name>`, semantic-convention HTTP
 * attributes, no query string, no header), whose W3C trace context goes out in `traceparent`, so the
 * sibling's own spans join the caller's trace. A retry after `invalid_token` is a span of its own.
 */
export function traceSiblingCalls(axiosRef: AxiosInstance, siblingName: string): void {
  axiosRef.interceptors.request.use((config: TracedConfig) => {
    const method = (config.method ?? 'get').toUpperCase();
    const span = startSpan(`${method} ${siblingName}`, SpanKind.CLIENT, {
      'http.request.method': method,
      'nest_m2m.sibling': siblingName,
      ...urlAttributes(axiosRef.getUri(config)),
    });
    config.headers = AxiosHeaders.from(config.headers);
    injectTraceContext(span, (name, value) => config.headers.set(name, value));
    config[SPAN] = span;
    return config;
  });
  axiosRef.interceptors.response.use(
    (response: AxiosResponse) => {
      const span = take(response.config as TracedConfig);
      span?.setAttribute('http.response.status_code', response.status);
      span?.end();
      return response;
    },
    (error: unknown) => {
      const span = error instanceof AxiosError && error.config ? take(error.config as TracedConfig) : undefined;
      if (span) {
        const status = (error as AxiosError).response?.status;
        if (status !== undefined) span.setAttribute('http.response.status_code', status);
        // HTTP semantic conventions: a status code's error.type is the code itself.
        markFailed(span, status !== undefined ? { code: String(status), message: `answered ${status}` } : error);
        span.end();
      }
      throw error;
    },
  );
}

/** The request's span, once: a retried config gets a new one. */
function take(config: TracedConfig): Span | undefined {
  const span = config[SPAN];
  config[SPAN] = undefined;
  return span;
}
