import { OAuthError } from './errors.js';

export interface RateLimitOptions {
  /** Requests a full bucket holds (the burst). */
  limit: number;
  /** Seconds in which an empty bucket refills completely. */
  windowSeconds: number;
}

/** Our choice: Auth0 publishes per-plan figures, not one number; 100 a second never slows a test suite. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimitOptions> = { limit: 100, windowSeconds: 1 };

/** Auth0's 429 text for its Authentication API rate limits ("Rate Limit Policy"). */
export const RATE_LIMIT_MESSAGE = 'Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.';

/**
 * The token endpoint's rate limit: one token bucket for the whole issuer (a tenant), as Auth0
 * describes its limits (a bucket of request tokens that refills at a sustained rate). Every answer
 * carries `X-RateLimit-Limit` (bucket size), `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch
 * seconds when the bucket is full again), as Auth0's do.
 */
export class RateLimiter {
  private tokens: number;
  private updatedAt: number | undefined;

  constructor(private readonly options: RateLimitOptions) {
    if (!Number.isInteger(options.limit) || options.limit <= 0)
      throw new TypeError(`rateLimit.limit must be a positive integer, got ${options.limit}`);
    if (!(options.windowSeconds > 0)) throw new TypeError(`rateLimit.windowSeconds must be positive, got ${options.windowSeconds}`);
    this.tokens = options.limit;
  }

  /** The headers of an empty bucket, for an injected 429 that should look like a real one. */
  exhaustedHeaders(secondsToReset: number, now: number): Record<string, string> {
    return {
      'X-RateLimit-Limit': String(this.options.limit),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(Math.ceil(now + secondsToReset)),
    };
  }

  reset(): void {
    this.tokens = this.options.limit;
    this.updatedAt = undefined;
  }

  /** Takes one request token: the headers to send, or a 429 OAuthError with them when the bucket is empty. */
  take(now: number): Record<string, string> {
    const { limit, windowSeconds } = this.options;
    const perSecond = limit / windowSeconds;
    if (this.updatedAt !== undefined) this.tokens = Math.min(limit, this.tokens + (now - this.updatedAt) * perSecond);
    this.updatedAt = now;
    const allowed = this.tokens >= 1;
    if (allowed) this.tokens -= 1;
    const headers = {
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': String(Math.floor(this.tokens)),
      'X-RateLimit-Reset': String(Math.ceil(now + (limit - this.tokens) / perSecond)),
    };
    if (allowed) return headers;
    const retryAfter = Math.max(1, Math.ceil((1 - this.tokens) / perSecond));
    throw new OAuthError(429, 'too_many_requests', RATE_LIMIT_MESSAGE, { ...headers, 'Retry-After': String(retryAfter) });
  }
}
