import { Logger } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { manualClock, TokenEndpointStub } from '../../test/token-endpoint.stub.js';
import type { M2MModuleOptions } from './m2m.options.js';
import { M2MTokenService } from './m2m-token.service.js';
import type { CachedToken, TokenCache } from './token-cache.js';

const API = 'https://api.example.test';

let endpoint: TokenEndpointStub;
let clock: ReturnType<typeof manualClock>;
let service: M2MTokenService;
const make = (extra: Partial<M2MModuleOptions> = {}) =>
  new M2MTokenService({ tokenEndpoint: endpoint.url, clientId: 'svc', clientSecret: 'secret', maxAttempts: 3, clock, ...extra });

beforeAll(async () => {
  Logger.overrideLogger(false);
  endpoint = await new TokenEndpointStub().start();
});
afterAll(async () => {
  await endpoint.close();
  Logger.overrideLogger(['log', 'warn', 'error']);
});
beforeEach(() => {
  endpoint.requests = 0;
  endpoint.expiresIn = 3600;
  clock = manualClock();
});
afterEach(async () => {
  await service.onModuleDestroy();
  endpoint.reset();
});

describe('M2MTokenService decisions follow the injected clock', () => {
  beforeEach(() => {
    service = make({ refreshBufferSeconds: 60, maxAttempts: 1 });
  });

  it('a_token_is_served_from_the_cache_until_the_clock_passes_its_refresh_point_then_renewed_without_waiting', async () => {
    const first = await service.getToken({ audience: API });
    expect(first.expiresAt.getTime()).toBe(clock.now() + 3600_000);
    // The refresh point is 60 s before expiry, plus up to 20 % jitter: 60-72 s.
    clock.advance(3600_000 - 72_001);
    expect((await service.getToken({ audience: API })).accessToken).toBe(first.accessToken);
    expect(endpoint.requests).toBe(1);
    clock.advance(72_001 - 59_000);
    const renewed = await service.getToken({ audience: API });
    expect(renewed.accessToken).not.toBe(first.accessToken);
    expect(endpoint.requests).toBe(2);
  });

  it('with_the_issuer_failing_a_token_serves_until_the_clock_reaches_its_expiry_and_not_after', async () => {
    const first = await service.getToken({ audience: API });
    endpoint.failNext(100);
    clock.advance(3600_000 - 1000);
    expect((await service.getToken({ audience: API })).accessToken).toBe(first.accessToken);
    clock.advance(1000);
    await expect(service.getToken({ audience: API })).rejects.toMatchObject({ code: 'ERR_M2M_TOKEN_ENDPOINT', status: 503 });
  });
});

