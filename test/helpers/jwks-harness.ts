/**
 * Harness of the JWKS outage and rotation specs: each scenario boots its own TestIssuer and app, so
 * key-source state never leaks between scenarios. startApp runs with AUTH_JWKS_COOLDOWN_MS=1000 (and
 * AUTH_JWKS_TIMEOUT_MS=500 where a spec needs a timeout); waits only step past that cooldown.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { expect } from 'vitest';
import { challenge, startApp } from './app.js';
import { type JwksBehaviour, TestIssuer } from '../../libs/auth/test/test-issuer.js';

export const COOLDOWN_MS = 1000;
export const pastCooldown = () => new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 150));
/** A guard against hangs, not a performance threshold: a hung request fails the test instead of the run. */
export const HANG_GUARD_MS = 5000;

export interface Harness {
  issuer: TestIssuer;
  app: INestApplication;
  call: (token: string) => Promise<request.Response>;
}

export async function boot(behaviour: JwksBehaviour = { kind: 'ok' }, env: Record<string, string> = {}): Promise<Harness> {
  const issuer = await new TestIssuer().start();
  issuer.behaviour = behaviour;
  const app = await startApp(issuer, env);
  const call = (token: string) =>
    request(app.getHttpServer()).get('/internal/data').set('Authorization', `Bearer ${token}`).timeout(HANG_GUARD_MS);
  return { issuer, app, call };
}

export async function shutdown(h: Harness | undefined): Promise<void> {
  await h?.app.close();
  await h?.issuer.close();
}

/** A token nobody has sent before, so the verified-token cache cannot answer for it. */
export const fresh = (issuer: TestIssuer, key = issuer.keys[0]) => issuer.sign(issuer.claims({ jti: randomUUID() }), {}, key);
export const unknownKid = (issuer: TestIssuer) => issuer.sign(issuer.claims(), { kid: `unknown-${randomUUID()}` });

export function expectUnknownKid(res: request.Response): void {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toBe(challenge({ error: 'invalid_token', description: 'Unknown signing key' }));
  expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Unknown signing key' });
}

/** DESIGN.md: keys unobtainable → 503 with Retry-After, never 401, and no error code in the challenge. */
export function expectKeysUnavailable(res: request.Response): void {
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(res.headers['www-authenticate']).toBe(challenge({}));
  expect(res.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'Signing keys are temporarily unavailable' });
}

export async function expectHealthy(h: Harness): Promise<void> {
  await request(h.app.getHttpServer()).get('/health').timeout(HANG_GUARD_MS).expect(200);
  expect((await h.call(fresh(h.issuer))).status).toBe(200);
}
