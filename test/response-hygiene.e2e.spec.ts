/**
 * Headers every answer carries, or must not carry, on both platforms: no `X-Powered-By` (it names
 * the framework to scanners), `X-Content-Type-Options: nosniff` (a browser never guesses another
 * type from a JSON or text body), and an `x-request-id` that a caller cannot inflate.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../src/http-platform.js';
import { appOnTestIssuer } from './helpers/app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(['express', 'fastify'])('response headers on %s', (platform) => {
  const running = appOnTestIssuer({ HTTP_PLATFORM: platform });
  const http = () => request(running.app.getHttpServer());

  const answers: Array<[name: string, send: () => request.Test, status: number]> = [
    ['a public 200', () => http().get('/health'), 200],
    ['a guarded 200', () => http().get('/internal/data').set('Authorization', `Bearer ${running.issuer.sign()}`), 200],
    ['a 401 without token', () => http().get('/internal/data'), 401],
    [
      'a 403 for a missing scope',
      () => http().delete('/internal/documents/1').set('Authorization', `Bearer ${running.issuer.sign()}`),
      403,
    ],
    ['a 404 for an unknown path', () => http().get('/no/such/path'), 404],
    [
      'a 413 for a body over the limit',
      () =>
        http()
          .post('/internal/audit-events')
          .set('content-type', 'application/json')
          .set('Authorization', `Bearer ${running.issuer.sign(running.issuer.claims({ scope: 'write:audit' }))}`)
          .send(`"${'x'.repeat(BODY_LIMIT_BYTES)}"`),
      413,
    ],
    ['the OpenAPI document', () => http().get('/docs-json'), 200],
  ];

  it.each(answers)('%s carries nosniff and no x-powered-by', async (_name, send, status) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('an_oversized_x_request_id_is_replaced_by_a_uuid', async () => {
    const res = await http().get('/health').set('x-request-id', 'a'.repeat(129)).expect(200);
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it('a_sane_x_request_id_is_kept', async () => {
    const res = await http().get('/health').set('x-request-id', 'caller-trace.42').expect(200);
    expect(res.headers['x-request-id']).toBe('caller-trace.42');
  });
});
