import { Logger } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EndlessBodyServer } from '../../test/endless-body.server.js';
import { M2MTokenService } from './m2m-token.service.js';
import { TokenEndpointClient } from './token-endpoint.client.js';

const LIMIT = 64 * 1024;

describe('token endpoint answers are capped while they stream', () => {
  let server: EndlessBodyServer;
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));
  afterEach(() => server.close());

  const client = (o: { maxAttempts?: number } = {}) => ({
    tokenEndpoint: `${server.url}/oauth/token`,
    clientId: 'svc',
    clientSecret: 'secret',
    requestTimeoutMs: 10_000,
    ...o,
  });

  it('a_chunked_token_response_past_64_KiB_is_a_final_error_with_a_stable_code', async () => {
    server = await new EndlessBodyServer({ prefix: '{"access_token":"' }).start();
    const error = await new TokenEndpointClient(client()).requestToken({ audience: 'https://api' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_M2M_TOKEN_RESPONSE_TOO_LARGE',
      retryable: false,
      message: `Token endpoint answered a body over ${LIMIT} bytes`,
    });
    expect(server.sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('an_error_answer_past_64_KiB_is_capped_too', async () => {
    server = await new EndlessBodyServer({ status: 503, prefix: '{"error":"server_error","error_description":"' }).start();
    await expect(new TokenEndpointClient(client()).requestToken({ audience: 'https://api' })).rejects.toMatchObject({
      code: 'ERR_M2M_TOKEN_RESPONSE_TOO_LARGE',
    });
    expect(server.sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('the_token_service_does_not_retry_a_too_large_answer', async () => {
    server = await new EndlessBodyServer({ prefix: '{"access_token":"' }).start();
    const service = new M2MTokenService(client({ maxAttempts: 3 }));
    try {
      await expect(service.getToken({ audience: 'https://api' })).rejects.toMatchObject({ code: 'ERR_M2M_TOKEN_RESPONSE_TOO_LARGE' });
      expect(server.requests).toBe(1);
    } finally {
      await service.onModuleDestroy();
    }
  });
});