describe('M2MTokenService while the issuer is down', () => {
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: unknown) => {
        const { code, status } = e as { code?: string; status?: number };
        return `${code} ${status}`;
      },
    );

  it('one_failure_is_shared_by_every_caller_for_the_backoff_window_then_the_issuer_is_asked_again', async () => {
    service = make({ failureBackoffMs: 5000 });
    endpoint.failNext(6, 503);
    const first = await Promise.all(Array.from({ length: 5 }, () => outcome(service.getToken({ audience: API }))));
    expect(first).toEqual(Array(5).fill('ERR_M2M_TOKEN_ENDPOINT 503'));
    expect(endpoint.requests).toBe(3);
    // Before: each of these cost another 3 requests. Now they fail at once with the shared failure.
    for (let i = 0; i < 20; i++) expect(await outcome(service.getToken({ audience: API }))).toBe('ERR_M2M_TOKEN_ENDPOINT 503');
    clock.advance(4999);
    expect(await outcome(service.getToken({ audience: API }))).toBe('ERR_M2M_TOKEN_ENDPOINT 503');
    expect(endpoint.requests).toBe(3);
    // Errors are not served past the window: the next caller asks again (and the issuer is back after 3 more failures).
    clock.advance(1);
    expect(await outcome(service.getToken({ audience: API }))).toBe('ERR_M2M_TOKEN_ENDPOINT 503');
    expect(endpoint.requests).toBe(6);
    clock.advance(5000);
    expect(await outcome(service.getToken({ audience: API }))).toBe('ok');
    expect(endpoint.requests).toBe(7);
  });

  it('a_retry_after_from_the_issuer_sets_the_backoff_window', async () => {
    service = make({ failureBackoffMs: 1000 });
    endpoint.failNext(1, 429, 30);
    expect(await outcome(service.getToken({ audience: API }))).toBe('ERR_M2M_TOKEN_ENDPOINT 429');
    expect(endpoint.requests).toBe(1); // a Retry-After beyond the retry budget ends the retries
    clock.advance(29_999);
    expect(await outcome(service.getToken({ audience: API }))).toBe('ERR_M2M_TOKEN_ENDPOINT 429');
    expect(endpoint.requests).toBe(1);
    clock.advance(1);
    expect(await outcome(service.getToken({ audience: API }))).toBe('ok');
    expect(endpoint.requests).toBe(2);
  });

  it('a_still_valid_token_keeps_serving_during_the_backoff_and_other_audiences_are_not_affected', async () => {
    service = make({ failureBackoffMs: 5000, refreshBufferSeconds: 60 });
    const token = await service.getToken({ audience: API });
    endpoint.failNext(3, 503);
    clock.advance(3600_000 - 30_000); // past the refresh point, before expiry
    expect((await service.getToken({ audience: API })).accessToken).toBe(token.accessToken);
    expect(endpoint.requests).toBe(4);
    for (let i = 0; i < 5; i++) expect((await service.getToken({ audience: API })).accessToken).toBe(token.accessToken);
    expect(endpoint.requests).toBe(4);
    expect(await outcome(service.getToken({ audience: 'https://other.example.test' }))).toBe('ok');
  });
});

