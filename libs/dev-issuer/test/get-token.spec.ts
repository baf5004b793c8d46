import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AUDIT_API_AUDIENCE,
  DEFAULT_DEV_ISSUER_CONFIG,
  DevIssuerTokenError,
  DOCUMENTS_API_AUDIENCE,
  startDevIssuer,
  type DevIssuer,
} from '../src/index.js';

let issuer: DevIssuer;
beforeAll(async () => {
  const config = structuredClone(DEFAULT_DEV_ISSUER_CONFIG);
  // One client on Basic, to show getToken authenticates each client the way it is registered.
  config.clients.find((c) => c.clientId === 'auditor')!.tokenEndpointAuthMethod = 'client_secret_basic';
  issuer = await startDevIssuer({ config });
});
afterAll(() => issuer.close());
beforeEach(() => issuer.controls.reset());

describe('DevIssuer.getToken', () => {
  it('gets_a_verifiable_token_for_a_configured_client_through_the_real_token_endpoint', async () => {
    const token = await issuer.getToken({ clientId: 'documents-caller' });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      issuer: issuer.issuer,
      audience: DOCUMENTS_API_AUDIENCE,
    });
    expect(payload).toMatchObject({ sub: 'documents-caller@clients', azp: 'documents-caller', gty: 'client-credentials' });
    expect(String(payload.scope).split(' ')).toContain('read:documents');
    expect(issuer.controls.counters().tokenRequestsByClient['documents-caller']).toBe(1);
  });

  it('authenticates_a_basic_client_with_basic_and_honours_audience', async () => {
    const token = await issuer.getToken({ clientId: 'auditor', audience: AUDIT_API_AUDIENCE });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), { audience: AUDIT_API_AUDIENCE });
    expect(payload.azp).toBe('auditor');
  });

  it('an_unknown_client_is_a_type_error_naming_the_configured_clients', async () => {
    await expect(issuer.getToken({ clientId: 'nobody' })).rejects.toThrow(/no client "nobody"; configured clients: .*documents-caller/);
  });

  it('a_refusal_rejects_with_the_status_and_oauth_error', async () => {
    issuer.controls.failNext({ endpoint: 'token', status: 503, body: { error: 'temporarily_unavailable', error_description: 'down' } });
    const refusal = await issuer.getToken({ clientId: 'documents-caller' }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DevIssuerTokenError);
    expect(refusal).toMatchObject({
      status: 503,
      error: 'temporarily_unavailable',
      errorDescription: 'down',
      code: 'ERR_DEV_ISSUER_TOKEN_REFUSED',
    });
  });

  it('a_grant_the_client_does_not_have_is_refused_like_auth0_does', async () => {
    const refusal = await issuer.getToken({ clientId: 'documents-caller', audience: AUDIT_API_AUDIENCE }).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ status: 403, error: 'access_denied' });
  });
});
