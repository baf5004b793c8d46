/**
 * Key rotation and kid floods against the real AppModule. Each scenario has its own
 * TestIssuer and app so that key-source state never leaks from one to the next. The helper app runs
 * with AUTH_JWKS_COOLDOWN_MS=1000 (AUTH_JWKS_TIMEOUT_MS=500 where set) on the harness's clock;
 * pastCooldown() steps that clock past the cooldown instead of waiting for it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { boot, expectHealthy, expectUnknownKid, fresh, type Harness, pastCooldown, shutdown, unknownKid } from './helpers/jwks-harness.js';

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
    expect(validRes?.status).toBe(200);
    for (const res of results) expectUnknownKid(res);
    expect(h.issuer.jwksFetches).toBeGreaterThanOrEqual(1);
    expect(h.issuer.jwksFetches).toBeLessThanOrEqual(3);
    await expectHealthy(h);
  });
});
