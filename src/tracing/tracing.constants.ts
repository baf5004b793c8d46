/** The running `Tracing` (the SDK wired from OTEL_*), or undefined when tracing is off. */
export const TRACING = 'nest_m2m:tracing';
