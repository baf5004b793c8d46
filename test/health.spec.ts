import type { INestApplication } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KeyWarmer } from '@nest-m2m/auth';
import { startApp } from './helpers/app.js';
import { freePort } from './helpers/built-app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

describe('/health and /health/ready', () => {
  let issuer: TestIssuer;
  let app: INestApplication | undefined;
  const get = async (path: string) => {
    const res = await fetch(`${await app!.getUrl()}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const boot = async (env: Record<string, string> = {}) => {
    app = await startApp(issuer, env);
    await app.get(KeyWarmer).settled();
  };

  /** This service's own client credentials, with the audit sibling they are used for. */
  const outgoing = async () => ({
    AUTH0_CLIENT_ID: 'svc',
    AUTH0_CLIENT_SECRET: 'svc-secret',
    AUDIT_SERVICE_URL: `http://127.0.0.1:${await freePort()}`,
    AUDIT_SERVICE_AUDIENCE: 'https://audit.test.local',
  });

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    issuer.behaviour = { kind: 'ok' };
    issuer.discovery = {};
  });
  afterAll(async () => {
    await issuer?.close();
  });

  it('liveness_is_ok_without_any_dependency_check_even_when_the_issuer_is_down', async () => {
    issuer.behaviour = { kind: 'status', status: 500 };
    await boot();
    const live = await get('/health');
    expect(live).toEqual({ status: 200, body: { status: 'ok', info: {}, error: {}, details: {} } });
    const ready = await get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'error', error: { signingKeys: { status: 'down' } } });
  });

  it('readiness_is_ok_once_signing_keys_are_loaded_and_checks_nothing_unused', async () => {
    await boot();
    const ready = await get('/health/ready');
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.details)).toEqual(['signingKeys']);
  });

  it('with_outgoing_calls_the_token_endpoint_must_answer', async () => {
    await boot({ ...(await outgoing()) });
    // The test issuer's discovery names a token endpoint that answers 404 to a GET: reachable.
    const ready = await get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details.tokenEndpoint).toMatchObject({ status: 'up', httpStatus: 404 });
  });

  it('an_unreachable_token_endpoint_makes_the_service_not_ready', async () => {
    await boot({ ...(await outgoing()), AUTH_TOKEN_URL: `http://127.0.0.1:${await freePort()}/oauth/token` });
    const ready = await get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.tokenEndpoint.status).toBe('down');
    expect(ready.body.details.signingKeys.status).toBe('up');
  });

  it('discovered_plain_http_endpoints_on_another_host_leave_the_service_not_ready_and_say_why', async () => {
    // Never contacted: the rule refuses them before any request (example.invalid does not resolve either).
    issuer.discovery = { jwks_uri: 'http://example.invalid/jwks.json', token_endpoint: 'http://example.invalid/oauth/token' };
    const jwksFetches = issuer.jwksFetches;
    await boot({ ...(await outgoing()) });
    const ready = await get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.signingKeys.status).toBe('down');
    expect(ready.body.error.tokenEndpoint.status).toBe('down');
    expect(JSON.stringify(ready.body.error.tokenEndpoint)).toMatch(
      /token_endpoint http:\/\/example\.invalid\/oauth\/token, which must be an https:\/\/ URL/,
    );
    expect(issuer.jwksFetches).toBe(jwksFetches);
  });

  it('with_a_redis_token_cache_redis_must_answer_ping', async () => {
    await boot({ TOKEN_CACHE_URL: 'redis://127.0.0.1:6379' });
    expect((await get('/health/ready')).body.details.redis).toMatchObject({ status: 'up' });
    await app!.close();
    await boot({ TOKEN_CACHE_URL: `redis://127.0.0.1:${await freePort()}`, HEALTH_CHECK_TIMEOUT_MS: '300' });
    const ready = await get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.redis.status).toBe('down');
  });
});
