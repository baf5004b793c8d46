import type { INestApplication } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/bootstrap.js';
import { freePort } from './helpers/built-app.js';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, type DevIssuer, startDevIssuer } from '@nest-m2m/dev-issuer';

/** A sibling that answers every request with one status. */
async function failingSibling(status: number): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"boom"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('DELETE /internal/documents/:id reports to the audit sibling with the service M2M token', () => {
  let issuer: DevIssuer;
  let app: INestApplication | undefined;
  const secretOf = (id: string) => issuer.config.clients.find((c) => c.clientId === id)!.clientSecret!;

  /** The service with its own M2M identity at the dev issuer, reporting to `auditUrl`. */
  const serviceEnv = (auditUrl: string) => ({
    NODE_ENV: 'test',
    AUTH_ISSUER_URL: issuer.issuer,
    AUTH0_AUDIENCE: `${DOCUMENTS_API_AUDIENCE},${AUDIT_API_AUDIENCE}`,
    AUTH_TOKEN_DIALECT: 'auth0',
    AUTH0_CLIENT_ID: 'nest-m2m-service',
    AUTH0_CLIENT_SECRET: secretOf('nest-m2m-service'),
    AUDIT_SERVICE_URL: auditUrl,
    AUDIT_SERVICE_AUDIENCE: AUDIT_API_AUDIENCE,
    TOKEN_REQUEST_TIMEOUT_MS: '500',
  });

  async function boot(auditUrl: string, port = 0) {
    app = await createApp({ env: serviceEnv(auditUrl) }, false);
    await app.listen(port, '127.0.0.1');
    return app;
  }
  const callerToken = () => issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });

  beforeAll(async () => {
    issuer = await startDevIssuer({ enableTestControls: true });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    issuer.controls.clearFaults();
  });
  afterAll(async () => issuer.close());

  it('an_audit_service_answering_500_makes_the_delete_a_502_and_keeps_the_document', async () => {
    const sibling = await failingSibling(500);
    try {
      await boot(sibling.url);
      const token = await callerToken();
      const res = await request(app!.getHttpServer()).delete('/internal/documents/1').set('Authorization', `Bearer ${token}`).expect(502);
      expect(res.body).toEqual({ statusCode: 502, error: 'Bad Gateway', message: 'The audit service refused the event (500)' });
      expect(sibling.hits()).toBe(1);
      await request(app!.getHttpServer()).get('/internal/documents/1').set('Authorization', `Bearer ${token}`).expect(200);
    } finally {
      await sibling.close();
    }
  });

  it('an_unreachable_audit_service_makes_the_delete_a_503', async () => {
    const sibling = await failingSibling(500);
    await sibling.close();
    await boot(sibling.url);
    const res = await request(app!.getHttpServer())
      .delete('/internal/documents/2')
      .set('Authorization', `Bearer ${await callerToken()}`)
      .expect(503);
    expect(res.body.message).toBe('The audit service cannot be reached');
  });

  it('no_m2m_token_for_the_audit_call_makes_the_delete_a_503_without_leaking_the_secret', async () => {
    const sibling = await failingSibling(200);
    try {
      await boot(sibling.url);
      issuer.controls.failNext({ endpoint: 'token', count: 10, status: 503 });
      const res = await request(app!.getHttpServer())
        .delete('/internal/documents/2')
        .set('Authorization', `Bearer ${await callerToken()}`)
        .expect(503);
      expect(res.body.message).toBe('The audit service cannot be reached: no access token could be obtained');
      expect(JSON.stringify(res.body)).not.toContain(secretOf('nest-m2m-service'));
      expect(sibling.hits()).toBe(0);
    } finally {
      await sibling.close();
    }
  });

  it('the_audit_service_receives_the_services_own_token_and_the_event', async () => {
    // The app is its own audit sibling here, as in embedded mode: boot, then point at itself.
    const port = await freePort();
    await boot(`http://127.0.0.1:${port}`, port);
    issuer.controls.resetCounters();
    for (const id of ['1', '3']) {
      await request(app!.getHttpServer())
        .delete(`/internal/documents/${id}`)
        .set('Authorization', `Bearer ${await callerToken()}`)
        .expect(200);
    }
    // Two deletions, one token request: the service's token is cached.
    expect(issuer.controls.counters().tokenRequestsByClient['nest-m2m-service']).toBe(1);
    const auditor = await issuer.controls.issueToken({ clientId: 'auditor', audience: AUDIT_API_AUDIENCE });
    const list = await request(app!.getHttpServer()).get('/internal/audit-events').set('Authorization', `Bearer ${auditor}`).expect(200);
    expect(list.body.events.map((e: { resource: string; recordedBy: string }) => [e.resource, e.recordedBy])).toEqual([
      ['documents/1', 'nest-m2m-service'],
      ['documents/3', 'nest-m2m-service'],
    ]);
  });
});

describe('outgoing credentials without an audit sibling', () => {
  it('client_credentials_without_audit_service_url_boot_and_audit_in_process', async () => {
    const issuer = await startDevIssuer();
    try {
      const app = await createApp(
        {
          env: {
            NODE_ENV: 'test',
            AUTH_ISSUER_URL: issuer.issuer,
            AUTH0_AUDIENCE: DOCUMENTS_API_AUDIENCE,
            AUTH0_CLIENT_ID: 'nest-m2m-service',
            AUTH0_CLIENT_SECRET: 'unused-here',
          },
        },
        false,
      );
      await app.listen(0, '127.0.0.1');
      const token = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
      const res = await request(app.getHttpServer()).delete('/internal/documents/1').set('Authorization', `Bearer ${token}`).expect(200);
      expect(res.body.deleted).toBe('1');
      await app.close();
    } finally {
      await issuer.close();
    }
  });
});
