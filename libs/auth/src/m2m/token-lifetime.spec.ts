import { UnsecuredJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CachedToken } from './token-cache.js';
import { isFresh, isUnexpired, toCachedToken } from './token-lifetime.js';

const NOW = 1_800_000_000_000;
const jwt = (claims: Record<string, unknown>) => new UnsecuredJWT(claims).encode();

describe('toCachedToken', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a_jwt_whose_exp_comes_after_expires_in_expires_at_expires_in', () => {
    const token = toCachedToken({ accessToken: jwt({ exp: NOW / 1000 + 900 }), tokenType: 'Bearer', expiresIn: 600 }, 60_000, NOW);
    expect(token.expiresAt).toBe(NOW + 600_000);
  });

  it('an_exp_equal_to_now_says_our_clock_is_ahead_and_expires_in_wins', () => {
    const token = toCachedToken({ accessToken: jwt({ exp: NOW / 1000 }), tokenType: 'Bearer', expiresIn: 600 }, 60_000, NOW);
    expect(token.expiresAt).toBe(NOW + 600_000);
  });

  it('an_exp_that_is_not_a_number_is_ignored', () => {
    // A string that would coerce to a time inside the lifetime must not shorten it.
    const token = toCachedToken({ accessToken: jwt({ exp: String(NOW / 1000 + 100) }), tokenType: 'Bearer', expiresIn: 600 }, 60_000, NOW);
    expect(token.expiresAt).toBe(NOW + 600_000);
  });

  it('tokens_that_are_not_jwts_live_expires_in', () => {
    for (const accessToken of ['a.b.c', 'a.b', 'a.b.c.d.e', `${jwt({ exp: NOW / 1000 + 100 })}.extra`, 'x.bm90IGpzb24.y']) {
      expect(toCachedToken({ accessToken, tokenType: 'Bearer', expiresIn: 600 }, 60_000, NOW).expiresAt, accessToken).toBe(NOW + 600_000);
    }
  });

  it('the_jitter_only_ever_moves_the_refresh_point_earlier_by_up_to_20_percent_of_the_buffer', () => {
    const refreshAt = (random: number) => {
      vi.spyOn(Math, 'random').mockReturnValue(random);
      return toCachedToken({ accessToken: 'a', tokenType: 'Bearer', expiresIn: 3600 }, 60_000, NOW).refreshAt;
    };
    expect(refreshAt(0)).toBe(NOW + 3600_000 - 60_000);
    expect(refreshAt(0.5)).toBe(NOW + 3600_000 - 66_000);
    expect(refreshAt(0.999_999)).toBe(NOW + 3600_000 - 72_000); // 71 999.99 ms early, rounded to whole ms (down: earlier)
  });

  it('a_short_lived_token_is_renewed_no_earlier_than_half_its_lifetime_before_expiry', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const token = toCachedToken({ accessToken: 'a', tokenType: 'Bearer', expiresIn: 10 }, 60_000, NOW);
    expect(token.refreshAt).toBe(NOW + 5_000);
  });

  it('the_scope_the_issuer_granted_is_kept_and_none_is_invented', () => {
    const granted = toCachedToken({ accessToken: 'a', tokenType: 'DPoP', expiresIn: 60, scope: 'read write' }, 0, NOW);
    expect(granted).toMatchObject({ accessToken: 'a', tokenType: 'DPoP', scope: 'read write' });
    expect(Object.keys(toCachedToken({ accessToken: 'a', tokenType: 'Bearer', expiresIn: 60 }, 0, NOW))).not.toContain('scope');
  });
});

describe('isUnexpired and isFresh', () => {
  const token: CachedToken = { accessToken: 'a', tokenType: 'Bearer', refreshAt: NOW + 1_000, expiresAt: NOW + 2_000 };

  it('a_token_is_served_up_to_the_millisecond_before_it_expires_and_not_at_it', () => {
    expect(isUnexpired(token, NOW + 1_999)).toBe(true);
    expect(isUnexpired(token, NOW + 2_000)).toBe(false);
  });

  it('a_token_is_fresh_up_to_the_millisecond_before_its_refresh_point', () => {
    expect(isFresh(token, NOW + 999)).toBe(true);
    expect(isFresh(token, NOW + 1_000)).toBe(false);
    expect(isFresh(token, NOW + 1_500)).toBe(false);
  });

  it('an_entry_whose_refresh_point_lies_past_its_expiry_is_not_fresh_once_expired', () => {
    // A cache of one's own (the `cache` option) may hand back such an entry: expiry still rules.
    const odd: CachedToken = { ...token, refreshAt: NOW + 5_000 };
    expect(isFresh(odd, NOW + 1_999)).toBe(true);
    expect(isFresh(odd, NOW + 2_000)).toBe(false);
  });
});
