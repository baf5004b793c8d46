import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateTestKey, TestIssuer, type TestKey } from '../test/test-issuer.js';
import { InvalidTokenError, KeysUnavailableError } from './bearer.errors.js';
import { type JwksFetchOutcome, KeySource, type KeySourceOptions } from './key-source.js';

describe('KeySource', () => {
  let issuer: TestIssuer;
  let clock: number;
  const source = (o: Partial<KeySourceOptions> = {}) =>
    new KeySource({
      resolveJwksUri: async () => issuer.jwksUri,
      algorithms: ['RS256'],
      timeoutMs: 2_000, // a deadline, not a threshold: only the hanging-endpoint spec waits it out
      cooldownMs: 10_000,
      maxAgeMs: 60_000,
      staleIfErrorMs: 3_600_000,
      clockToleranceMs: 0,
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

  it('a_flood_of_random_kids_costs_one_shared_fetch_per_second', async () => {
    const keys = source();
    await keys.warm();
    const results = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => keys.getKey(`random-${i}`, 'RS256')));
    expect(
      results.every((r) => r.status === 'rejected' && r.reason instanceof InvalidTokenError && r.reason.code === 'ERR_AUTH_KEY_UNKNOWN'),
    ).toBe(true);
    expect(issuer.jwksFetches).toBe(2);
    clock += 1_000;
    await expect(keys.getKey('random-x', 'RS256')).rejects.toThrow(InvalidTokenError);
    expect(issuer.jwksFetches).toBe(3);
  });

  it('a_kid_missing_from_a_jwks_fetched_after_the_token_was_issued_is_401_without_a_fetch', async () => {
    const keys = source();
    await keys.warm(); // at 1000 s
    clock += 5_000;
    // Issued at 998 s: the JWKS of 1000 s would hold its key.
    await expect(keys.getKey('random', 'RS256', 998)).rejects.toMatchObject({ code: 'ERR_AUTH_KEY_UNKNOWN' });
    expect(issuer.jwksFetches).toBe(1);
  });

  it('a_token_issued_after_the_last_fetch_gets_its_key_even_right_after_another_unknown_kid_refetch', async () => {
    const keys = source();
    await keys.warm();
    await expect(keys.getKey('random', 'RS256')).rejects.toMatchObject({ code: 'ERR_AUTH_KEY_UNKNOWN' }); // takes this second's refetch
    const next = issuer.rotate({ keepOld: true }); // published just before its first token
    clock += 990; // inside that second, and well inside the 10 s failure cooldown
    await expect(keys.getKey(next.kid, 'RS256', Math.floor(clock / 1000))).resolves.toMatchObject({ kid: next.kid });
    expect(issuer.jwksFetches).toBe(3);
  });

  it('inside_the_one_second_slot_unknown_kids_share_one_deferred_refetch', async () => {
    const keys = source();
    await keys.warm();
    await keys.getKey('random-0', 'RS256').catch(() => undefined); // this second's refetch
    clock += 990;
    const fetchKeys = vi.spyOn(keys as unknown as { fetchKeys(): Promise<boolean> }, 'fetchKeys');
    const all = Promise.allSettled(Array.from({ length: 50 }, (_, i) => keys.getKey(`random-${i + 1}`, 'RS256', Math.floor(clock / 1000))));
    expect(fetchKeys).not.toHaveBeenCalled(); // deferred to the next second, not started now
    const results = await all;
    expect(fetchKeys).toHaveBeenCalledTimes(1);
    expect(issuer.jwksFetches).toBe(3);
    expect(results.every((r) => r.status === 'rejected' && r.reason.code === 'ERR_AUTH_KEY_UNKNOWN')).toBe(true);
  });

  it('the_iat_comparison_allows_for_the_issuers_clock_being_behind_ours', async () => {
    const keys = source({ clockToleranceMs: 5_000 });
    await keys.warm(); // at 1000 s by our clock
    // Issued at 997 s by an issuer clock up to 5 s behind ours: possibly after our fetch.
    await expect(keys.getKey('random-1', 'RS256', 997)).rejects.toMatchObject({ code: 'ERR_AUTH_KEY_UNKNOWN' });
    expect(issuer.jwksFetches).toBe(2);
    // Issued at 990 s: before our fetch whatever the skew.
    await expect(keys.getKey('random-2', 'RS256', 990)).rejects.toMatchObject({ code: 'ERR_AUTH_KEY_UNKNOWN' });
    expect(issuer.jwksFetches).toBe(2);
  });

  it('an_unknown_kid_of_a_token_older_than_the_last_good_fetch_is_401_even_while_the_endpoint_is_down', async () => {
    const keys = source();
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 503 };
    clock += 1_000;
    await expect(keys.getKey('other', 'RS256', Math.floor(clock / 1000))).rejects.toBeInstanceOf(KeysUnavailableError); // a fresh token: 503
    await expect(keys.getKey('other', 'RS256', 990)).rejects.toMatchObject({ code: 'ERR_AUTH_KEY_UNKNOWN' });
  });

  it('known_keys_keep_serving_while_the_jwks_endpoint_fails_within_the_stale_window', async () => {
    const keys = source();
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 500 };
    clock += 120_000; // past maxAge: a background refresh is attempted and fails
    await expect(keys.getKey('key-1', 'RS256')).resolves.toBeDefined();
    await expect.poll(() => issuer.jwksFetches).toBe(2); // the background refresh reached the issuer
    await expect(keys.getKey('key-1', 'RS256')).resolves.toBeDefined();
  });

  it('an_unknown_kid_while_the_endpoint_is_down_is_503_not_401', async () => {
    const keys = source();
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 503 };
    const err = (await keys.getKey('other', 'RS256').catch((e: unknown) => e)) as KeysUnavailableError;
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

  it('ready_has_no_side_effects', async () => {
    const keys = source({ staleIfErrorMs: 60_000, maxAgeMs: 30_000 });
    const removed: unknown[] = [];
    keys.onKeysRemoved((kids) => removed.push(...kids));
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 500 };
    clock += 61_000;
    expect(keys.ready).toBe(false);
    expect(keys.ready).toBe(false);
    expect(issuer.jwksFetches).toBe(1);
    issuer.behaviour = { kind: 'ok' };
    await keys.warm();
    expect(keys.ready).toBe(true);
    expect(removed).toEqual([]); // the same key came back: nothing left the JWKS
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

  it('a_kid_reused_for_a_new_key_is_reported_as_removed_and_serves_the_new_key', async () => {
    const jwks = (k: TestKey) => ({ keys: [{ ...(k.publicKey.export({ format: 'jwk' }) as object), kid: 'k', alg: 'RS256' }] });
    const [first, second] = [generateTestKey('k'), generateTestKey('k')];
    issuer.behaviour = { kind: 'json', body: jwks(first) };
    const keys = source();
    const removed: unknown[] = [];
    keys.onKeysRemoved((kids) => removed.push(...kids));
    await keys.warm();
    issuer.behaviour = { kind: 'json', body: jwks(second) };
    await keys.warm();
    expect(removed).toEqual(['k']);
    expect((await keys.getKey('k', 'RS256')).key.equals(second.publicKey)).toBe(true);
  });

  it('a_jwks_member_without_alg_is_served_for_the_accepted_algorithms_of_its_type', async () => {
    issuer.behaviour = {
      kind: 'json',
      body: { keys: [{ ...(issuer.signingKey.publicKey.export({ format: 'jwk' }) as object), kid: 'key-1' }] },
    };
    const keys = source({ algorithms: ['RS256', 'ES256'] });
    await expect(keys.getKey('key-1', 'RS256')).resolves.toMatchObject({ kid: 'key-1', algorithms: ['RS256'] });
    await expect(keys.getKey('key-1', 'ES256')).rejects.toMatchObject({ code: 'ERR_AUTH_ALGORITHM_UNEXPECTED' });
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

describe('KeySource boundaries, listeners and logs', () => {
  let issuer: TestIssuer;
  let clock: number;
  let resolves: number;
  const source = (o: Partial<KeySourceOptions> = {}) =>
    new KeySource({
      resolveJwksUri: async () => {
        resolves++;
        return issuer.jwksUri;
      },
      algorithms: ['RS256'],
      timeoutMs: 2_000, // a deadline, not a threshold: only the hanging-endpoint spec waits it out
      cooldownMs: 10_000,
      maxAgeMs: 60_000,
      staleIfErrorMs: 3_600_000,
      clockToleranceMs: 0,
      clock: { now: () => clock },
      ...o,
    });
  /** Resolves with the outcome of the next fetch that ends, once that fetch has settled (no longer shared). */
  const nextOutcome = (keys: KeySource) =>
    new Promise<JwksFetchOutcome>((resolve) => keys.onFetch((outcome) => setImmediate(() => resolve(outcome))));
  const errorOf = (p: Promise<unknown>) =>
    p.then(
      () => ({}) as Partial<KeysUnavailableError> & { code?: string },
      (e: unknown) => e as Partial<KeysUnavailableError> & { code?: string },
    );

  beforeEach(async () => {
    clock = 1_000_000;
    resolves = 0;
    issuer = await new TestIssuer().start();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await issuer.close();
  });

  it('a_fetch_in_the_second_after_the_tokens_iat_counts_as_later_and_one_in_that_second_does_not', async () => {
    const keys = source();
    await keys.warm(); // at 1000 s
    await expect(keys.getKey('random-1', 'RS256', 999)).rejects.toMatchObject({ code: 'ERR_AUTH_KEY_UNKNOWN' });
    expect(issuer.jwksFetches).toBe(1); // iat 999 s means before 1000 s: no fetch
    await expect(keys.getKey('random-2', 'RS256', 1000)).rejects.toMatchObject({ code: 'ERR_AUTH_KEY_UNKNOWN' });
    expect(issuer.jwksFetches).toBe(2); // iat 1000 s may be 1000.9 s: possibly after the fetch
  });

  it('known_keys_are_refreshed_from_max_age_on_not_before', async () => {
    const keys = source();
    await keys.warm();
    const fetches = vi.spyOn(keys as unknown as { fetchKeys(): Promise<boolean> }, 'fetchKeys');
    clock += 59_999;
    await keys.getKey('key-1', 'RS256');
    expect(fetches).not.toHaveBeenCalled(); // a refresh starts synchronously: none was started
    clock += 1;
    const refreshed = nextOutcome(keys);
    await keys.getKey('key-1', 'RS256');
    expect(await refreshed).toBe('success');
    expect(issuer.jwksFetches).toBe(2);
  });

  it('keys_serve_until_the_last_millisecond_of_the_stale_if_error_window', async () => {
    const keys = source({ staleIfErrorMs: 120_000 });
    await keys.warm();
    clock += 119_999;
    expect(keys.ready).toBe(true);
    clock += 1;
    expect(keys.ready).toBe(false);
  });

  it('a_failed_background_refresh_waits_for_the_cooldown_and_concurrent_requests_share_one', async () => {
    const keys = source({ cooldownMs: 0 });
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 500 };
    clock += 60_000;
    const failed = nextOutcome(keys);
    await Promise.all([keys.getKey('key-1', 'RS256'), keys.getKey('key-1', 'RS256'), keys.getKey('key-1', 'RS256')]);
    expect(await failed).toBe('failure');
    expect(issuer.jwksFetches).toBe(2); // one refresh for all three, though no cooldown holds them back
  });

  it('a_failed_background_refresh_is_tried_again_only_after_the_cooldown', async () => {
    const keys = source();
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 500 };
    clock += 60_000;
    const failed = nextOutcome(keys);
    await keys.getKey('key-1', 'RS256');
    expect(await failed).toBe('failure');
    const fetches = vi.spyOn(keys as unknown as { fetchKeys(): Promise<boolean> }, 'fetchKeys');
    clock += 9_999;
    await keys.getKey('key-1', 'RS256');
    expect(fetches).not.toHaveBeenCalled();
    expect(issuer.jwksFetches).toBe(2);
    clock += 1;
    const again = nextOutcome(keys);
    await keys.getKey('key-1', 'RS256');
    expect(await again).toBe('failure');
    expect(issuer.jwksFetches).toBe(3);
  });

  it('callers_arriving_while_the_first_fetch_is_in_flight_share_it', async () => {
    let open!: () => void;
    issuer.behaviour = { kind: 'gate', open: new Promise<void>((resolve) => (open = resolve)) };
    const keys = source();
    const warming = keys.warm();
    const callers = Array.from({ length: 5 }, () => keys.getKey('key-1', 'RS256'));
    open();
    await warming;
    expect((await Promise.all(callers)).map((k) => k.kid)).toEqual(Array(5).fill('key-1'));
    expect(issuer.jwksFetches).toBe(1);
  });

  it('retry_after_counts_down_the_cooldown_and_is_at_least_one_second', async () => {
    const keys = source();
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 503 };
    expect((await errorOf(keys.getKey('other', 'RS256'))).retryAfterSeconds).toBe(10);
    clock += 2_500;
    expect((await errorOf(keys.getKey('other', 'RS256'))).retryAfterSeconds).toBe(8);
    clock += 7_400;
    expect((await errorOf(keys.getKey('other', 'RS256'))).retryAfterSeconds).toBe(1);
    expect(issuer.jwksFetches).toBe(2);
    const noCooldown = source({ cooldownMs: 0 });
    issuer.behaviour = { kind: 'status', status: 503 };
    expect((await errorOf(noCooldown.getKey('other', 'RS256'))).retryAfterSeconds).toBe(1);
  });

  it('a_token_without_kid_uses_the_only_key_and_is_refused_when_there_are_several', async () => {
    const keys = source();
    await expect(keys.getKey(undefined, 'RS256')).resolves.toMatchObject({ kid: 'key-1' });
    issuer.rotate({ keepOld: true });
    await keys.warm();
    const error = await errorOf(keys.getKey(undefined, 'RS256', 900));
    expect(error).toMatchObject({ code: 'ERR_AUTH_KEY_UNKNOWN', message: 'Token has no kid and the key set holds several keys' });
    expect(await errorOf(keys.getKey('random', 'RS256', 900))).toMatchObject({ message: 'Unknown signing key' });
  });

  it('fetch_outcomes_reach_every_listener', async () => {
    const keys = source();
    const a: JwksFetchOutcome[] = [];
    const b: JwksFetchOutcome[] = [];
    keys.onFetch((o) => a.push(o));
    keys.onFetch((o) => b.push(o));
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 500 };
    await keys.warm();
    expect(a).toEqual(['success', 'failure']);
    expect(b).toEqual(a);
  });

  it('the_jwks_uri_is_resolved_once_it_has_been_had_and_again_after_resolving_failed', async () => {
    let fail = true;
    const keys = source({
      resolveJwksUri: async () => {
        resolves++;
        if (fail) throw new Error('discovery down');
        return issuer.jwksUri;
      },
    });
    expect(await keys.warm()).toBe(false);
    fail = false;
    expect(await keys.warm()).toBe(true);
    expect(await keys.warm()).toBe(true);
    expect(resolves).toBe(2);
    expect(issuer.jwksFetches).toBe(2);
  });

  it('removal_listeners_are_not_called_when_no_key_left', async () => {
    const keys = source();
    const calls: unknown[] = [];
    keys.onKeysRemoved((kids) => calls.push(kids));
    await keys.warm();
    issuer.rotate({ keepOld: true });
    await keys.warm();
    expect(calls).toEqual([]);
  });

  it('failed_fetches_are_errors_while_no_key_is_usable_and_warnings_while_keys_serve', async () => {
    const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const debug = vi.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    const keys = source();
    issuer.behaviour = { kind: 'status', status: 500 };
    await keys.warm();
    expect(error).toHaveBeenLastCalledWith(expect.stringMatching(/^JWKS fetch failed, no usable signing key \(last success: never\): .+/));
    issuer.behaviour = { kind: 'ok' };
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 500 };
    await keys.warm();
    expect(warn).toHaveBeenLastCalledWith(expect.stringMatching(/^JWKS fetch failed: .+/));
    clock += 3_600_000;
    await keys.warm();
    expect(error).toHaveBeenLastCalledWith(
      expect.stringMatching(/^JWKS fetch failed, no usable signing key \(last success: 3600 s ago\): .+/),
    );
    const esOnly = source({ algorithms: ['ES256'] });
    issuer.behaviour = { kind: 'ok' };
    await esOnly.warm();
    expect(error).toHaveBeenLastCalledWith(
      expect.stringContaining('the JWKS holds no usable key for ES256 (kid "key-1": no accepted algorithm (key verifies RS256))'),
    );
    expect(debug).toHaveBeenCalledWith('JWKS member left out: kid "key-1": no accepted algorithm (key verifies RS256)');
    const jwk = issuer.keys[0]!.publicKey.export({ format: 'jwk' }) as object;
    issuer.behaviour = {
      kind: 'json',
      body: {
        keys: [
          { ...jwk, kid: 'a', use: 'enc' },
          { ...jwk, kid: 'b', use: 'enc' },
        ],
      },
    };
    await source().warm();
    expect(error).toHaveBeenLastCalledWith(expect.stringContaining('no usable key for RS256 (kid "a": use "enc"; kid "b": use "enc")'));
    issuer.behaviour = { kind: 'json', body: { keys: [] } };
    await source({ algorithms: ['RS256', 'ES256'] }).warm();
    expect(error).toHaveBeenLastCalledWith(expect.stringMatching(/: the JWKS holds no usable key for RS256, ES256$/));
  });
});

