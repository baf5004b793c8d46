import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/bootstrap.js';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, type DevIssuer, startDevIssuer } from '@nest-m2m/dev-issuer';
import { startOidcProvider, type StartedOidcProvider } from './helpers/oidc-provider.js';

const RESOURCE = 'https://documents.example.test';

async function boot(env: Record<string, string>): Promise<INestApplication> {
  const app = await createApp({ env: { NODE_ENV: 'test', ...env } }, false);
  await app.listen(0, '127.0.0.1');
  return app;
}

async function formToken(op: StartedOidcProvider, clientId: string, secret: string, scope: string): Promise<string> {
  const res = await fetch(op.tokenEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE, scope }).toString(),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('tokens from the certified oidc-provider (RFC 9068 at+jwt, no trailing slash, bare sub)', () => {
  let op: StartedOidcProvider;
  let app: INestApplication;

  beforeAll(async () => {
    op = await startOidcProvider({
      clients: [{ clientId: 'worker', clientSecret: 'worker-secret-0123456789', scopes: ['read:documents', 'delete:documents'] }],
      resources: [{ identifier: RESOURCE, scopes: ['read:documents', 'delete:documents'] }],
    });
    app = await boot({ AUTH_ISSUER_URL: op.issuer, AUTH0_AUDIENCE: RESOURCE, AUTH_STRICT_RFC9068: 'true', AUTH_M2M_ONLY: 'true' });
  });
  afterAll(async () => {
    await app?.close();
    await op?.close();
  });

  it('a_token_from_oidc_provider_is_accepted_with_discovery_strict_rfc9068_and_m2m_only', async () => {
    const token = await formToken(op, 'worker', 'worker-secret-0123456789', 'read:documents');
    await request(app.getHttpServer()).get('/internal/documents/1').set('Authorization', `Bearer ${token}`).expect(200);
    const data = await request(app.getHttpServer()).get('/internal/data').set('Authorization', `Bearer ${token}`).expect(200);
    expect(data.body).toMatchObject({ clientId: 'worker', scopes: ['read:documents'] });
  });

  it('its_scopes_are_enforced', async () => {
    const token = await formToken(op, 'worker', 'worker-secret-0123456789', 'read:documents');
    await request(app.getHttpServer()).delete('/internal/documents/1').set('Authorization', `Bearer ${token}`).expect(403);
  });
});

describe('tokens from the embedded dev issuer (Auth0 shape)', () => {
  let issuer: DevIssuer;
  let app: INestApplication;

  beforeAll(async () => {
    issuer = await startDevIssuer({ enableTestControls: true });
    app = await boot({
      AUTH_ISSUER_URL: issuer.issuer,
      AUTH0_AUDIENCE: `${DOCUMENTS_API_AUDIENCE},${AUDIT_API_AUDIENCE}`,
      AUTH_M2M_ONLY: 'true',
    });
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('a_dev_issuer_token_with_permissions_is_accepted_by_the_service', async () => {
    const token = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
    await request(app.getHttpServer()).get('/internal/documents/2').set('Authorization', `Bearer ${token}`).expect(200);
  });

  it('after_a_rotation_that_drops_the_old_key_new_tokens_work_at_once_and_old_ones_are_refused', async () => {
    const old = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
    await request(app.getHttpServer()).get('/internal/documents/1').set('Authorization', `Bearer ${old}`).expect(200);
    await issuer.controls.rotateKeys({ keepOld: false });
    const fresh = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
    await request(app.getHttpServer()).get('/internal/documents/1').set('Authorization', `Bearer ${fresh}`).expect(200);
    const res = await request(app.getHttpServer()).get('/internal/documents/1').set('Authorization', `Bearer ${old}`).expect(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });
});
