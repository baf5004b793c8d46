import { setTimeout as sleep } from 'node:timers/promises';
import { M2MError, TokenEndpointError } from './m2m.errors.js';

export interface RetryPolicy {
  maxAttempts: number;
  /** First back-off step; doubles per attempt. */
  baseDelayMs?: number;
  /** Cap of one back-off step. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this ends the retries instead of being cut short (being rude to a rate limiter costs quota). */
  maxRetryAfterMs?: number;
}

/**
 * Runs `attempt` until it succeeds, fails with a final error, or `maxAttempts` is reached.
 *
 * Retried: errors whose `retryable` flag is set (network errors, timeouts, 5xx, 429). Final: OAuth
 * 4xx answers (`invalid_client`, `access_denied`, `invalid_scope`…), which no retry can fix.
 * Back-off is exponential with "equal jitter" so a fleet that failed together does not retry
 * together; a `Retry-After` is honoured as given. Total time is bounded by
 * maxAttempts × per-attempt timeout + (maxAttempts − 1) × max(maxDelayMs, maxRetryAfterMs).
 */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const { maxAttempts, baseDelayMs = 200, maxDelayMs = 2000, maxRetryAfterMs = 10_000 } = policy;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= maxAttempts || !(error instanceof M2MError) || !error.retryable) throw error;
      const retryAfterMs =
        error instanceof TokenEndpointError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : undefined;
      if (retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs) throw error;
      const step = Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
      const backoff = step / 2 + Math.random() * (step / 2);
      await sleep(retryAfterMs !== undefined ? retryAfterMs + Math.random() * 100 : backoff);
    }
  }
}
