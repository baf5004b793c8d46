import { describe, expect, it } from 'vitest';
import { type AuthPrincipal, toPrincipal } from './principal.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

const principal = (sub: string) => toPrincipal({ sub, scope: 'a' });

describe('VerifiedTokenCache', () => {
  it('serves_an_entry_until_the_token_expires_and_not_after', () => {
    let now = 1_000_000;
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: { now: () => now } });
    cache.set('t1', principal('x'), 'k1', 1_000 + 60); // exp = 1060 s = 1_060_000 ms
    expect(cache.get('t1')?.subject).toBe('x');
    now = 1_059_999;
    expect(cache.get('t1')).toBeDefined();
    now = 1_060_000;
    expect(cache.get('t1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never_stores_an_already_expired_token', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: { now: () => 2_000_000 } });
    cache.set('t1', principal('x'), 'k1', 1_000);
    expect(cache.size).toBe(0);
  });

  it('is_bounded_and_evicts_the_least_recently_used', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 3, clock: { now: () => 0 } });
    for (const t of ['a', 'b', 'c']) cache.set(t, principal(t), 'k', 10_000);
    cache.get('a');
    cache.set('d', principal('d'), 'k', 10_000);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
  });

  it('drops_entries_of_keys_that_left_the_jwks', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: { now: () => 0 } });
    cache.set('a', principal('a'), 'old', 10_000);
    cache.set('b', principal('b'), 'new', 10_000);
    cache.dropKids(['old']);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeDefined();
  });

  it('many_large_tokens_stay_within_the_byte_budget', () => {
    const maxBytes = 1024 * 1024;
    const cache = new VerifiedTokenCache({ maxEntries: 100_000, maxBytes, clock: { now: () => 0 } });
    // ~6 KB tokens, as the red team sent: 400 permissions each (every one a string in the claims and in the scope set).
    const permissions = Array.from({ length: 400 }, (_, i) => `read:resource-${i}`);
    const big = (i: number) => {
      const payload = Buffer.from(JSON.stringify({ sub: `client-${i}@clients`, permissions, exp: 10_000 })).toString('base64url');
      return { token: `eyJhbGciOiJSUzI1NiJ9.${payload}.sig-${i}`, principal: toPrincipal({ sub: `client-${i}@clients`, permissions }) };
    };
    expect(big(0).token.length).toBeGreaterThan(6000);
    for (let i = 0; i < 2000; i++) {
      const { token, principal: p } = big(i);
      cache.set(token, p, 'k', 10_000);
    }
    expect(cache.calculatedSize).toBeLessThanOrEqual(maxBytes);
    // Each entry is charged at least its token's length plus its claims: a few dozen fit, not 2000.
    expect(cache.size).toBeGreaterThan(10);
    expect(cache.size).toBeLessThan(maxBytes / big(0).token.length);
    expect(cache.get(big(1999).token)?.subject).toBe('client-1999@clients');
    expect(cache.get(big(0).token)).toBeUndefined();
  });

  it('the_entry_count_still_bounds_small_tokens', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 3, maxBytes: 1024 * 1024, clock: { now: () => 0 } });
    for (const t of ['a.b.1', 'a.b.2', 'a.b.3', 'a.b.4']) cache.set(t, principal(t), 'k', 10_000);
    expect(cache.size).toBe(3);
  });

  it('a_byte_budget_of_zero_disables_caching', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, maxBytes: 0, clock: { now: () => 0 } });
    cache.set('a', principal('a'), 'k', 10_000);
    expect(cache.get('a')).toBeUndefined();
  });

  it('a_size_of_zero_disables_caching', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 0, clock: { now: () => 0 } });
    cache.set('a', principal('a'), 'k', 10_000);
    expect(cache.get('a')).toBeUndefined();
  });

  it('a_cached_signature_with_other_claims_misses', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: { now: () => 0 } });
    cache.set('header.payload.sig', principal('a'), 'k', 10_000);
    expect(cache.get('header.payload.sig')?.subject).toBe('a');
    for (const forged of [
      'header.payloaX.sig',
      'header.payload2.sig',
      'header.payloa.sig',
      'heade.rpayload.sig',
      'x.header.payload.sig',
      '.sig',
      'sig',
    ]) {
      expect(cache.get(forged), forged).toBeUndefined();
    }
  });

  it('keys_by_hash_so_a_different_token_never_hits', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: { now: () => 0 } });
    cache.set('header.payload.sig', principal('a'), 'k', 10_000);
    expect(cache.get('header.payload.sig2')).toBeUndefined();
    expect(cache.get('header.payload.si')).toBeUndefined();
  });
});

