/**
 * Request bodies are read alike on Express and Fastify: one size limit, and the errors raised
 * before any guard or handler runs (too large, not JSON) answered with the contract's
 * `{statusCode, error, message}` body.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../src/http-platform.js';
import { startApp } from './helpers/app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

/** A JSON audit event of exactly `bytes` bytes (its `resource` padded). */
function eventOfSize(bytes: number): string {
  const empty = JSON.stringify({ action: 'a', resource: '' });
  return JSON.stringify({ action: 'a', resource: 'x'.repeat(bytes - empty.length) });
}

describe.each(['express', 'fastify'])('request bodies on %s', (platform) => {
  let issuer: TestIssuer;
  let app: INestApplication;
  const post = () => request(app.getHttpServer()).post('/internal/audit-events').set('content-type', 'application/json');

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    app = await startApp(issuer, { HTTP_PLATFORM: platform });
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('a_body_one_byte_over_the_limit_is_a_413_with_the_error_body_before_any_token_check', async () => {
    const res = await post().send(eventOfSize(BODY_LIMIT_BYTES + 1)).expect(413);
    expect(res.body).toEqual({ statusCode: 413, error: 'Payload Too Large', message: `Request body is larger than ${BODY_LIMIT_BYTES} bytes` });
  });

  it('a_body_of_exactly_the_limit_is_read_and_reaches_validation', async () => {
    const body = eventOfSize(BODY_LIMIT_BYTES);
    expect(Buffer.byteLength(body)).toBe(BODY_LIMIT_BYTES);
    const res = await post()
      .set('Authorization', `Bearer ${issuer.sign(issuer.claims({ scope: 'write:audit' }))}`)
      .send(body)
      .expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringContaining('resource') });
  });

  it('malformed_json_is_a_400_with_the_error_body', async () => {
    const res = await post().send('{"action":').expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Request body is not valid JSON' });
  });
});