describe('M2MTokenService entries, counters, events and options', () => {
  afterEach(() => vi.restoreAllMocks());

  it('scopes_name_one_entry_whatever_their_order_duplicates_or_empty_members', async () => {
    service = make();
    const first = await service.getToken({ audience: API, scopes: ['b', 'a', 'a', ''] });
    expect((await service.getToken({ audience: API, scopes: ['a', 'b'] })).accessToken).toBe(first.accessToken);
    expect(endpoint.requests).toBe(1);
    expect((await service.getToken({ audience: API, scopes: ['a'] })).accessToken).not.toBe(first.accessToken);
    expect((await service.getToken({ audience: API })).accessToken).not.toBe(first.accessToken);
    expect((await service.getToken({ audience: `${API}/other`, scopes: ['a', 'b'] })).accessToken).not.toBe(first.accessToken);
    expect(endpoint.requests).toBe(4);
  });

  it('dpop_and_bearer_tokens_of_one_audience_are_separate_entries', async () => {
    service = make({ dpop: {} });
    endpoint.tokenType = 'DPoP';
    const dpop = await service.getToken({ audience: API, dpop: true });
    expect(dpop.tokenType).toBe('DPoP');
    endpoint.tokenType = 'Bearer';
    const bearer = await service.getToken({ audience: API });
    expect(bearer.accessToken).not.toBe(dpop.accessToken);
    await service.invalidate({ audience: API, dpop: true });
    expect((await service.getToken({ audience: API })).accessToken).toBe(bearer.accessToken);
    expect(endpoint.requests).toBe(2);
  });

  it('dpop_calls_without_the_dpop_option_are_a_type_error', async () => {
    service = make();
    await expect(service.getToken({ audience: API, dpop: true })).rejects.toThrow(TypeError);
    await expect(service.dpopProof({ htm: 'GET', htu: API })).rejects.toThrow("'dpop' option");
    await expect(service.rememberDpopNonce(API, 'n')).rejects.toThrow(TypeError);
    expect(endpoint.requests).toBe(0);
  });

  it('a_dpop_key_that_does_not_import_fails_the_dpop_calls_only', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      service = make({ dpop: { privateKey: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----' } });
      await new Promise((resolve) => setImmediate(resolve));
      await expect(service.getToken({ audience: API, dpop: true })).rejects.toThrow();
      await expect(service.getToken({ audience: API })).resolves.toMatchObject({ tokenType: 'Bearer' });
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('dpop_proofs_carry_the_nonce_the_service_was_told_to_remember', async () => {
    service = make({ dpop: {} });
    expect(await service.rememberDpopNonce(`${API}/a`, 'n-1')).toBe(true);
    expect(await service.rememberDpopNonce(`${API}/b`, 'n-1')).toBe(false);
    const proof = decodeJwt(await service.dpopProof({ htm: 'GET', htu: `${API}/c?q=1` }));
    expect(proof).toMatchObject({ htm: 'GET', htu: `${API}/c`, nonce: 'n-1' });
  });

  it('stats_count_token_requests_cache_hits_misses_and_failed_renewals', async () => {
    service = make({ maxAttempts: 2 });
    endpoint.failNext(1, 429, 0);
    await service.getToken({ audience: API });
    expect(service.stats()).toEqual({ tokenRequests: 2, cacheHits: 0, cacheMisses: 1, failures: 0 });
    await service.getToken({ audience: API });
    await service.getAuthorizationHeader({ audience: API });
    endpoint.failNext(2, 429, 0);
    await expect(service.getToken({ audience: `${API}/other` })).rejects.toMatchObject({ status: 429 });
    const stats = service.stats();
    expect(stats).toEqual({ tokenRequests: 4, cacheHits: 2, cacheMisses: 2, failures: 1 });
    stats.cacheHits = 100;
    expect(service.stats().cacheHits).toBe(2);
  });

  it('max_attempts_defaults_to_three', async () => {
    service = make({ maxAttempts: undefined });
    endpoint.failNext(3, 429, 0);
    await expect(service.getToken({ audience: API })).rejects.toMatchObject({ status: 429 });
    expect(endpoint.requests).toBe(3);
  });

  it('the_refresh_buffer_defaults_to_60_s_before_expiry', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    service = make();
    const first = await service.getToken({ audience: API });
    clock.advance(3600_000 - 60_001);
    expect((await service.getToken({ audience: API })).accessToken).toBe(first.accessToken);
    clock.advance(1);
    expect((await service.getToken({ audience: API })).accessToken).not.toBe(first.accessToken);
  });

  it('events_name_audience_attempt_scopes_and_expiry_and_never_carry_the_token', async () => {
    service = make({ maxAttempts: 2, refreshBufferSeconds: 60 });
    const events: Array<[string, unknown]> = [];
    for (const name of ['token_request', 'token_issued', 'failure'] as const) {
      service.events.on(name, (payload: unknown) => events.push([name, payload]));
    }
    endpoint.failNext(1, 429, 0);
    const token = await service.getToken({ audience: API, scopes: ['b', 'a'] });
    expect(events).toEqual([
      ['token_request', { audience: API, attempt: 1 }],
      ['token_request', { audience: API, attempt: 2 }],
      ['token_issued', { audience: API, scopes: ['a', 'b'], expiresAt: new Date(clock.now() + 3600_000) }],
    ]);
    events.length = 0;
    endpoint.failNext(1, 400);
    await expect(service.getToken({ audience: `${API}/x` })).rejects.toMatchObject({ status: 400 });
    clock.advance(3600_000 - 30_000);
    endpoint.failNext(1, 400);
    expect((await service.getToken({ audience: API, scopes: ['a', 'b'] })).accessToken).toBe(token.accessToken);
    expect(events.filter(([name]) => name === 'failure')).toEqual([
      ['failure', { audience: `${API}/x`, scopes: [], error: expect.objectContaining({ status: 400 }), servedStale: false }],
      ['failure', { audience: API, scopes: ['a', 'b'], error: expect.objectContaining({ status: 400 }), servedStale: true }],
    ]);
    expect(JSON.stringify(events)).not.toMatch(/token-\d/);
  });

  it('after_a_refused_renewal_the_unexpired_token_serves_for_2_s_before_the_issuer_is_asked_again', async () => {
    service = make({ refreshBufferSeconds: 60 });
    const first = await service.getToken({ audience: API });
    clock.advance(3600_000 - 30_000); // past the refresh point, not expired
    endpoint.failNext(1, 400); // a final refusal: no shared back-off, only the stale window
    expect((await service.getToken({ audience: API })).accessToken).toBe(first.accessToken);
    expect(endpoint.requests).toBe(2);
    clock.advance(1_999);
    expect((await service.getToken({ audience: API })).accessToken).toBe(first.accessToken);
    expect(endpoint.requests).toBe(2);
    clock.advance(1);
    const renewed = await service.getToken({ audience: API });
    expect(renewed.accessToken).not.toBe(first.accessToken);
    expect(endpoint.requests).toBe(3);
    // Renewed: the stale window is over for good, the new token is fresh.
    clock.advance(1);
    expect((await service.getToken({ audience: API })).accessToken).toBe(renewed.accessToken);
  });

  it('invalidate_forgets_that_token_only', async () => {
    service = make();
    const first = await service.getToken({ audience: API });
    await service.invalidate({ audience: API, accessToken: 'token-that-is-not-cached' });
    expect((await service.getToken({ audience: API })).accessToken).toBe(first.accessToken);
    await service.invalidate({ audience: API, accessToken: first.accessToken });
    const second = await service.getToken({ audience: API });
    expect(second.accessToken).not.toBe(first.accessToken);
    await service.invalidate({ audience: API });
    expect((await service.getToken({ audience: API })).accessToken).not.toBe(second.accessToken);
  });

  it('quota_headers_of_the_token_endpoint_are_kept_and_emitted_and_a_low_quota_is_logged', async () => {
    service = make();
    const warn = vi.spyOn(Logger.prototype, 'warn');
    const emitted: unknown[] = [];
    service.events.on('quota', (q) => emitted.push(q));
    expect(service.quota()).toBeUndefined();
    endpoint.headers = { 'auth0-client-quota-limit': 'b=per_day;q=1000;r=5;t=600' };
    await service.getToken({ audience: API });
    expect(service.quota()).toMatchObject({ clientId: 'svc', client: [{ bucket: 'per_day', limit: 1000, remaining: 5 }] });
    expect(emitted).toEqual([service.quota()]);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/quota of client svc is low: client quota per_day: 5 of 1000/));
    expect((warn.mock.contexts[0] as { context?: string }).context).toBe('M2MTokenService');
    endpoint.headers = {};
    await service.getToken({ audience: `${API}/other` });
    expect(service.quota()).toBe(emitted[0]); // an answer without quota headers keeps the last figures
    expect(emitted).toHaveLength(1);
  });

  it('a_cache_of_ones_own_that_hands_back_an_expired_token_is_not_trusted', async () => {
    // A lax TokenCache (the `cache` option) that ignores expiry: expiry still rules.
    const entries = new Map<string, CachedToken>();
    const lax: TokenCache = {
      get: async (key) => entries.get(key),
      set: async (key, token) => void entries.set(key, token),
      delete: async (key) => void entries.delete(key),
      close: async () => undefined,
    };
    let closed = false;
    lax.close = async () => {
      closed = true;
    };
    service = new M2MTokenService({ tokenEndpoint: endpoint.url, clientId: 'svc', clientSecret: 'secret', maxAttempts: 1, clock }, lax);
    const first = await service.getToken({ audience: API });
    expect(entries.size).toBe(1); // the cache given is the one used
    clock.advance(3600_000);
    endpoint.failNext(1, 503);
    await expect(service.getToken({ audience: API })).rejects.toMatchObject({ status: 503 });
    // Inside the failure back-off the expired token is not served either.
    await expect(service.getToken({ audience: API })).rejects.toMatchObject({ status: 503 });
    clock.advance(10_000); // past the failure back-off
    expect((await service.getToken({ audience: API })).accessToken).not.toBe(first.accessToken);
    await service.onModuleDestroy();
    expect(closed).toBe(true);
  });

  it('background_refresh_renews_at_the_refresh_point_without_a_caller', async () => {
    endpoint.expiresIn = 1; // refresh point 0.4-0.5 s ahead on the (real-time) timer
    service = make({ backgroundRefresh: true, refreshBufferSeconds: 60 });
    await service.getToken({ audience: API });
    clock.advance(1_000); // the timer finds the token due when it fires
    await vi.waitFor(() => expect(endpoint.requests).toBe(2), { timeout: 10_000 });
  });

  it('options_are_checked_when_the_service_is_built', () => {
    expect(() => make({ clientId: '' })).toThrow(/'clientId'/);
    service = make();
  });

  it('the_scope_the_issuer_granted_is_handed_on_and_none_is_invented', async () => {
    service = make();
    expect(Object.keys(await service.getToken({ audience: API }))).not.toContain('scope');
    endpoint.scope = 'read write';
    expect(await service.getToken({ audience: `${API}/other` })).toMatchObject({ scope: 'read write', tokenType: 'Bearer' });
  });

  it('past_the_2_s_stale_window_a_still_valid_token_serves_for_the_rest_of_the_failure_backoff', async () => {
    service = make({ failureBackoffMs: 5000, refreshBufferSeconds: 60, maxAttempts: 1 });
    const token = await service.getToken({ audience: API });
    endpoint.failNext(1, 503);
    clock.advance(3600_000 - 30_000);
    expect((await service.getToken({ audience: API })).accessToken).toBe(token.accessToken);
    clock.advance(2_001); // the stale window is over, the back-off is not
    expect((await service.getToken({ audience: API })).accessToken).toBe(token.accessToken);
    expect(endpoint.requests).toBe(2);
  });

  it('an_audience_and_scopes_never_share_an_entry_with_a_longer_audience', async () => {
    service = make();
    const scoped = await service.getToken({ audience: API, scopes: ['x'] });
    expect((await service.getToken({ audience: `${API}x` })).accessToken).not.toBe(scoped.accessToken);
    expect((await service.getToken({ audience: `${API}\nx` })).accessToken).not.toBe(scoped.accessToken);
    const two = await service.getToken({ audience: API, scopes: ['a', 'b'] });
    expect((await service.getToken({ audience: API, scopes: ['ab'] })).accessToken).not.toBe(two.accessToken);
  });

  it('the_token_request_names_the_audience_and_the_sorted_scopes', async () => {
    service = make();
    await service.getToken({ audience: API, scopes: ['write', 'read'] });
    expect(endpoint.lastBody).toMatchObject({ resource: API, scope: 'read write' }); // RFC 8707 (the standard dialect)
  });

  it('a_failed_renewal_is_logged_with_its_audience_and_whether_the_cached_token_still_serves', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn');
    service = make({ refreshBufferSeconds: 60 });
    endpoint.failNext(1, 400);
    await expect(service.getToken({ audience: API })).rejects.toMatchObject({ status: 400 });
    expect(warn).toHaveBeenLastCalledWith(
      expect.stringMatching(new RegExp(`^Token request for audience ${API} failed: .*stub answered 400$`)),
    );
    await service.getToken({ audience: API });
    clock.advance(3600_000 - 30_000);
    endpoint.failNext(1, 400);
    await service.getToken({ audience: API });
    expect(warn).toHaveBeenLastCalledWith(expect.stringMatching(/stub answered 400 \(still serving the cached token until it expires\)$/));
  });

  it('with_background_refresh_a_failed_renewal_is_tried_again_2_s_later_while_the_token_still_serves', async () => {
    endpoint.expiresIn = 1; // refresh point 0.4-0.5 s ahead on the (real-time) timer
    service = make({ backgroundRefresh: true, refreshBufferSeconds: 60 });
    await service.getToken({ audience: API });
    const failures: boolean[] = [];
    service.events.on('failure', ({ servedStale }) => failures.push(servedStale));
    endpoint.failNext(1, 400); // the timer's renewal is refused; the token is still unexpired
    clock.advance(600);
    await vi.waitFor(() => expect(failures).toEqual([true]), { timeout: 10_000 }); // handled, retry scheduled
    expect(endpoint.requests).toBe(2);
    clock.advance(2_000);
    await vi.waitFor(() => expect(endpoint.requests).toBe(3), { timeout: 10_000 });
    expect(service.stats().failures).toBe(1);
  });
});