describe('VerifiedTokenCache bookkeeping', () => {
  const at = (now: number) => ({ now: () => now });
  const bare = (claims: Record<string, unknown>, scopes: string[] = []): AuthPrincipal => ({
    clientId: undefined,
    subject: undefined,
    scopes: new Set(scopes),
    claims,
  });
  /** Bytes charged for one entry holding `principal` under a token with a three-character signing input. */
  const charge = (principal: AuthPrincipal) => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: at(0) });
    cache.set('h.p.sig', principal, 'k', 10_000);
    return cache.calculatedSize;
  };

  it('a_disabled_cache_holds_nothing_and_reports_empty', () => {
    for (const options of [{ maxEntries: 0 }, { maxBytes: 0 }]) {
      const cache = new VerifiedTokenCache({ ...options, clock: at(0) });
      cache.set('h.p.sig', principal('a'), 'k', 10_000);
      expect(cache.size).toBe(0);
      expect(cache.calculatedSize).toBe(0);
      cache.dropKids(['k']);
      cache.clear();
      expect(cache.get('h.p.sig')).toBeUndefined();
    }
  });

  it('defaults_to_a_bounded_cache_on_the_system_clock', () => {
    const cache = new VerifiedTokenCache();
    cache.set('h.p.sig', principal('a'), 'k', Math.floor(Date.now() / 1000) + 60);
    expect(cache.get('h.p.sig')?.subject).toBe('a');
    cache.set('h.p.old', principal('b'), 'k', Math.floor(Date.now() / 1000) - 1);
    expect(cache.size).toBe(1);
  });

  it('a_token_expiring_this_very_millisecond_is_not_stored', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: at(1_000_000) });
    cache.set('h.p.sig', principal('a'), 'k', 1_000);
    expect(cache.size).toBe(0);
    cache.set('h.p.sig', principal('a'), 'k', 1_001);
    expect(cache.size).toBe(1);
  });

  it('clear_empties_the_cache', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: at(0) });
    cache.set('h.p.sig', principal('a'), 'k', 10_000);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('h.p.sig')).toBeUndefined();
  });

  it('entries_of_a_key_without_kid_go_when_that_key_leaves_the_jwks', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: at(0) });
    cache.set('h.p.a', principal('a'), undefined, 10_000);
    cache.set('h.p.b', principal('b'), 'k', 10_000);
    cache.dropKids([undefined]);
    expect(cache.get('h.p.a')).toBeUndefined();
    expect(cache.get('h.p.b')?.subject).toBe('b');
  });

  it('the_signing_input_is_charged_a_byte_a_character', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: at(0) });
    const p = bare({});
    cache.set('h.p.1', p, 'k', 10_000);
    const small = cache.calculatedSize;
    cache.set(`h.${'p'.repeat(1001)}.2`, p, 'k', 10_000);
    expect(cache.calculatedSize - small).toBe(small + 1000);
    expect(small).toBeGreaterThanOrEqual(512 + 3); // fixed overhead (LRU slots, key, objects) plus 'h.p'
  });

  it('string_claims_are_charged_two_bytes_a_character', () => {
    expect(charge(bare({ name: 'x'.repeat(1000) })) - charge(bare({ name: '' }))).toBe(2000);
    // Claim names too, and every member costs something even when empty.
    expect(charge(bare({ ['n'.repeat(100)]: '' })) - charge(bare({ n: '' }))).toBe(99);
    expect(charge(bare({ n: '' }))).toBeGreaterThan(charge(bare({})) + 24);
  });

  it('every_array_item_and_scope_is_charged', () => {
    const items = charge(bare({ list: Array.from({ length: 100 }, () => '') })) - charge(bare({ list: [] }));
    expect(items).toBeGreaterThanOrEqual(100 * (8 + 24));
    const scopes =
      charge(
        bare(
          {},
          Array.from({ length: 100 }, (_, i) => `s${i}`),
        ),
      ) - charge(bare({}));
    expect(scopes).toBeGreaterThanOrEqual(100 * 32);
    // Numbers, booleans and null are charged like a slot, not walked.
    expect(charge(bare({ a: 1, b: true, c: null })) - charge(bare({}))).toBe(3 * (16 + 1 + 16));
  });

  it('nested_claims_are_charged_and_absurd_nesting_neither_overflows_the_stack_nor_goes_unbounded', () => {
    expect(charge(bare({ o: { inner: 'x'.repeat(500) } }))).toBeGreaterThan(charge(bare({ o: {} })) + 1000);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    const bytes = charge(bare(deep));
    expect(bytes).toBeLessThan(charge(bare({})) + 40 * (32 + 16 + 1 + 32));
    let deepList: unknown[] = [];
    for (let i = 0; i < 100_000; i++) deepList = [deepList];
    expect(charge(bare({ l: deepList }))).toBeLessThan(charge(bare({})) + 40 * (32 + 8 + 32) + 32);
  });

  it('entries_are_keyed_by_the_signature_alone_so_a_second_token_with_that_signature_replaces_the_first', () => {
    // What a lookup hashes is the signature (a third of the token), not the whole token.
    const cache = new VerifiedTokenCache({ maxEntries: 10, clock: at(0) });
    cache.set('h.p1.sig', principal('one'), 'k', 10_000);
    cache.set('h.p2.sig', principal('two'), 'k', 10_000);
    expect(cache.size).toBe(1);
    expect(cache.get('h.p2.sig')?.subject).toBe('two');
    expect(cache.get('h.p1.sig')).toBeUndefined();
  });
});
