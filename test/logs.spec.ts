import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, type DevIssuer, DOCUMENTS_API_AUDIENCE, startDevIssuer } from '@nest-m2m/dev-issuer';
import { credentials, postToken, secretOf } from '../libs/dev-issuer/test/helpers.js';
import { freePort, type RunningApp, spawnApp, stopApp, waitForHealth } from './helpers/built-app.js';

/** The last segment of a compact JWS. */
const signatureOf = (jws: string) => jws.slice(jws.lastIndexOf('.') + 1);
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/;

/**
 * The built service in production mode, every log line captured from its stdout/stderr, through a
 * flow that handles every kind of secret: incoming tokens (valid, invalid, in the query string),
 * its own client secret, the outgoing M2M token it buys and sends to the audit sibling. On both
 * platforms: every refusal must be traceable to a request by the same header and log field.
 */
describe.each(['express', 'fastify'])('production logs on %s', (platform) => {
  let issuer: DevIssuer;
  let app: RunningApp;
  const secrets: string[] = [];
  let lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const responseIds: Array<string | null> = [];
  const oversizedId: Array<string | null> = [];

  beforeAll(async () => {
    issuer = await startDevIssuer({ port: 0 });
    const port = String(await freePort());
    const serviceSecret = secretOf(issuer, 'nest-m2m-service');
    app = await spawnApp({
      PORT: port,
      HTTP_PLATFORM: platform,
      NODE_ENV: 'production',
      LOG_LEVEL: 'trace',
      AUTH_ISSUER_URL: issuer.issuer,
      AUTH0_AUDIENCE: `${DOCUMENTS_API_AUDIENCE},${AUDIT_API_AUDIENCE}`,
      AUTH_TOKEN_DIALECT: 'auth0',
      AUTH_CLIENT_AUTH: 'client_secret_post',
      AUTH0_CLIENT_ID: 'nest-m2m-service',
      AUTH0_CLIENT_SECRET: serviceSecret,
      AUDIT_SERVICE_URL: `http://127.0.0.1:${port}`,
      AUDIT_SERVICE_AUDIENCE: AUDIT_API_AUDIENCE,
    });
    await waitForHealth(app);

    const caller = await postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE));
    const token = caller.body.access_token as string;
    const invalid = `${token.slice(0, -12)}AAAAAAAAAAAA`;
    const garbage = 'not-a-jwt-but-a-secret-0123456789';
    secrets.push(serviceSecret, secretOf(issuer, 'documents-caller'), token, invalid, garbage, signatureOf(token), signatureOf(invalid));

    const call = (path: string, init: RequestInit = {}) =>
      fetch(`${app.url}${path}`, init).then(async (r) => {
        responseIds.push(r.headers.get('x-request-id'));
        return { status: r.status, body: await r.text(), id: r.headers.get('x-request-id') };
      });
    const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
    const first = await call('/internal/documents/1', { headers: bearer(token) });
    expect(first.status, `${first.body}\n${app.stdout()}`).toBe(200);
    // The deletion is audited over HTTP with the service's own M2M token (client secret → token endpoint).
    expect((await call('/internal/documents/2', { method: 'DELETE', headers: bearer(token) })).status).toBe(200);
    expect((await call('/internal/data', { headers: bearer(invalid) })).status).toBe(401);
    expect((await call('/internal/data', { headers: { ...bearer(garbage), 'x-request-id': 'trace-abc-123' } })).status).toBe(401);
    expect((await call(`/internal/data?access_token=${token}`)).status).toBe(400);
    expect(
      (await call('/internal/data', { headers: { Cookie: `session=${garbage}`, 'Proxy-Authorization': `Basic ${garbage}` } })).status,
    ).toBe(401);
    expect((await call('/internal/audit-events', { headers: bearer(token) })).status).toBe(403);
    // Refused on its scopes before its body (holding secrets) is read.
    expect(
      (
        await call('/internal/audit-events', {
          method: 'POST',
          headers: { ...bearer(token), 'content-type': 'application/json' },
          body: JSON.stringify({ client_secret: serviceSecret, access_token: token }),
        })
      ).status,
    ).toBe(403);
    oversizedId.push(await call('/internal/data', { headers: { 'x-request-id': `oversized-${'Z'.repeat(4000)}` } }).then((r) => r.id));
    // A refusal after the body was read (the body's stream events must not lose the request's log context).
    const put = await call('/internal/documents/9', {
      method: 'PUT',
      headers: { ...bearer(garbage), 'content-type': 'application/json', 'x-request-id': 'trace-put-456' },
      body: JSON.stringify({ title: 't', body: 'b' }),
    });
    expect(put.status).toBe(401);

    await fetch(`${app.url}/health`);
    app.child.kill('SIGTERM');
    await app.exited;
    raw = app.stdout() + app.stderr();
    lines = app
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }, 120_000);
  afterAll(async () => {
    await stopApp(app);
    await issuer?.close();
  });

  it('every_line_is_json_in_production', () => {
    expect(lines.length).toBeGreaterThan(10);
    expect(app.stderr()).toBe('');
  });

  it('no_token_secret_or_signature_appears_in_any_line', () => {
    for (const secret of secrets) expect(raw.includes(secret), `a secret of length ${secret.length} leaked`).toBe(false);
    expect(raw).not.toMatch(JWT);
  });

  it('credential_headers_are_redacted_not_dropped', () => {
    const completed = lines.filter((l) => l.msg === 'request completed' && (l.req as { url: string }).url.startsWith('/internal/'));
    expect(completed.length).toBeGreaterThanOrEqual(6);
    const headers = completed.map((l) => (l.req as { headers: Record<string, string> }).headers);
    expect(headers.filter((h) => h.authorization).every((h) => h.authorization === '[Redacted]')).toBe(true);
    expect(headers.some((h) => h.cookie === '[Redacted]' && h['proxy-authorization'] === '[Redacted]')).toBe(true);
    expect(completed.map((l) => (l.req as { url: string }).url)).toContain('/internal/data?access_token=[Redacted]');
  });

  it('an_auth_rejection_line_carries_the_error_code_and_the_request_id', () => {
    const rejections = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('auth rejected'));
    expect(rejections.map((l) => /code=(\w+)/.exec(l.msg as string)?.[1])).toEqual(
      expect.arrayContaining([
        'ERR_AUTH_SIGNATURE_INVALID',
        'ERR_AUTH_TOKEN_MALFORMED',
        'ERR_AUTH_INVALID_REQUEST',
        'ERR_AUTH_TOKEN_MISSING',
        'ERR_AUTH_INSUFFICIENT_SCOPE',
      ]),
    );
    for (const l of rejections) expect(l.reqId).toEqual(expect.any(String));
    // A caller's sane x-request-id is kept, so one id follows a call across services.
    expect(rejections.some((l) => l.reqId === 'trace-abc-123' && /code=ERR_AUTH_TOKEN_MALFORMED /.test(l.msg as string))).toBe(true);
  });

  it('every_answer_carries_an_x_request_id_header', () => {
    expect(responseIds.length).toBeGreaterThanOrEqual(9);
    for (const id of responseIds) expect(id).toMatch(/^[A-Za-z0-9._:@-]{1,128}$/);
    expect(new Set(responseIds).size).toBe(responseIds.length);
  });

  it('a_refusal_after_the_body_was_read_carries_the_request_id_too', () => {
    expect(responseIds).toContain('trace-put-456');
    expect(lines.some((l) => l.reqId === 'trace-put-456' && /^auth rejected code=ERR_AUTH_TOKEN_MALFORMED /.test(l.msg as string))).toBe(
      true,
    );
  });

  it('an_oversized_x_request_id_is_replaced_and_never_logged_in_full', () => {
    expect(oversizedId[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.some((l) => l.reqId === oversizedId[0])).toBe(true);
    expect(raw).not.toContain('Z'.repeat(200));
  });

  it('nest_lifecycle_lines_go_through_pino_too', () => {
    expect(lines.some((l) => l.context === 'NestApplication' && l.msg === 'Nest application successfully started')).toBe(true);
    expect(lines.some((l) => l.context === 'Shutdown' && l.msg === 'Shutdown complete')).toBe(true);
  });
});
