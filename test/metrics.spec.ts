import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/bootstrap.js';
import { KeySource } from '@nest-m2m/auth';
import { AUDIT_API_AUDIENCE, type DevIssuer, DOCUMENTS_API_AUDIENCE, startDevIssuer } from '@nest-m2m/dev-issuer';
import { freePort } from './helpers/built-app.js';
import { credentials, postToken, secretOf } from '../libs/dev-issuer/test/helpers.js';

/** One sample's value from the exposition text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const body = /\{(.*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe.each(['express', 'fastify'])(
  '/metrics on the real AppModule on %s, with the dev issuer as issuer and token endpoint',
  (platform) => {
    let issuer: DevIssuer;
    let app: INestApplication;
    let url: string;
    let token: string;
    const scrape = async () => {
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      return res.text();
    };
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(`${url}${path}`, { method, headers });

    beforeAll(async () => {
      issuer = await startDevIssuer({ port: 0 });
      issuer.controls.setQuota('nest-m2m-service', 1000);
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      app = await createApp(
        {
          env: {
            NODE_ENV: 'test',
            HTTP_PLATFORM: platform,
            LOG_LEVEL: 'silent',
            AUTH_ISSUER_URL: issuer.issuer,
            AUTH0_AUDIENCE: `${DOCUMENTS_API_AUDIENCE},${AUDIT_API_AUDIENCE}`,
            AUTH_TOKEN_DIALECT: 'auth0',
            AUTH_CLIENT_AUTH: 'client_secret_post',
            AUTH0_CLIENT_ID: 'nest-m2m-service',
            AUTH0_CLIENT_SECRET: secretOf(issuer, 'nest-m2m-service'),
            AUDIT_SERVICE_URL: url,
            AUDIT_SERVICE_AUDIENCE: AUDIT_API_AUDIENCE,
          },
        },
        false,
      );
      await app.listen(port, '127.0.0.1');
      token = (await postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE))).body.access_token as string;
    });
    afterAll(async () => {
      await app?.close();
      await issuer?.close();
    });

    it('the_http_histogram_is_labelled_by_route_pattern_and_status_never_by_raw_url', async () => {
      for (const id of ['1', '2', '3'])
        expect((await get(`/internal/documents/${id}`, { Authorization: `Bearer ${token}` })).status).toBe(200);
      expect((await get('/internal/documents/999', { Authorization: `Bearer ${token}` })).status).toBe(404);
      expect((await get('/no/such/route/12345')).status).toBe(404);
      const text = await scrape();
      const count = 'nest_m2m_http_request_duration_seconds_count';
      expect(sample(text, count, { method: 'GET', route: '/internal/documents/:id', status_code: '200' })).toBe(3);
      expect(sample(text, count, { method: 'GET', route: '/internal/documents/:id', status_code: '404' })).toBe(1);
      expect(text).not.toMatch(/route="\/internal\/documents\/\d/);
      expect(sample(text, count, { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
      expect(text).not.toContain('12345');
    });

    it('auth_rejections_are_counted_by_error_code_and_status', async () => {
      await get('/internal/data');
      await get('/internal/data', { Authorization: 'Bearer not.a.jwt' });
      await get('/internal/audit-events', { Authorization: `Bearer ${token}` });
      const text = await scrape();
      expect(sample(text, 'nest_m2m_auth_rejections_total', { code: 'ERR_AUTH_TOKEN_MISSING', status: '401' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'nest_m2m_auth_rejections_total', { code: 'ERR_AUTH_TOKEN_MALFORMED', status: '401' })).toBe(1);
      expect(sample(text, 'nest_m2m_auth_rejections_total', { code: 'ERR_AUTH_INSUFFICIENT_SCOPE', status: '403' })).toBe(1);
    });

    it('jwks_fetches_are_counted_by_outcome', async () => {
      const fetches = async () => {
        const text = await scrape();
        const count = (outcome: string) => sample(text, 'nest_m2m_jwks_fetches_total', { outcome }) ?? 0;
        return { success: count('success'), failure: count('failure') };
      };
      const before = await fetches();
      expect(before.success).toBeGreaterThanOrEqual(1); // the start-up warm-up
      // warm() fetches now, whatever the cooldown: one refused fetch, then one good one.
      const keys = app.get(KeySource, { strict: false });
      issuer.controls.failNext({ endpoint: 'jwks', status: 503 });
      await keys.warm();
      expect(await fetches()).toEqual({ success: before.success, failure: before.failure + 1 });
      await keys.warm();
      expect(await fetches()).toEqual({ success: before.success + 1, failure: before.failure + 1 });
    });

    it('outgoing_token_requests_cache_hits_and_quota_come_from_the_m2m_token_service', async () => {
      // The first DELETE buys a token for the audit API; the second reuses it from the cache.
      for (const id of ['1', '2']) {
        await get(`/internal/documents/${id}`, { Authorization: `Bearer ${token}` }, 'DELETE').then(async (r) =>
          expect(r.status).toBe(200),
        );
      }
      const text = await scrape();
      expect(sample(text, 'nest_m2m_token_requests_total', { audience: AUDIT_API_AUDIENCE, outcome: 'success' })).toBe(1);
      expect(sample(text, 'nest_m2m_token_cache_misses_total')).toBe(1);
      expect(sample(text, 'nest_m2m_token_cache_hits_total')).toBe(1);
      expect(sample(text, 'nest_m2m_auth0_quota_remaining', { client_id: 'nest-m2m-service', scope: 'client', bucket: 'per_hour' })).toBe(
        999,
      );
    });

    it('default_process_metrics_carry_the_prefix', async () => {
      const text = await scrape();
      expect(sample(text, 'nest_m2m_process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(text).toContain('nest_m2m_nodejs_eventloop_lag_seconds');
      const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
      expect(names.every((n) => n?.startsWith('nest_m2m_'))).toBe(true);
    });

    it('metrics_and_health_are_public', async () => {
      expect((await get('/metrics')).status).toBe(200);
      expect((await get('/health')).status).toBe(200);
    });
  },
);
