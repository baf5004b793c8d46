/**
 * JWKS failures (500, hang, garbage) and recovery against the real AppModule. Each scenario has its own
 * TestIssuer and app so that key-source state never leaks from one to the next. The helper app runs
 * with AUTH_JWKS_COOLDOWN_MS=1000 and AUTH_JWKS_TIMEOUT_MS=500; waits below only step past that
 * cooldown, no assertion depends on how long anything took.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { challenge, startApp } from './helpers/app.js';
import { type JwksBehaviour, TestIssuer } from './helpers/test-issuer.js';

const COOLDOWN_MS = 1000;
const pastCooldown = () => new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 150));
/** A guard against hangs, not a performance threshold: a hung request fails the test instead of the run. */
const HANG_GUARD_MS = 5000;

interface Harness {
  issuer: TestIssuer;
  app: INestApplication;
  call: (token: string) => Promise<request.Response>;
}

async function boot(behaviour: JwksBehaviour = { kind: 'ok' }, env: Record<string, string> = {}): Promise<Harness> {
  const issuer = await new TestIssuer().start();
  issuer.behaviour = behaviour;
  const app = await startApp(issuer, env);
  const call = (token: string) => request(app.getHttpServer()).get('/internal/data').set('Authorization', `Bearer ${token}`).timeout(HANG_GUARD_MS);
  return { issuer, app, call };
}

async function shutdown(h: Harness | undefined): Promise<void> {
  await h?.app.close();
  await h?.issuer.close();
}

/** A token nobody has sent before, so the verified-token cache cannot answer for it. */
const fresh = (issuer: TestIssuer, key = issuer.keys[0]) => issuer.sign(issuer.claims({ jti: randomUUID() }), {}, key);
const unknownKid = (issuer: TestIssuer) => issuer.sign(issuer.claims(), { kid: `unknown-${randomUUID()}` });

function expectUnknownKid(res: request.Response): void {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toBe(challenge({ error: 'invalid_token', description: 'Unknown signing key' }));
  expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Unknown signing key' });
}

/** DESIGN.md: keys unobtainable → 503 with Retry-After, never 401, and no error code in the challenge. */
function expectKeysUnavailable(res: request.Response): void {
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(res.headers['www-authenticate']).toBe(challenge({}));
  expect(res.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'Signing keys are temporarily unavailable' });
}

async function expectHealthy(h: Harness): Promise<void> {
  await request(h.app.getHttpServer()).get('/health').timeout(HANG_GUARD_MS).expect(200);
  expect((await h.call(fresh(h.issuer))).status).toBe(200);
}

describe('a JWKS answering 500 to an app that has never loaded keys', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await boot({ kind: 'status', status: 500 });
  });
  afterAll(() => shutdown(h));

  it('answers a valid token with 503 and Retry-After, not 401', async () => {
    expectKeysUnavailable(await h.call(fresh(h.issuer)));
  });

  it('answers an unknown kid with 503 too, not 401', async () => {
    expectKeysUnavailable(await h.call(unknownKid(h.issuer)));
  });

  it('keeps liveness green during the outage', async () => {
    await request(h.app.getHttpServer()).get('/health').timeout(HANG_GUARD_MS).expect(200);
  });

  it('recovers: once the JWKS answers again and the cooldown has passed, a valid token gets 200', async () => {
    h.issuer.behaviour = { kind: 'ok' };
    await pastCooldown();
    await expectHealthy(h);
  });
});

describe('a JWKS going down after the keys were loaded', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await boot();
    expect((await h.call(fresh(h.issuer))).status).toBe(200);
    h.issuer.behaviour = { kind: 'status', status: 500 };
    await pastCooldown();
  });
  afterAll(() => shutdown(h));

  it('answers an unknown kid with 503, not 401, while the JWKS cannot be fetched', async () => {
    const before = h.issuer.jwksFetches;
    expectKeysUnavailable(await h.call(unknownKid(h.issuer)));
    // The 503 comes from a fetch that failed, not from a refusal to look.
    expect(h.issuer.jwksFetches).toBeGreaterThan(before);
  });

  it('still accepts a new token signed by a known key', async () => {
    expect((await h.call(fresh(h.issuer))).status).toBe(200);
  });

  it('recovers: once the JWKS answers again and the cooldown has passed, a key rotated in meanwhile is found', async () => {
    h.issuer.behaviour = { kind: 'ok' };
    const newKey = h.issuer.rotate({ keepOld: true });
    await pastCooldown();
    expect((await h.call(fresh(h.issuer, newKey))).status).toBe(200);
    await expectHealthy(h);
  });
});

describe('a JWKS that never answers (AUTH_JWKS_TIMEOUT_MS=500)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await boot({ kind: 'hang' }, { AUTH_JWKS_TIMEOUT_MS: '500' });
  });
  afterAll(() => shutdown(h));

  it('answers a valid token with 503 and Retry-After instead of hanging', async () => {
    expectKeysUnavailable(await h.call(fresh(h.issuer)));
  });

  it('answers the next request with 503 as well', async () => {
    expectKeysUnavailable(await h.call(fresh(h.issuer)));
  });

  it('recovers: once the JWKS answers again and the cooldown has passed, a valid token gets 200', async () => {
    h.issuer.behaviour = { kind: 'ok' };
    await pastCooldown();
    await expectHealthy(h);
  });
});

describe('a JWKS answering garbage', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await boot({ kind: 'garbage' });
  });
  afterAll(() => shutdown(h));

  it('answers a valid token with 503 and Retry-After', async () => {
    expectKeysUnavailable(await h.call(fresh(h.issuer)));
  });

  it('recovers: once the JWKS answers again and the cooldown has passed, a valid token gets 200', async () => {
    h.issuer.behaviour = { kind: 'ok' };
    await pastCooldown();
    await expectHealthy(h);
  });
});

