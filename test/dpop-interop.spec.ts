/**
 * Incoming DPoP against independent peers: `oidc-provider` 9 (certified, its dPoP feature) issues
 * DPoP-bound JWT access tokens, and `openid-client` 6 obtains them and calls the real AppModule with
 * its own proofs (`Authorization: DPoP`, `ath`, fresh `jti` per request) on both platforms.
 */
import type { INestApplication } from '@nestjs/common';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/bootstrap.js';
import { startOidcProvider, type StartedOidcProvider } from './helpers/oidc-provider.js';

const RESOURCE = 'https://documents.api.test';
const CLIENT = { clientId: 'dpop-caller', clientSecret: 'dpop-caller-secret-0123456789' };

async function appOn(provider: StartedOidcProvider, env: Record<string, string>): Promise<INestApplication> {
  const app = await createApp(
    { env: { NODE_ENV: 'test', AUTH_ISSUER_URL: provider.issuer, AUTH0_AUDIENCE: RESOURCE, LOG_LEVEL: 'silent', ...env } },
    false,
  );
  await app.listen(0, '127.0.0.1');
  return app;
}

describe.each([
  ['express', false],
  ['fastify', true],
])('openid-client 6 with DPoP tokens from oidc-provider 9, against the AppModule on %s (provider nonces: %s)', (platform, nonces) => {
  let provider: StartedOidcProvider;
  let app: INestApplication;
  let config: oidc.Configuration;
  let dpop: oidc.DPoPHandle;
  let url: string;

  beforeAll(async () => {
    provider = await startOidcProvider({
      clients: [{ ...CLIENT, scopes: ['read:documents'] }],
      resources: [{ identifier: RESOURCE, scopes: ['read:documents'] }],
      dpopNonces: nonces,
    });
    app = await appOn(provider, { HTTP_PLATFORM: platform });
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    config = await oidc.discovery(
      new URL(provider.issuer),
      CLIENT.clientId,
      CLIENT.clientSecret,
      oidc.ClientSecretBasic(CLIENT.clientSecret),
      {
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http to loopback test servers is the point here
        execute: [oidc.allowInsecureRequests],
      },
    );
    dpop = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  });
  afterAll(async () => {
    await app?.close();
    await provider?.close();
  });

  const token = () => oidc.clientCredentialsGrant(config, { resource: RESOURCE, scope: 'read:documents' }, { DPoP: dpop });

  it('the_provider_issues_a_dpop_bound_jwt', async () => {
    const tokens = await token();
    expect(tokens.token_type).toBe('dpop');
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: expect.any(String) });
  });

  it('openid_client_calls_a_protected_route_with_dpop_and_is_accepted_twice', async () => {
    const { access_token } = await token();
    // The second call hits the verified-token cache: a fresh proof is still required, and given.
    for (let i = 0; i < 2; i++) {
      const res = await oidc.fetchProtectedResource(
        config,
        access_token,
        new URL(`${url}/internal/documents/1`),
        'GET',
        undefined,
        undefined,
        { DPoP: dpop },
      );
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: '1' });
    }
  });

  it('the_same_token_sent_as_bearer_is_refused', async () => {
    const { access_token } = await token();
    const res = await request(app.getHttpServer()).get('/internal/data').set('Authorization', `Bearer ${access_token}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error_description="DPoP-bound token presented as Bearer"');
  });

  it('the_token_with_a_proof_from_another_openid_client_key_is_refused', async () => {
    const { access_token } = await token();
    const thief = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    const res = await oidc
      .fetchProtectedResource(config, access_token, new URL(`${url}/internal/data`), 'GET', undefined, undefined, { DPoP: thief })
      .catch((e: unknown) => e);
    const status =
      res instanceof Response
        ? res.status
        : ((res as { response?: Response; status?: number }).response?.status ?? (res as { status?: number }).status);
    expect(status).toBe(401);
  });
});
