/**
 * The key end-to-end checks of auth.e2e.spec.ts on Nest's Fastify platform (`HTTP_PLATFORM=fastify`):
 * the AuthModule's guards, error filter and bearer extraction must answer exactly as on Express.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { challenge, startApp } from './helpers/app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

const FASTIFY = { HTTP_PLATFORM: 'fastify' };

describe('incoming M2M authentication on the real AppModule, Fastify platform', () => {
  let issuer: TestIssuer;
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    app = await startApp(issuer, FASTIFY);
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('runs_on_fastify', () => {
    expect(app.getHttpAdapter().getType()).toBe('fastify');
  });

  it('a_valid_token_reaches_the_protected_route', async () => {
    const res = await http().get('/internal/documents/1').set('Authorization', `Bearer ${issuer.sign()}`).expect(200);
    expect(res.body).toMatchObject({ id: '1' });
  });

  it('a_repeated_token_is_served_again_from_the_cache', async () => {
    const token = issuer.sign();
    for (let i = 0; i < 3; i++) await http().get('/internal/data').set('Authorization', `Bearer ${token}`).expect(200);
  });

  it('no_token_is_a_401_with_a_challenge_without_error_code', async () => {
    const res = await http().get('/internal/data').expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge({}));
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Missing bearer token' });
  });

  it('a_bad_token_is_a_401_invalid_token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await http()
      .get('/internal/data')
      .set('Authorization', `Bearer ${issuer.sign(issuer.claims({ iat: now - 7200, exp: now - 3600 }))}`)
      .expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge({ error: 'invalid_token', description: 'Token expired' }));
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Token expired' });
    const garbage = await http().get('/internal/data').set('Authorization', 'Bearer abc.def.ghi').expect(401);
    expect(garbage.headers['www-authenticate']).toMatch(/^Bearer realm="nest-m2m", error="invalid_token"/);
  });

  it('a_missing_scope_is_a_403_insufficient_scope', async () => {
    const res = await http().delete('/internal/documents/1').set('Authorization', `Bearer ${issuer.sign()}`).expect(403);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'insufficient_scope', description: 'Insufficient scope', scope: 'delete:documents' }),
    );
    expect(res.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'Insufficient scope' });
  });

  it('two_tokens_in_the_header_are_a_400_invalid_request', async () => {
    const t = issuer.sign();
    const res = await http().get('/internal/data').set('Authorization', `Bearer ${t} ${t}`).expect(400);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'invalid_request', description: 'Malformed Authorization header: expected exactly one bearer token' }),
    );
  });

  it('a_token_in_the_query_and_the_header_is_a_400_invalid_request', async () => {
    const t = issuer.sign();
    const res = await http().get(`/internal/data?access_token=${t}`).set('Authorization', `Bearer ${t}`).expect(400);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'invalid_request', description: 'Access tokens are accepted only in the Authorization header' }),
    );
  });

  it('two_authorization_headers_are_a_400_invalid_request', async () => {
    // Node keeps the first Authorization header only; Fastify's request exposes the others via raw.rawHeaders.
    const { port } = app.getHttpServer().address() as { port: number };
    const t = issuer.sign();
    const res = await fetch(`http://127.0.0.1:${port}/internal/data`, {
      headers: [
        ['Authorization', `Bearer ${t}`],
        ['Authorization', `Bearer ${t}`],
      ],
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_request"');
  });

  it('health_is_public', async () => {
    await http().get('/health').expect(200);
  });
});

describe('JWKS unavailable on the Fastify platform', () => {
  let issuer: TestIssuer;
  let app: INestApplication;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    issuer.behaviour = { kind: 'status', status: 500 };
    app = await startApp(issuer, FASTIFY);
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('a_valid_token_is_a_503_with_retry_after_not_a_401', async () => {
    const res = await request(app.getHttpServer()).get('/internal/data').set('Authorization', `Bearer ${issuer.sign()}`);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(res.headers['www-authenticate']).toBe(challenge({}));
    expect(res.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'Signing keys are temporarily unavailable' });
  });
});
