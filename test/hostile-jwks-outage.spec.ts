/**
 * JWKS failures (500, hang, garbage) and recovery against the real AppModule. Each scenario has its own
 * TestIssuer and app so that key-source state never leaks from one to the next. The helper app runs
 * with AUTH_JWKS_COOLDOWN_MS=1000 (AUTH_JWKS_TIMEOUT_MS=500 where set) on the harness's clock;
 * pastCooldown() steps that clock past the cooldown instead of waiting for it.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  boot,
  expectHealthy,
  expectKeysUnavailable,
  fresh,
  type Harness,
  HANG_GUARD_MS,
  pastCooldown,
  shutdown,
  unknownKid,
} from './helpers/jwks-harness.js';

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
