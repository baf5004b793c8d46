/**
 * Key rotation and kid floods against the real AppModule. Each scenario has its own
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

describe('key rotation', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await boot();
    // Loads the JWKS and proves the first key works.
    expect((await h.call(fresh(h.issuer))).status).toBe(200);
  });
  afterEach(async () => {
    await expectHealthy(h);
    await shutdown(h);
  });

  it('after a rotation that keeps the old key, tokens of the old and the new key are both accepted', async () => {
    const oldKey = h.issuer.keys[0];
    const newKey = h.issuer.rotate({ keepOld: true });
    await pastCooldown();
    expect((await h.call(fresh(h.issuer, newKey))).status).toBe(200);
    expect((await h.call(fresh(h.issuer, oldKey))).status).toBe(200);
  });

  it('after a rotation that drops the old key, an old-key token is 401 kid_unknown once the JWKS is refetched', async () => {
    const oldKey = h.issuer.keys[0];
    const newKey = h.issuer.rotate({ keepOld: false });
    await pastCooldown();
    // The new kid is unknown to the app: this request makes it refetch the JWKS.
    expect((await h.call(fresh(h.issuer, newKey))).status).toBe(200);
    expectUnknownKid(await h.call(fresh(h.issuer, oldKey)));
  });

  it('a verified-token cache entry of a dropped key stops serving once the JWKS is refetched', async () => {
    const cachedToken = fresh(h.issuer);
    expect((await h.call(cachedToken)).status).toBe(200);
    expect((await h.call(cachedToken)).status).toBe(200);
    h.issuer.rotate({ keepOld: false });
    await pastCooldown();
    // Any unknown kid triggers the refetch that notices the old key is gone.
    expectUnknownKid(await h.call(unknownKid(h.issuer)));
    expectUnknownKid(await h.call(cachedToken));
  });
});

describe('a flood of 200 random kids', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await boot();
    expect((await h.call(fresh(h.issuer))).status).toBe(200);
    await pastCooldown();
  });
  afterAll(() => shutdown(h));

  it('costs a bounded number of JWKS fetches, answers each with 401 kid_unknown, and a valid token still gets 200 during and after it', async () => {
    h.issuer.jwksFetches = 0;
    const flood = Array.from({ length: 200 }, () => unknownKid(h.issuer));
    const valid = fresh(h.issuer);
    const results = await Promise.all([...flood.slice(0, 100).map(h.call), h.call(valid), ...flood.slice(100).map(h.call)]);
    const validRes = results.splice(100, 1)[0];
    expect(validRes.status).toBe(200);
    for (const res of results) expectUnknownKid(res);
    expect(h.issuer.jwksFetches).toBeGreaterThanOrEqual(1);
    expect(h.issuer.jwksFetches).toBeLessThanOrEqual(3);
    await expectHealthy(h);
  });
});
