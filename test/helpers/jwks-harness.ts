/**
 * Harness of the JWKS outage and rotation specs: each scenario boots its own TestIssuer and app, so
 * key-source state never leaks between scenarios. startApp runs with AUTH_JWKS_COOLDOWN_MS=1000 (and
 * AUTH_JWKS_TIMEOUT_MS=500 where a spec needs a timeout) and the harness's clock: stepping past that
 * cooldown moves the clock, it does not wait. Tokens are dated by the same clock.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { Clock } from '@nest-m2m/auth';
import request from 'supertest';
import { expect } from 'vitest';
import { challenge, startApp } from './app.js';
import { type JwksBehaviour, TestIssuer } from '../../libs/auth/test/test-issuer.js';

export const COOLDOWN_MS = 1000;
/** Real time plus the steps taken so far: the apps' clock (token checks, JWKS cooldowns) and the tokens' `iat`. */
let steppedMs = 0;
export const clock: Clock = { now: () => Date.now() + steppedMs };
export const pastCooldown = async (): Promise<void> => {
  steppedMs += COOLDOWN_MS + 1;
};
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
  const app = await startApp(issuer, env, clock);
  const call = (token: string) =>
    request(app.getHttpServer()).get('/internal/data').set('Authorization', `Bearer ${token}`).timeout(HANG_GUARD_MS);
  return { issuer, app, call };
}

export async function shutdown(h: Harness | undefined): Promise<void> {
  await h?.app.close();
  await h?.issuer.close();
}

/** `iat` and `exp` (an hour on) by the harness's clock. */
const dated = () => {
  const iat = Math.floor(clock.now() / 1000);
  return { iat, exp: iat + 3600 };
};
/** A token nobody has sent before, so the verified-token cache cannot answer for it. */
export const fresh = (issuer: TestIssuer, key = issuer.signingKey) =>
  issuer.sign(issuer.claims({ jti: randomUUID(), ...dated() }), {}, key);
export const unknownKid = (issuer: TestIssuer) => issuer.sign(issuer.claims(dated()), { kid: `unknown-${randomUUID()}` });

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
