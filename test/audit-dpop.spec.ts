/**
 * AUDIT_DPOP=required: the audit API takes DPoP-bound tokens only, and the documents service reports
 * deletions to it with a DPoP-bound token from the dev issuer and a fresh proof per call — the app
 * being its own audit sibling, as in embedded mode.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, type DevIssuer, startDevIssuer } from '@nest-m2m/dev-issuer';
import { createApp } from '../src/bootstrap.js';
import { loadConfig } from '../src/config/app-config.js';
import { freePort } from './helpers/built-app.js';
import { AuditStore } from '../src/audit/audit.store.js';

describe('AUDIT_DPOP=required with the app as its own audit sibling', () => {
  let issuer: DevIssuer;
  let app: INestApplication;
  const secretOf = (id: string) => issuer.config.clients.find((c) => c.clientId === id)!.clientSecret!;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    issuer = await startDevIssuer({ enableTestControls: true });
    const port = await freePort();
    app = await createApp(
      {
        env: {
          NODE_ENV: 'test',
          LOG_LEVEL: 'silent',
          AUTH_ISSUER_URL: issuer.issuer,
          AUTH0_AUDIENCE: `${DOCUMENTS_API_AUDIENCE},${AUDIT_API_AUDIENCE}`,
          AUTH_TOKEN_DIALECT: 'auth0',
          AUTH0_CLIENT_ID: 'nest-m2m-service',
          AUTH0_CLIENT_SECRET: secretOf('nest-m2m-service'),
          AUDIT_SERVICE_URL: `http://127.0.0.1:${port}`,
          AUDIT_SERVICE_AUDIENCE: AUDIT_API_AUDIENCE,
          AUDIT_DPOP: 'required',
        },
      },
      false,
    );
    await app.listen(port, '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('a_deletion_is_audited_over_dpop_and_recorded_by_the_service', async () => {
    const caller = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
    await http().delete('/internal/documents/1').set('Authorization', `Bearer ${caller}`).expect(200);
    expect(
      app
        .get(AuditStore)
        .list()
        .map((e) => [e.resource, e.recordedBy]),
    ).toEqual([['documents/1', 'nest-m2m-service']]);
    const auditorToken = await issuer.controls.issueToken({ clientId: 'auditor', audience: AUDIT_API_AUDIENCE });
    // Reading the audit log with a Bearer token is refused too: the whole audit API requires DPoP.
    const bearerRead = await http().get('/internal/audit-events').set('Authorization', `Bearer ${auditorToken}`);
    expect(bearerRead.status).toBe(401);
    expect(bearerRead.headers['www-authenticate']).toMatch(
      /^DPoP algs="[^"]+", error="invalid_token", error_description="DPoP-bound token required"$/,
    );
  });

  it('a_bearer_token_to_the_audit_api_is_refused_while_the_documents_api_still_takes_bearer', async () => {
    const writer = await issuer.controls.issueToken({ clientId: 'nest-m2m-service', audience: AUDIT_API_AUDIENCE });
    const res = await http().post('/internal/audit-events').set('Authorization', `Bearer ${writer}`).send({ action: 'x', resource: 'y' });
    expect(res.status).toBe(401);
    const caller = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
    await http().get('/internal/documents/2').set('Authorization', `Bearer ${caller}`).expect(200);
  });

  it('audit_dpop_required_with_a_shared_cache_needs_the_key_file', () => {
    expect(() =>
      loadConfig({
        NODE_ENV: 'test',
        AUTH_ISSUER_URL: issuer.issuer,
        AUTH0_AUDIENCE: AUDIT_API_AUDIENCE,
        AUTH0_CLIENT_ID: 'nest-m2m-service',
        AUTH0_CLIENT_SECRET: 's',
        AUDIT_SERVICE_URL: 'http://127.0.0.1:1',
        AUDIT_SERVICE_AUDIENCE: AUDIT_API_AUDIENCE,
        AUDIT_DPOP: 'required',
        TOKEN_CACHE_URL: 'redis://127.0.0.1:6379',
      }),
    ).toThrow(/AUTH_DPOP_PRIVATE_KEY_FILE/);
  });
});
