import { Logger } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, TokenEndpointStub } from '../../test/token-endpoint.stub.js';
import type { M2MModuleOptions } from './m2m.options.js';
import { M2MTokenService } from './m2m-token.service.js';

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
