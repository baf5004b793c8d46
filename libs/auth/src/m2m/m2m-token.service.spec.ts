import { Logger } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, TokenEndpointStub } from '../../test/token-endpoint.stub.js';
import { M2MTokenService } from './m2m-token.service.js';

const API = 'https://api.example.test';

describe('M2MTokenService decisions follow the injected clock', () => {
  let endpoint: TokenEndpointStub;
  let clock: ReturnType<typeof manualClock>;
  let service: M2MTokenService;

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
    service = new M2MTokenService({
      tokenEndpoint: endpoint.url,
      clientId: 'svc',
      clientSecret: 'secret',
      refreshBufferSeconds: 60,
      maxAttempts: 1,
      clock,
    });
  });
  afterEach(() => service.onModuleDestroy());

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