describe('KeySource refetch slots and cooldowns', () => {
  let issuer: TestIssuer;
  let clock: number;
  const source = (o: Partial<KeySourceOptions> = {}) =>
    new KeySource({
      resolveJwksUri: async () => issuer.jwksUri,
      algorithms: ['RS256'],
      timeoutMs: 2_000, // a deadline, not a threshold: only the hanging-endpoint spec waits it out
      cooldownMs: 10_000,
      maxAgeMs: 60_000,
      staleIfErrorMs: 3_600_000,
      clockToleranceMs: 0,
      clock: { now: () => clock },
      ...o,
    });
  const iatNow = () => Math.floor(clock / 1000);
  const spyFetches = (keys: KeySource) => vi.spyOn(keys as unknown as { fetchKeys(): Promise<boolean> }, 'fetchKeys');

  beforeEach(async () => {
    clock = 1_000_000;
    issuer = await new TestIssuer().start();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await issuer.close();
  });

  it('once_the_one_second_slot_is_over_an_unknown_kid_is_fetched_at_once_and_a_deferred_slot_counts_from_its_fetch', async () => {
    const keys = source();
    await keys.warm();
    await keys.getKey('random-0', 'RS256', iatNow()).catch(() => undefined); // slot at 1 000 000
    clock += 1_000;
    const fetches = spyFetches(keys);
    const immediate = keys.getKey('random-1', 'RS256', iatNow()).catch(() => undefined); // slot over: fetched now
    expect(fetches).toHaveBeenCalledTimes(1);
    await immediate;
    clock += 990;
    await keys.getKey('random-2', 'RS256', iatNow()).catch(() => undefined); // deferred 10 ms: its slot starts at 1 002 000
    expect(fetches).toHaveBeenCalledTimes(2);
    clock += 995; // 1 002 985: inside the deferred slot, so deferred again
    const deferred = keys.getKey('random-3', 'RS256', iatNow()).catch(() => undefined);
    expect(fetches).toHaveBeenCalledTimes(2);
    await deferred;
    expect(fetches).toHaveBeenCalledTimes(3);
  });

  it('while_known_keys_serve_but_the_last_fetch_failed_unknown_kids_wait_for_the_cooldown_not_the_one_second_slot', async () => {
    const keys = source();
    await keys.warm();
    issuer.behaviour = { kind: 'status', status: 503 };
    await expect(keys.getKey('new-1', 'RS256', iatNow())).rejects.toBeInstanceOf(KeysUnavailableError);
    expect(issuer.jwksFetches).toBe(2);
    clock += 5_000;
    await expect(keys.getKey('new-2', 'RS256', iatNow())).rejects.toBeInstanceOf(KeysUnavailableError);
    expect(issuer.jwksFetches).toBe(2);
    clock += 5_000;
    issuer.behaviour = { kind: 'ok' };
    const next = issuer.rotate({ keepOld: true });
    await expect(keys.getKey(next.kid, 'RS256', iatNow())).resolves.toMatchObject({ kid: next.kid });
    expect(issuer.jwksFetches).toBe(3);
  });

  it('revalidate_past_max_age_starts_the_refresh_by_itself', async () => {
    const keys = source();
    await keys.warm();
    const outcome = new Promise((resolve) => keys.onFetch(resolve));
    clock += 60_000;
    expect(keys.revalidate()).toBe(true);
    expect(await outcome).toBe('success');
    expect(issuer.jwksFetches).toBe(2);
  });

  it('key_material_republished_under_another_kid_counts_as_removed_under_the_old_one', async () => {
    const member = (kid: string) => ({ ...(issuer.keys[0]!.publicKey.export({ format: 'jwk' }) as object), kid, alg: 'RS256' });
    issuer.behaviour = { kind: 'json', body: { keys: [member('a')] } };
    const keys = source();
    const removed: unknown[] = [];
    keys.onKeysRemoved((kids) => removed.push(...kids));
    await keys.warm();
    issuer.behaviour = { kind: 'json', body: { keys: [member('b')] } };
    await keys.warm();
    expect(removed).toEqual(['a']);
  });

  it('a_key_used_with_another_algorithm_is_refused_with_its_own_message_and_the_log_names_the_key_source', async () => {
    const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    await expect(source().getKey('key-1', 'RS512')).rejects.toMatchObject({
      code: 'ERR_AUTH_ALGORITHM_UNEXPECTED',
      message: 'Unexpected signing algorithm',
    });
    issuer.behaviour = { kind: 'status', status: 500 };
    await source().warm();
    expect((error.mock.contexts[0] as { context?: string }).context).toBe('KeySource');
  });
});
