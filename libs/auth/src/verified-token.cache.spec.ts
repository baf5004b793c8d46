import { describe, expect, it } from 'vitest';
import { toPrincipal } from './principal.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

const principal = (sub: string) => toPrincipal({ sub, scope: 'a' });

describe('VerifiedTokenCache', () => {
  it('serves_an_entry_until_the_token_expires_and_not_after', () => {
    let now = 1_000_000;
    const cache = new VerifiedTokenCache(10, { now: () => now });
    cache.set('t1', principal('x'), 'k1', 1_000 + 60); // exp = 1060 s = 1_060_000 ms
    expect(cache.get('t1')?.subject).toBe('x');
    now = 1_059_999;
    expect(cache.get('t1')).toBeDefined();
    now = 1_060_000;
    expect(cache.get('t1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never_stores_an_already_expired_token', () => {
    const cache = new VerifiedTokenCache(10, { now: () => 2_000_000 });
    cache.set('t1', principal('x'), 'k1', 1_000);
    expect(cache.size).toBe(0);
  });

  it('is_bounded_and_evicts_the_least_recently_used', () => {
    const cache = new VerifiedTokenCache(3, { now: () => 0 });
    for (const t of ['a', 'b', 'c']) cache.set(t, principal(t), 'k', 10_000);
    cache.get('a');
    cache.set('d', principal('d'), 'k', 10_000);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
  });

  it('drops_entries_of_keys_that_left_the_jwks', () => {
    const cache = new VerifiedTokenCache(10, { now: () => 0 });
    cache.set('a', principal('a'), 'old', 10_000);
    cache.set('b', principal('b'), 'new', 10_000);
    cache.dropKids(['old']);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeDefined();
  });

  it('a_size_of_zero_disables_caching', () => {
    const cache = new VerifiedTokenCache(0, { now: () => 0 });
    cache.set('a', principal('a'), 'k', 10_000);
    expect(cache.get('a')).toBeUndefined();
  });

  it('a_cached_signature_with_other_claims_misses', () => {
    const cache = new VerifiedTokenCache(10, { now: () => 0 });
    cache.set('header.payload.sig', principal('a'), 'k', 10_000);
    expect(cache.get('header.payload.sig')?.subject).toBe('a');
    for (const forged of ['header.payloaX.sig', 'header.payload2.sig', 'header.payloa.sig', 'heade.rpayload.sig', 'x.header.payload.sig', '.sig', 'sig']) {
      expect(cache.get(forged), forged).toBeUndefined();
    }
  });

  it('keys_by_hash_so_a_different_token_never_hits', () => {
    const cache = new VerifiedTokenCache(10, { now: () => 0 });
    cache.set('header.payload.sig', principal('a'), 'k', 10_000);
    expect(cache.get('header.payload.sig2')).toBeUndefined();
    expect(cache.get('header.payload.si')).toBeUndefined();
  });
});
