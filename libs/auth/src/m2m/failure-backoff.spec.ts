import { describe, expect, it } from 'vitest';
import { backoffUntil, decodeFailure, encodeFailure, MAX_FAILURE_BACKOFF_MS } from './failure-backoff.js';
import { TokenEndpointError, TokenEndpointTimeoutError, TokenEndpointUnreachableError } from './m2m.errors.js';

describe('failure back-off', () => {
  const now = 1_000_000;

  it('the_window_is_the_backoff_or_a_longer_retry_after_capped_at_a_minute', () => {
    expect(backoffUntil(new TokenEndpointUnreachableError('ECONNREFUSED'), now, 2000)).toBe(now + 2000);
    expect(backoffUntil(new TokenEndpointError(503, 'x', undefined, 1), now, 2000)).toBe(now + 2000);
    expect(backoffUntil(new TokenEndpointError(429, 'x', undefined, 30), now, 2000)).toBe(now + 30_000);
    expect(backoffUntil(new TokenEndpointError(429, 'x', undefined, 86_400), now, 2000)).toBe(now + MAX_FAILURE_BACKOFF_MS);
    // Final OAuth answers are not remembered.
    expect(backoffUntil(new TokenEndpointError(401, 'invalid_client'), now, 2000)).toBe(now);
  });

  it('a_shared_failure_comes_back_as_its_class_with_its_fields_and_keeps_its_deadline', () => {
    const shared = decodeFailure(encodeFailure(new TokenEndpointError(429, 'too_many_requests', 'slow down', 7), now + 7000), now);
    expect(shared).toBeInstanceOf(TokenEndpointError);
    expect(shared).toMatchObject({
      code: 'ERR_M2M_TOKEN_ENDPOINT',
      status: 429,
      error: 'too_many_requests',
      error_description: 'slow down',
      retryAfterSeconds: 7,
    });
    expect(backoffUntil(shared, now + 1000, 2000)).toBe(now + 7000);
    expect(decodeFailure(encodeFailure(new TokenEndpointTimeoutError(5000), now + 1), now)).toMatchObject({
      code: 'ERR_M2M_TOKEN_ENDPOINT_TIMEOUT',
      timeoutMs: 5000,
    });
    expect(decodeFailure(encodeFailure(new TokenEndpointUnreachableError('ECONNREFUSED'), now + 1), now)?.code).toBe(
      'ERR_M2M_TOKEN_ENDPOINT_UNREACHABLE',
    );
  });

  it('a_lapsed_or_foreign_or_overlong_entry_is_ignored_or_capped', () => {
    expect(decodeFailure(encodeFailure(new TokenEndpointUnreachableError('x'), now), now)).toBeUndefined();
    for (const raw of ['', 'null', '{"code":"x"}', '[1]', 'not json']) expect(decodeFailure(raw, now), raw).toBeUndefined();
    // Whoever can write Redis cannot stall this replica past one maximal window.
    expect(backoffUntil(decodeFailure(JSON.stringify({ until: now + 10 ** 12, code: 'ERR_M2M_TOKEN_ENDPOINT' }), now), now, 2000)).toBe(
      now + MAX_FAILURE_BACKOFF_MS,
    );
  });
});
