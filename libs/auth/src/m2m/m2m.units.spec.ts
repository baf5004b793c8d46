import { randomBytes } from 'node:crypto';
import { UnsecuredJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CacheEncryption } from './cache-encryption.js';
import { assertM2MOptions } from './m2m.options.js';
import { lowQuotaWarnings, parseQuotaHeader, readQuota } from './quota.js';
import { parseRetryAfter } from './token-endpoint.client.js';
import { DEFAULT_LIFETIME_SECONDS, toCachedToken } from './token-lifetime.js';

const NOW = 1_800_000_000_000;

describe('token lifetime', () => {
  const jwt = (expSeconds: number) => new UnsecuredJWT({}).setExpirationTime(expSeconds).encode();

  it('an opaque token lives expires_in seconds', () => {
    expect(toCachedToken({ accessToken: 'opaque', tokenType: 'Bearer', expiresIn: 600 }, 60_000, NOW).expiresAt).toBe(NOW + 600_000);
  });

  it('a JWT whose exp comes before expires_in expires at exp', () => {
    const token = toCachedToken({ accessToken: jwt(NOW / 1000 + 100), tokenType: 'Bearer', expiresIn: 600 }, 60_000, NOW);
    expect(token.expiresAt).toBe(NOW + 100_000);
  });

  it('a missing expires_in means a short default lifetime, never forever', () => {
    expect(toCachedToken({ accessToken: 'opaque', tokenType: 'Bearer' }, 60_000, NOW).expiresAt).toBe(
      NOW + DEFAULT_LIFETIME_SECONDS * 1000,
    );
  });

  it('an exp in the past (our clock ahead of the issuer) falls back to expires_in', () => {
    expect(toCachedToken({ accessToken: jwt(NOW / 1000 - 10), tokenType: 'Bearer', expiresIn: 60 }, 60_000, NOW).expiresAt).toBe(
      NOW + 60_000,
    );
  });

  it('renewal starts the buffer before expiry, with at most 20 % jitter, and at most half the lifetime early', () => {
    for (let i = 0; i < 100; i++) {
      const long = toCachedToken({ accessToken: 'a', tokenType: 'Bearer', expiresIn: 3600 }, 60_000, NOW);
      expect(long.expiresAt - long.refreshAt).toBeGreaterThanOrEqual(60_000);
      expect(long.expiresAt - long.refreshAt).toBeLessThanOrEqual(72_000);
      const short = toCachedToken({ accessToken: 'a', tokenType: 'Bearer', expiresIn: 10 }, 60_000, NOW);
      expect(short.refreshAt).toBeGreaterThanOrEqual(NOW + 4000);
    }
  });
});

describe('Auth0 quota headers', () => {
  it('several buckets separated by commas are all parsed', () => {
    expect(parseQuotaHeader('b=per_hour;q=1000;r=998;t=3540, b=per_day;q=10000;r=50;t=80000')).toEqual([
      { bucket: 'per_hour', limit: 1000, remaining: 998, resetsInSeconds: 3540 },
      { bucket: 'per_day', limit: 10000, remaining: 50, resetsInSeconds: 80000 },
    ]);
  });

  it('a bucket under 10 % of its quota produces a warning, others do not', () => {
    const headers = new Headers({
      'auth0-client-quota-limit': 'b=per_hour;q=1000;r=998;t=3540,b=per_day;q=10000;r=50;t=80000',
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '50',
      'x-ratelimit-reset': '1800000000',
    });
    const quota = readQuota(headers, 'svc', NOW)!;
    expect(quota.rateLimit).toEqual({ limit: 100, remaining: 50, reset: 1_800_000_000 });
    expect(lowQuotaWarnings(quota)).toEqual(['client quota per_day: 50 of 10000 token requests left, resets in 80000 s']);
  });

  it('answers without quota headers give no quota', () => {
    expect(readQuota(new Headers(), 'svc', NOW)).toBeUndefined();
  });
});

describe('Retry-After', () => {
  // RFC 9110 §10.2.3: delay-seconds or an HTTP-date; the answer is seconds either way. A frozen Date
  // makes the HTTP-date case exact (an answer in milliseconds, or off by one, fails).
  afterEach(() => vi.useRealTimers());

  it('takes delay-seconds and HTTP dates', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(' 120 ')).toBe(120);
    expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString())).toBe(30);
    expect(parseRetryAfter('Fri, 15 Jan 2027 08:01:30 GMT')).toBe(90);
    // A date already past means "now", never a negative wait.
    expect(parseRetryAfter(new Date(NOW - 5_000).toUTCString())).toBe(0);
    // Part of a second left is waited in full.
    vi.setSystemTime(NOW - 400);
    expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString())).toBe(31);
    for (const value of ['soon', '', null]) expect(parseRetryAfter(value), String(value)).toBeUndefined();
  });
});

describe('cache encryption', () => {
  it('round-trips, and an entry moved under another key does not decrypt', () => {
    const encryption = new CacheEncryption(randomBytes(32));
    const sealed = encryption.encrypt('{"accessToken":"t"}', 'key-a');
    expect(sealed).not.toContain('accessToken');
    expect(encryption.decrypt(sealed, 'key-a')).toBe('{"accessToken":"t"}');
    expect(() => encryption.decrypt(sealed, 'key-b')).toThrow();
  });
});

describe('options', () => {
  it('every broken rule is listed at once, each naming its option', () => {
    expect(() => assertM2MOptions({ clientId: '', maxAttempts: 0, cacheUrl: 'http://x' })).toThrow(
      /'clientId'[\s\S]*'tokenEndpoint' and 'resolveTokenEndpoint'[\s\S]*'clientSecret'[\s\S]*'maxAttempts'[\s\S]*'cacheUrl'/,
    );
  });
});

describe('CacheEncryption', () => {
  it('a_key_that_is_not_32_bytes_is_a_type_error_at_construction', () => {
    for (const key of [randomBytes(16), randomBytes(31), randomBytes(33), Buffer.alloc(0)]) {
      expect(() => new CacheEncryption(key), `${key.length} bytes`).toThrow(
        new TypeError('CacheEncryption needs a 32-byte key (AES-256-GCM)'),
      );
    }
    expect(() => new CacheEncryption(randomBytes(32))).not.toThrow();
  });
});
