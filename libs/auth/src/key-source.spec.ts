import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestIssuer } from '../test/test-issuer.js';
import { InvalidTokenError, KeysUnavailableError } from './bearer.errors.js';
import { KeySource, type KeySourceOptions } from './key-source.js';

describe('KeySource', () => {
  let issuer: TestIssuer;
  let clock: number;
  const source = (o: Partial<KeySourceOptions> = {}) =>
    new KeySource({
      resolveJwksUri: async () => issuer.jwksUri,
      algorithms: ['RS256'],
      timeoutMs: 300,
      cooldownMs: 10_000,
      maxAgeMs: 60_000,
      staleIfErrorMs: 3_600_000,
      clock: { now: () => clock },
      ...o,
    });

  beforeEach(async () => {
    clock = 1_000_000;
    issuer = await new TestIssuer().start();
  });
  afterEach(async () => issuer.close());

  it('parses_each_key_once_and_serves_known_kids_without_refetching', async () => {
    const keys = source();
    const a = await keys.getKey('key-1', 'RS256');
    const b = await keys.getKey('key-1', 'RS256');
    expect(a.key).toBe(b.key);
    expect(a.key.asymmetricKeyType).toBe('rsa');
    expect(issuer.jwksFetches).toBe(1);
  });

  it('an_unknown_kid_triggers_one_refetch_so_a_rotated_key_works_at_once', async () => {
    const keys = source();
    await keys.getKey('key-1', 'RS256');
    const next = issuer.rotate({ keepOld: true });
    await expect(keys.getKey(next.kid, 'RS256')).resolves.toMatchObject({ kid: next.kid });
    expect(issuer.jwksFetches).toBe(2);
  });

  it('a_flood_of_random_kids_costs_one_fetch_per_cooldown', async () => {
    const keys = source();
    await keys.warm();
    const results = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => keys.getKey(`random-${i}`, 'RS256')));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof InvalidTokenError && r.reason.code === 'ERR_AUTH_KEY_UNKNOWN')).toBe(true);
    expect(issuer.jwksFetches).toBe(2);
    clock += 10_000;
    await expect(keys.getKey('random-x', 'RS256')).rejects.toThrow(InvalidTokenError);
    expect(issuer.jwksFetches).toBe(3);
  });

  it('known_keys_keep_serving_while_the_jwks_endpoint_fails_within_the_stale_window', async () => {
    const keys = source();
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 500 };
    clock += 120_000; // past maxAge: a background refresh is attempted and fails
    await expect(keys.getKey('key-1', 'RS256')).resolves.toBeDefined();
    await new Promise((r) => setTimeout(r, 50));
    expect(issuer.jwksFetches).toBe(2);
    await expect(keys.getKey('key-1', 'RS256')).resolves.toBeDefined();
  });

  it('an_unknown_kid_while_the_endpoint_is_down_is_503_not_401', async () => {
    const keys = source();
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 503 };
    const err = await keys.getKey('other', 'RS256').catch((e) => e);
    expect(err).toBeInstanceOf(KeysUnavailableError);
    expect(err.retryAfterSeconds).toBe(10);
  });

  it('no_keys_at_all_is_503_and_later_fetches_wait_for_the_cooldown', async () => {
    issuer.behaviour = { kind: 'hang' };
    const keys = source();
    await expect(keys.getKey('key-1', 'RS256')).rejects.toBeInstanceOf(KeysUnavailableError);
    await expect(keys.getKey('key-1', 'RS256')).rejects.toBeInstanceOf(KeysUnavailableError);
    expect(issuer.jwksFetches).toBe(1);
    expect(keys.ready).toBe(false);
    issuer.behaviour = { kind: 'ok' };
    clock += 10_000;
    await expect(keys.getKey('key-1', 'RS256')).resolves.toBeDefined();
    expect(keys.ready).toBe(true);
  });

  it('keys_are_dropped_after_the_stale_if_error_window', async () => {
    const keys = source({ staleIfErrorMs: 60_000, maxAgeMs: 30_000 });
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 500 };
    clock += 61_000;
    expect(keys.ready).toBe(false);
    await expect(keys.getKey('key-1', 'RS256')).rejects.toBeInstanceOf(KeysUnavailableError);
  });

  it('keys_leaving_the_jwks_are_reported_and_no_longer_served', async () => {
    const keys = source({ cooldownMs: 0 });
    const removed: unknown[] = [];
    keys.onKeysRemoved((kids) => removed.push(...kids));
    await keys.warm();
    const next = issuer.rotate({ keepOld: false });
    await keys.getKey(next.kid, 'RS256');
    expect(removed).toEqual(['key-1']);
    await expect(keys.getKey('key-1', 'RS256')).rejects.toMatchObject({ code: 'ERR_AUTH_KEY_UNKNOWN' });
  });

  it('revalidate_refreshes_after_max_age_so_cache_hits_still_notice_removed_keys', async () => {
    const keys = source();
    const removed: unknown[] = [];
    keys.onKeysRemoved((kids) => removed.push(...kids));
    await keys.warm();
    issuer.rotate({ keepOld: false });
    expect(keys.revalidate()).toBe(true);
    expect(issuer.jwksFetches).toBe(1); // still fresh: no fetch
    clock += 60_001;
    expect(keys.revalidate()).toBe(true); // stale: keeps serving, refreshes in the background
    await keys.warm();
    expect(issuer.jwksFetches).toBeGreaterThanOrEqual(2);
    expect(removed).toEqual(['key-1']);
  });

  it('revalidate_reports_no_usable_keys_after_the_stale_if_error_window', async () => {
    const keys = source({ staleIfErrorMs: 120_000 });
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 500 };
    clock += 120_001;
    expect(keys.revalidate()).toBe(false);
  });

  it('the_algorithm_comes_from_the_key_not_the_token', async () => {
    const keys = source({ algorithms: ['RS256', 'RS512'] });
    await expect(keys.getKey('key-1', 'RS512')).rejects.toMatchObject({ code: 'ERR_AUTH_ALGORITHM_UNEXPECTED' });
  });

  it('keys_for_algorithms_not_accepted_are_never_loaded', async () => {
    const keys = source({ algorithms: ['ES256'] });
    await expect(keys.getKey('key-1', 'ES256')).rejects.toBeInstanceOf(KeysUnavailableError);
  });

  it('a_garbage_jwks_is_a_failed_fetch', async () => {
    issuer.behaviour = { kind: 'garbage' };
    await expect(source().getKey('key-1', 'RS256')).rejects.toBeInstanceOf(KeysUnavailableError);
  });
});
