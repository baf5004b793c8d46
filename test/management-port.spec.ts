/**
 * MANAGEMENT_PORT (issue 13 item 13): metrics, the API documentation and readiness details move to a
 * listener of their own; the API port, the one callers reach, answers 404 for metrics and docs and
 * gives readiness as a bare status. Unset, everything stays on the API port.
 */
import type { INestApplication } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KeyWarmer } from '@nest-m2m/auth';
import { listenManagement } from '../src/management/management-port.js';
import { loadConfig, validateEnv } from '../src/config/app-config.js';
import { startApp } from './helpers/app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

describe.each(['express', 'fastify'])('MANAGEMENT_PORT on %s', (platform) => {
  let issuer: TestIssuer;
  let app: INestApplication | undefined;
  let api = '';
  let management = '';

  const boot = async (env: Record<string, string> = {}) => {
    app = await startApp(issuer, { HTTP_PLATFORM: platform, ...env });
    await app.get(KeyWarmer).settled();
    api = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    const address = await listenManagement(app);
    management = address ? `http://127.0.0.1:${address.port}` : '';
  };
  const get = async (base: string, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { headers });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    issuer.behaviour = { kind: 'ok' };
  });
  afterAll(async () => issuer?.close());

  it('metrics_and_docs_are_served_on_the_management_port_and_are_a_404_on_the_api_port', async () => {
    await boot({ MANAGEMENT_PORT: '0' });
    expect(management).not.toBe('');
    for (const path of ['/metrics', '/docs', '/docs-json', '/docs/', '/metrics?x=1']) {
      const refused = await get(api, path);
      expect({ path, status: refused.status }).toEqual({ path, status: 404 });
      expect(JSON.parse(refused.text)).toEqual({ statusCode: 404, error: 'Not Found', message: `Cannot GET ${path.split('?')[0]}` });
    }
    const metrics = await get(management, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('nest_m2m_');
    expect((await get(management, '/docs-json')).status).toBe(200);
    expect((await get(management, '/docs')).status).toBe(200);
  });

  it('the_api_stays_on_the_api_port_only', async () => {
    await boot({ MANAGEMENT_PORT: '0' });
    const token = issuer.sign(issuer.claims({ scope: 'read:documents' }));
    expect((await get(api, '/internal/documents/1', { authorization: `Bearer ${token}` })).status).toBe(200);
    const onManagement = await get(management, '/internal/documents/1', { authorization: `Bearer ${token}` });
    expect(onManagement.status).toBe(404);
    // Paths that merely start like a management path are API paths.
    expect((await get(api, '/metricsx')).status).toBe(404);
    expect((await get(management, '/metricsx')).status).toBe(404);
  });

  it('readiness_details_only_on_the_management_port_and_a_bare_status_on_the_api_port', async () => {
    await boot({ MANAGEMENT_PORT: '0' });
    const detailed = await get(management, '/health/ready');
    expect(detailed.status).toBe(200);
    expect(JSON.parse(detailed.text)).toMatchObject({ status: 'ok', details: { signingKeys: { status: 'up' } } });
    expect(await get(api, '/health/ready')).toMatchObject({ status: 200, text: '{"status":"ok"}' });
    expect((await get(api, '/health')).status).toBe(200);
    expect((await get(management, '/health')).status).toBe(200);
  });

  it('a_failing_readiness_shows_no_internal_url_or_error_text_on_the_api_port', async () => {
    issuer.behaviour = { kind: 'status', status: 500 };
    await boot({ MANAGEMENT_PORT: '0' });
    const bare = await get(api, '/health/ready');
    expect(bare).toMatchObject({ status: 503, text: '{"status":"error"}' });
    const detailed = await get(management, '/health/ready');
    expect(detailed.status).toBe(503);
    expect(JSON.parse(detailed.text)).toMatchObject({ status: 'error', error: { signingKeys: { status: 'down' } } });
  });

  it('unset_everything_is_served_on_the_api_port_as_before', async () => {
    await boot();
    expect(management).toBe('');
    expect((await get(api, '/metrics')).status).toBe(200);
    expect((await get(api, '/docs-json')).status).toBe(200);
    expect(JSON.parse((await get(api, '/health/ready')).text)).toMatchObject({ details: { signingKeys: { status: 'up' } } });
  });

  it('the_management_listener_closes_with_the_application', async () => {
    await boot({ MANAGEMENT_PORT: '0' });
    await app!.close();
    app = undefined;
    await expect(fetch(`${management}/metrics`)).rejects.toThrow();
  });
});

describe('MANAGEMENT_PORT configuration', () => {
  it('must_differ_from_PORT', () => {
    expect(() => loadConfig({ PORT: '8080', MANAGEMENT_PORT: '8080' })).toThrow(/MANAGEMENT_PORT: must differ from PORT/);
    expect(() => loadConfig({ MANAGEMENT_PORT: 'x' })).toThrow(/MANAGEMENT_PORT: must be a number/);
    expect(validateEnv({ PORT: '8080', MANAGEMENT_PORT: '9090' }).MANAGEMENT_PORT).toBe(9090);
  });
});
