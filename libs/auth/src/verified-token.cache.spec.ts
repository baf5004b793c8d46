import { describe, expect, it } from 'vitest';
import { toPrincipal } from './principal.js';
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
