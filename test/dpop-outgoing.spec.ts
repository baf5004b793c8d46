/**
 * Outgoing DPoP (RFC 9449) against real peers: the M2M client gets DPoP-bound tokens from
 * `oidc-provider` 9 (with and without its server nonces at the token endpoint) and calls the real
 * AppModule with `AUTH_DPOP=required` through a `dpop: true` sibling client, a fresh proof per request.
 */
import type { INestApplication } from '@nestjs/common';
import { AxiosError } from 'axios';
import { decodeJwt, exportPKCS8, generateKeyPair } from 'jose';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DpopClientKey, InvalidTokenResponseError, M2MTokenService, type M2MModuleOptions, SiblingClient } from '@nest-m2m/auth/m2m';
import { createApp } from '../src/bootstrap.js';
import { startOidcProvider, type StartedOidcProvider } from './helpers/oidc-provider.js';
import { TokenEndpointStub } from '../libs/auth/test/token-endpoint.stub.js';

const RESOURCE = 'https://documents.api.test';
const CLIENT = { clientId: 'dpop-service', clientSecret: 'dpop-service-secret-0123456789' };

describe.each([false, true])(
  'M2M client with DPoP against oidc-provider 9 (token endpoint nonces: %s) and the AppModule with AUTH_DPOP=required',
  (nonces) => {
    let provider: StartedOidcProvider;
    let app: INestApplication;
    let tokens: M2MTokenService;
    let privateKeyPem: string;
    let options: M2MModuleOptions;

    beforeAll(async () => {
      provider = await startOidcProvider({
        clients: [{ ...CLIENT, scopes: ['read:documents'] }],
        resources: [{ identifier: RESOURCE, scopes: ['read:documents'] }],
        dpopNonces: nonces,
      });
      app = await createApp(
        {
          env: { NODE_ENV: 'test', AUTH_ISSUER_URL: provider.issuer, AUTH0_AUDIENCE: RESOURCE, AUTH_DPOP: 'required', LOG_LEVEL: 'silent' },
        },
        false,
      );
      await app.listen(0, '127.0.0.1');
      const baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
      privateKeyPem = await exportPKCS8((await generateKeyPair('ES256', { extractable: true })).privateKey);
      options = {
        tokenEndpoint: provider.tokenEndpoint,
        ...CLIENT,
        dpop: { privateKey: privateKeyPem },
        siblings: [
          { name: 'documents', baseUrl, audience: RESOURCE, scopes: ['read:documents'], dpop: true },
          { name: 'documents-bearer', baseUrl, audience: RESOURCE, scopes: ['read:documents'] },
        ],
      };
      tokens = new M2MTokenService(options);
    });
    afterAll(async () => {
      await tokens?.onModuleDestroy();
      await app?.close();
      await provider?.close();
    });

    it('gets_a_dpop_bound_token_bound_to_the_configured_key', async () => {
      provider.resetCounters();
      const token = await tokens.getToken({ audience: RESOURCE, scopes: ['read:documents'], dpop: true });
      expect(token.tokenType.toLowerCase()).toBe('dpop');
      const key = await DpopClientKey.create({ privateKey: privateKeyPem });
      expect(decodeJwt(token.accessToken).cnf).toEqual({ jkt: key.jkt });
      // With nonces the first request is answered use_dpop_nonce and retried once with the nonce.
      expect(provider.tokenRequests()).toBe(nonces ? 2 : 1);
    });

    it('caches_dpop_and_bearer_tokens_apart', async () => {
      const dpop = await tokens.getToken({ audience: RESOURCE, scopes: ['read:documents'], dpop: true });
      const bearer = await tokens.getToken({ audience: RESOURCE, scopes: ['read:documents'] });
      expect(bearer.tokenType.toLowerCase()).toBe('bearer');
      expect(bearer.accessToken).not.toBe(dpop.accessToken);
      expect((await tokens.getToken({ audience: RESOURCE, scopes: ['read:documents'], dpop: true })).accessToken).toBe(dpop.accessToken);
    });

    it('the_dpop_sibling_client_calls_a_dpop_required_api_with_a_fresh_proof_each_time', async () => {
      const documents = new SiblingClient(options.siblings![0]!, tokens);
      for (let i = 0; i < 3; i++) {
        const res = await firstValueFrom(documents.get('/internal/documents/1'));
        expect(res.status).toBe(200);
        expect(res.data).toMatchObject({ id: '1' });
      }
    });

    it('a_bearer_sibling_client_is_refused_by_the_dpop_required_api', async () => {
      const bearer = new SiblingClient(options.siblings![1]!, tokens);
      const error = await firstValueFrom(bearer.get('/internal/data')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AxiosError);
      expect((error as AxiosError).response?.status).toBe(401);
    });
  },
);

describe('DPoP client options', () => {
  it('a_generated_dpop_key_with_a_shared_cache_is_a_startup_error', () => {
    expect(
      () => new M2MTokenService({ tokenEndpoint: 'https://issuer.example/token', ...CLIENT, dpop: {}, cacheUrl: 'redis://127.0.0.1:6379' }),
    ).toThrow("'dpop.privateKey' is required with 'cacheUrl' or 'cache'");
  });

  it('a_dpop_sibling_without_the_module_key_is_a_startup_error', () => {
    expect(
      () =>
        new M2MTokenService({
          tokenEndpoint: 'https://issuer.example/token',
          ...CLIENT,
          siblings: [{ name: 'a', baseUrl: 'https://a.example', audience: 'a', dpop: true }],
        }),
    ).toThrow("'siblings[0].dpop' needs the module's 'dpop' option");
  });

  it('a_bearer_answer_to_a_dpop_token_request_is_refused_not_cached', async () => {
    const stub = await new TokenEndpointStub().start();
    const service = new M2MTokenService({ tokenEndpoint: stub.url, ...CLIENT, dpop: {}, maxAttempts: 1 });
    try {
      const error = await service.getToken({ audience: RESOURCE, dpop: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidTokenResponseError);
      expect((error as Error).message).toBe('Token endpoint answered token_type Bearer to a DPoP token request');
    } finally {
      await service.onModuleDestroy();
      await stub.close();
    }
  });
});
