import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { challenge, startApp } from './helpers/app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

describe('incoming M2M authentication on the real AppModule', () => {
  let issuer: TestIssuer;
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    app = await startApp(issuer);
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('a_valid_token_reaches_the_protected_data_route', async () => {
    const res = await http().get('/internal/data').set('Authorization', `Bearer ${issuer.sign()}`).expect(200);
    expect(res.body).toEqual({ message: 'Hello from a protected endpoint', clientId: 'caller-app', scopes: ['read:documents'] });
  });

  it('the_bearer_scheme_is_case_insensitive', async () => {
    await http().get('/internal/data').set('Authorization', `bEaReR ${issuer.sign()}`).expect(200);
  });

  it('no_token_is_a_401_with_a_challenge_without_error_code', async () => {
    const res = await http().get('/internal/data').expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge({}));
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Missing bearer token' });
  });

  it('another_auth_scheme_counts_as_no_token', async () => {
    const res = await http().get('/internal/data').set('Authorization', 'Basic dXNlcjpwYXNz').expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge({}));
  });

  it('an_expired_token_is_invalid_token_with_a_short_description', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await http()
      .get('/internal/data')
      .set('Authorization', `Bearer ${issuer.sign(issuer.claims({ iat: now - 7200, exp: now - 3600 }))}`)
      .expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge({ error: 'invalid_token', description: 'Token expired' }));
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Token expired' });
  });

  it('a_wrong_audience_is_invalid_token_and_does_not_reveal_the_expected_one', async () => {
    const res = await http()
      .get('/internal/data')
      .set('Authorization', `Bearer ${issuer.sign(issuer.claims({ aud: 'https://other.api' }))}`)
      .expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge({ error: 'invalid_token', description: 'Invalid audience' }));
    expect(JSON.stringify(res.body)).not.toContain(issuer.audience);
  });

  it('a_wrong_issuer_is_invalid_token', async () => {
    const res = await http()
      .get('/internal/data')
      .set('Authorization', `Bearer ${issuer.sign(issuer.claims({ iss: issuer.url }))}`)
      .expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge({ error: 'invalid_token', description: 'Invalid issuer' }));
  });

  it('two_tokens_in_the_header_are_a_400_invalid_request', async () => {
    const t = issuer.sign();
    const res = await http().get('/internal/data').set('Authorization', `Bearer ${t} ${t}`).expect(400);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'invalid_request', description: 'Malformed Authorization header: expected exactly one bearer token' }),
    );
  });

  it('a_token_in_the_query_is_refused_as_invalid_request', async () => {
    const res = await http().get(`/internal/data?access_token=${issuer.sign()}`).expect(400);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'invalid_request', description: 'Access tokens are accepted only in the Authorization header' }),
    );
  });

  it('a_token_in_the_query_and_the_header_is_refused_as_invalid_request', async () => {
    const t = issuer.sign();
    await http().get(`/internal/data?access_token=${t}`).set('Authorization', `Bearer ${t}`).expect(400);
  });

  it('a_token_in_a_form_body_besides_the_header_is_refused_as_invalid_request', async () => {
    // The body is read once the caller is authenticated and authorised; the rule applies then.
    const t = issuer.sign(issuer.claims({ scope: 'delete:documents' }));
    const res = await http()
      .delete('/internal/documents/2')
      .set('Authorization', `Bearer ${t}`)
      .type('form')
      .send({ access_token: t })
      .expect(400);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'invalid_request', description: 'Access tokens are accepted only in the Authorization header' }),
    );
  });

  it('a_token_in_a_form_body_alone_is_not_read_so_the_request_has_no_credentials', async () => {
    const res = await http().delete('/internal/documents/2').type('form').send({ access_token: issuer.sign() }).expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge({}));
  });

  it('a_missing_scope_is_a_403_insufficient_scope_naming_the_required_scopes', async () => {
    const res = await http().delete('/internal/documents/1').set('Authorization', `Bearer ${issuer.sign()}`).expect(403);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'insufficient_scope', description: 'Insufficient scope', scope: 'delete:documents' }),
    );
    expect(res.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'Insufficient scope' });
  });

  it('the_scope_claim_grants_read_access', async () => {
    const res = await http().get('/internal/documents/1').set('Authorization', `Bearer ${issuer.sign()}`).expect(200);
    expect(res.body).toMatchObject({ id: '1' });
  });

  it('auth0_permissions_grant_scopes_too', async () => {
    const token = issuer.sign(issuer.claims({ scope: undefined, permissions: ['read:documents'] }));
    await http().get('/internal/documents/1').set('Authorization', `Bearer ${token}`).expect(200);
  });

  it('scopes_are_matched_exactly', async () => {
    for (const scope of [
      'read:document',
      'read:documents:all',
      'READ:DOCUMENTS',
      'read:documents,delete:documents',
      'xread:documents',
      ' read:documentsx',
    ]) {
      const res = await http()
        .get('/internal/documents/1')
        .set('Authorization', `Bearer ${issuer.sign(issuer.claims({ scope }))}`);
      expect(res.status, scope).toBe(403);
    }
  });

  it('odd_scope_claim_shapes_are_a_clean_403', async () => {
    for (const claims of [
      { scope: ['read:documents'] },
      { scope: 42 },
      { scope: null },
      { scope: undefined },
      { scope: undefined, permissions: 'read:documents' },
      { scope: undefined, permissions: [1, null, {}] },
      { scope: { a: 1 } },
    ]) {
      const res = await http()
        .get('/internal/documents/1')
        .set('Authorization', `Bearer ${issuer.sign(issuer.claims(claims))}`);
      expect(res.status, JSON.stringify(claims)).toBe(403);
    }
  });

  it('an_unknown_document_is_a_404_after_authorization', async () => {
    await http().get('/internal/documents/999').set('Authorization', `Bearer ${issuer.sign()}`).expect(404);
  });

  it('health_routes_are_public', async () => {
    const live = await http().get('/health').expect(200);
    expect(live.body).toMatchObject({ status: 'ok' });
    await http().get('/health/ready').expect(200);
  });

  it('a_delete_with_the_scope_is_audited', async () => {
    const token = issuer.sign(issuer.claims({ scope: 'delete:documents' }));
    const res = await http().delete('/internal/documents/3').set('Authorization', `Bearer ${token}`).expect(200);
    expect(res.body).toMatchObject({ deleted: '3', auditEventId: expect.any(String) });
    const events = await http()
      .get('/internal/audit-events')
      .set('Authorization', `Bearer ${issuer.sign(issuer.claims({ scope: 'read:audit' }))}`)
      .expect(200);
    expect(events.body.events).toContainEqual(
      expect.objectContaining({ action: 'document.deleted', resource: 'documents/3', actor: 'caller-app' }),
    );
  });
});
