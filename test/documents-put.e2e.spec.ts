/**
 * `PUT /internal/documents/:id` (scope `write:documents`, JSON `{title, body}`) on both platforms,
 * with the service set up as `npm start` sets it up: the dev issuer's default clients (tokens from
 * its real token endpoint) and the service as its own audit sibling over HTTP.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/bootstrap.js';
import { BODY_LIMIT_BYTES } from '../src/http-platform.js';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, type DevIssuer, startDevIssuer } from '@nest-m2m/dev-issuer';
import { challenge } from './helpers/app.js';
import { freePort } from './helpers/built-app.js';

const JSON_ONLY = { statusCode: 415, error: 'Unsupported Media Type', message: 'Content-Type must be application/json' };

describe.each(['express', 'fastify'])('PUT /internal/documents/:id on %s', (platform) => {
  let issuer: DevIssuer;
  let app: INestApplication;
  let writer: string;
  const http = () => request(app.getHttpServer());
  const put = (id: string, body: unknown, token = writer) =>
    http()
      .put(`/internal/documents/${id}`)
      .set('Authorization', `Bearer ${token}`)
      .set('content-type', 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  const get = (id: string) => http().get(`/internal/documents/${id}`).set('Authorization', `Bearer ${writer}`);

  beforeAll(async () => {
    issuer = await startDevIssuer();
    const secretOf = (id: string) => issuer.config.clients.find((c) => c.clientId === id)!.clientSecret!;
    const port = await freePort();
    app = await createApp(
      {
        env: {
          NODE_ENV: 'test',
          HTTP_PLATFORM: platform,
          AUTH_ISSUER_URL: issuer.issuer,
          AUTH0_AUDIENCE: `${DOCUMENTS_API_AUDIENCE},${AUDIT_API_AUDIENCE}`,
          AUTH_TOKEN_DIALECT: 'auth0',
          AUTH0_CLIENT_ID: 'nest-m2m-service',
          AUTH0_CLIENT_SECRET: secretOf('nest-m2m-service'),
          AUDIT_SERVICE_URL: `http://127.0.0.1:${port}`,
          AUDIT_SERVICE_AUDIENCE: AUDIT_API_AUDIENCE,
        },
      },
      false,
    );
    await app.listen(port, '127.0.0.1');
    // The default documents-caller client is granted write:documents.
    writer = await issuer.getToken({ clientId: 'documents-caller' });
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('runs_on_the_platform', () => {
    expect(app.getHttpAdapter().getType()).toBe(platform);
  });

  it('a_new_id_is_created_201_and_the_document_is_served', async () => {
    const res = await put('memo-1', { title: 'Memo', body: 'First draft.' }).expect(201);
    expect(res.body).toEqual({ id: 'memo-1', title: 'Memo', body: 'First draft.' });
    expect((await get('memo-1').expect(200)).body).toEqual({ id: 'memo-1', title: 'Memo', body: 'First draft.' });
  });

  it('an_existing_id_is_replaced_200', async () => {
    await put('memo-2', { title: 'Memo', body: 'v1' }).expect(201);
    const res = await put('memo-2', { title: 'Memo, revised', body: '' }).expect(200);
    expect(res.body).toEqual({ id: 'memo-2', title: 'Memo, revised', body: '' });
    expect((await get('memo-2').expect(200)).body).toEqual(res.body);
    // A seeded document too.
    await put('1', { title: 'Quarterly report', body: 'Revenue grew again.' }).expect(200);
  });

  it('the_longest_valid_title_and_body_are_accepted', async () => {
    await put('memo-max', { title: 't'.repeat(200), body: 'b'.repeat(10_000) }).expect(201);
  });

  it.each([
    ['no title', { body: 'x' }, 'title'],
    ['an empty title', { title: '', body: 'x' }, 'title'],
    ['a blank title', { title: '  \t', body: 'x' }, 'title: must not be blank'],
    ['a title over 200 characters', { title: 't'.repeat(201), body: 'x' }, 'title'],
    ['a title that is not a string', { title: 42, body: 'x' }, 'title'],
    ['no body', { title: 'Memo' }, 'body'],
    ['a body that is not a string', { title: 'Memo', body: { text: 'x' } }, 'body'],
    ['a body over 10,000 characters', { title: 'Memo', body: 'b'.repeat(10_001) }, 'body'],
    ['an unknown field', { title: 'Memo', body: 'x', owner: 'me' }, 'Unrecognized key: "owner"'],
    ['an array', [{ title: 'Memo', body: 'x' }], 'body'],
  ])('%s is a 400 naming the problem and writes nothing', async (name, body, problem) => {
    const id = `invalid-${name.replace(/\W+/g, '-')}`;
    const res = await put(id, body).expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringContaining(problem) });
    await get(id).expect(404);
  });

  it('malformed_json_is_a_400', async () => {
    const res = await put('memo-malformed', '{"title": "Memo", ').expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Request body is not valid JSON' });
  });

  it('an_id_outside_1_to_64_unreserved_characters_is_a_400', async () => {
    for (const id of ['has%20space', 'x'.repeat(65), '%C3%A9t%C3%A9']) {
      const res = await put(id, { title: 'Memo', body: 'x' }).expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: "id: must be 1-64 letters, digits, '.', '_', '~' or '-'",
      });
    }
    await put('x'.repeat(64), { title: 'Memo', body: 'x' }).expect(201);
  });

  it('a_body_over_100_kib_is_a_413_and_writes_nothing', async () => {
    const res = await put('memo-big', { title: 'Big', body: 'b'.repeat(BODY_LIMIT_BYTES) }).expect(413);
    expect(res.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: `Request body is larger than ${BODY_LIMIT_BYTES} bytes`,
    });
    await get('memo-big').expect(404);
  });

  it.each([
    ['form_encoded', 'application/x-www-form-urlencoded', 'title=Memo&body=x'],
    ['plain_text', 'text/plain', '{"title":"Memo","body":"x"}'],
    ['xml', 'application/xml', '<doc><title>Memo</title></doc>'],
  ])('a_%s_body_is_a_415', async (name, contentType, body) => {
    const id = `media-${name.replace(/\W+/g, '-')}`;
    const res = await http()
      .put(`/internal/documents/${id}`)
      .set('Authorization', `Bearer ${writer}`)
      .set('content-type', contentType)
      .send(body)
      .expect(415);
    expect(res.body).toEqual(JSON_ONLY);
    await get(id).expect(404);
  });

  it('no_token_is_a_401_and_a_token_without_write_documents_a_403', async () => {
    // Whatever the body's type: the token is checked first on both platforms.
    for (const [contentType, body] of [
      ['application/json', '{"title":"Memo","body":"x"}'],
      ['application/xml', '<doc/>'],
    ]) {
      const anonymous = await http().put('/internal/documents/memo-x').set('content-type', contentType!).send(body).expect(401);
      expect(anonymous.headers['www-authenticate']).toBe(challenge({}));
    }
    const auditor = await issuer.getToken({ clientId: 'auditor' });
    const res = await put('memo-x', { title: 'Memo', body: 'x' }, auditor).expect(403);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'insufficient_scope', description: 'Insufficient scope', scope: 'write:documents' }),
    );
    expect(res.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'Insufficient scope' });
    await get('memo-x').expect(404);
  });

  it('put_then_delete_then_delete_is_201_200_404_with_one_audit_event', async () => {
    await put('memo-gone', { title: 'Short-lived', body: 'x' }).expect(201);
    const deleted = await http().delete('/internal/documents/memo-gone').set('Authorization', `Bearer ${writer}`).expect(200);
    expect(deleted.body).toEqual({ deleted: 'memo-gone', auditEventId: expect.any(String) });
    const again = await http().delete('/internal/documents/memo-gone').set('Authorization', `Bearer ${writer}`).expect(404);
    expect(again.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Document memo-gone not found' });
    await get('memo-gone').expect(404);

    const auditor = await issuer.getToken({ clientId: 'auditor' });
    const events = await http().get('/internal/audit-events').set('Authorization', `Bearer ${auditor}`).expect(200);
    expect(events.body.events.filter((e: { resource: string }) => e.resource === 'documents/memo-gone')).toEqual([
      expect.objectContaining({
        id: deleted.body.auditEventId,
        action: 'document.deleted',
        actor: 'documents-caller',
        recordedBy: 'nest-m2m-service',
      }),
    ]);
  });
});
