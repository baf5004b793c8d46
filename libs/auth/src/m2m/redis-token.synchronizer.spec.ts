import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenEndpointStub } from '../../test/token-endpoint.stub.js';
import { M2MTokenService } from './m2m-token.service.js';
import { createRedisClient, type RedisClient } from './redis-connection.js';
import { RedisTokenCache } from './redis-token.cache.js';
import { RedisTokenSynchronizer } from './redis-token.synchronizer.js';
import type { CachedToken } from './token-cache.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const API = 'https://api.example.test';

const valid = (accessToken: string): CachedToken => ({
  accessToken,
  tokenType: 'Bearer',
  expiresAt: Date.now() + 60_000,
  refreshAt: Date.now() + 30_000,
});

/** `client`, whose duplicates (the subscriber connections) call `beforeSubscribe` and wait for it before each SUBSCRIBE. */
function withSlowSubscribe(client: RedisClient, beforeSubscribe: () => Promise<void>): RedisClient {
  const bound = (target: object, property: string | symbol) => {
    const value: unknown = Reflect.get(target, property);
    return typeof value === 'function' ? value.bind(target) : value;
  };
  return new Proxy(client, {
    get: (target, property) =>
      property !== 'duplicate'
        ? bound(target, property)
        : () =>
            new Proxy(target.duplicate(), {
              get: (subscriber, p) =>
                p !== 'subscribe'
                  ? bound(subscriber, p)
                  : async (channel: string) => (await beforeSubscribe(), subscriber.subscribe(channel)),
            }),
  });
}

describe('RedisTokenSynchronizer (one token request per fleet)', () => {
  let admin: Redis;
  let endpoint: TokenEndpointStub;
  let prefix: string;
  const closers: Array<() => Promise<unknown>> = [];

  /** A process's cache and synchroniser on the shared Redis. */
  const replica = async (maxWaitMs: number, wrap: (c: RedisClient) => RedisClient = (c) => c, leaseMs?: number) => {
    const cache = new RedisTokenCache(wrap(await createRedisClient(REDIS_URL)), { keyPrefix: prefix });
    const sync = new RedisTokenSynchronizer(cache, { maxWaitMs, leaseMs });
    closers.push(() => sync.close().then(() => cache.close()));
    return { cache, sync };
  };
  const lockKey = () => `${prefix}lock:entry`;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    admin = new Redis(REDIS_URL);
    endpoint = await new TokenEndpointStub().start();
  });
  afterAll(async () => {
    admin.disconnect();
    await endpoint.close();
    Logger.overrideLogger(['log', 'warn', 'error']);
  });
  beforeEach(() => {
    prefix = `nest-m2m-test:${randomBytes(6).toString('hex')}:`;
    endpoint.requests = 0;
    endpoint.delayMs = 0;
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  });

  it('two_services_sharing_redis_make_one_token_request', async () => {
    endpoint.delayMs = 300;
    const options = { tokenEndpoint: endpoint.url, clientId: 'svc', clientSecret: 'secret', cacheUrl: REDIS_URL, cacheKeyPrefix: prefix };
    const [a, b] = [new M2MTokenService(options), new M2MTokenService(options)];
    closers.push(
      () => a.onModuleDestroy(),
      () => b.onModuleDestroy(),
    );
    const first = a.getToken({ audience: API });
    await vi.waitFor(() => expect(endpoint.requests).toBe(1), { timeout: 10_000 }); // a holds the lock; its answer takes 300 ms
    const second = await b.getToken({ audience: API });
    expect(second.accessToken).toBe((await first).accessToken);
    expect(endpoint.requests).toBe(1);
    expect(b.stats().tokenRequests).toBe(0);
  });

  // Hang guard: with a 60 s lease and wait, only the re-check (or the message) can end the wait in time.
  it('a_token_stored_while_the_waiter_was_subscribing_is_found_by_its_re_check_not_at_the_lock_ttl', { timeout: 20_000 }, async () => {
    const holder = await replica(60_000, undefined, 60_000);
    let letHolderFinish!: () => void;
    const holderMayFinish = new Promise<void>((resolve) => (letHolderFinish = resolve));
    const holderDone = holder.sync.run('entry', async () => {
      await holderMayFinish;
      const token = valid('from-the-holder');
      await holder.cache.set('entry', token);
      return token;
    });
    await vi.waitFor(async () => expect(await admin.get(lockKey())).not.toBeNull(), { timeout: 10_000 });

    // The waiter's SUBSCRIBE reaches Redis only after the holder stored, released and published.
    let subscribing!: () => void;
    const waiterIsSubscribing = new Promise<void>((resolve) => (subscribing = resolve));
    const waiter = await replica(60_000, (c) => withSlowSubscribe(c, () => (subscribing(), holderDone.then(() => {}))), 60_000);
    let waiterFetches = 0;
    const result = waiter.sync.run('entry', async () => (waiterFetches++, valid('fetched-by-the-waiter')));
    await waiterIsSubscribing;
    letHolderFinish();

    expect((await result).accessToken).toBe('from-the-holder');
    expect(waiterFetches).toBe(0);
  });

  // Hang guards below: before leases, each of these waited the whole maxWaitMs (60 s here).
  it('a_holder_that_died_frees_its_entry_after_its_short_lease_and_the_waiter_fetches', { timeout: 20_000 }, async () => {
    const leaseMs = 500;
    const { cache, sync } = await replica(60_000, undefined, leaseMs);
    await admin.set(lockKey(), 'a-holder-that-died', 'PX', leaseMs); // what a crashed holder leaves behind
    const lockSeenByFetch: Array<string | null> = [];
    const token = await sync.run('entry', async () => {
      lockSeenByFetch.push(await admin.get(lockKey()));
      const fetched = valid('fetched-by-the-waiter');
      await cache.set('entry', fetched);
      return fetched;
    });
    expect(token.accessToken).toBe('fetched-by-the-waiter');
    // The waiter took the lapsed lock (it holds it while fetching) rather than waiting out maxWaitMs.
    expect(lockSeenByFetch).toHaveLength(1);
    expect(lockSeenByFetch[0]).not.toBeNull();
    expect(lockSeenByFetch[0]).not.toBe('a-holder-that-died');
  });

  it('a_lock_without_expiry_is_given_a_lease_so_it_cannot_stall_the_fleet', { timeout: 20_000 }, async () => {
    const leaseMs = 500;
    const { sync } = await replica(60_000, undefined, leaseMs);
    await admin.set(lockKey(), 'a-lock-without-expiry'); // no PX: written by something else, or a bug
    let fetches = 0;
    const token = await sync.run('entry', async () => (fetches++, valid('fetched-by-the-waiter')));
    expect(token.accessToken).toBe('fetched-by-the-waiter');
    expect(fetches).toBe(1);
  });

  it('a_live_holder_renews_its_lease_so_a_fetch_slower_than_the_lease_is_not_duplicated', { timeout: 20_000 }, async () => {
    const leaseMs = 1000;
    const holder = await replica(60_000, undefined, leaseMs);
    const waiter = await replica(60_000, undefined, leaseMs);
    let letHolderFinish!: () => void;
    const holderMayFinish = new Promise<void>((resolve) => (letHolderFinish = resolve));
    const holderDone = holder.sync.run('entry', async () => {
      await holderMayFinish;
      const token = valid('from-the-holder');
      await holder.cache.set('entry', token);
      return token;
    });
    await vi.waitFor(async () => expect(await admin.get(lockKey())).not.toBeNull(), { timeout: 10_000 });
    let waiterFetches = 0;
    const waited = waiter.sync.run('entry', async () => (waiterFetches++, valid('fetched-by-the-waiter')));
    // Three leases pass while the holder is still fetching: its renewals keep the lock alive.
    const lockedSince = Date.now();
    const ttls: number[] = [];
    while (Date.now() - lockedSince < 3 * leaseMs) {
      await new Promise((resolve) => setTimeout(resolve, leaseMs / 4));
      ttls.push(await admin.pttl(lockKey()));
    }
    expect(ttls.every((ttl) => ttl > 0)).toBe(true);
    letHolderFinish();
    expect((await holderDone).accessToken).toBe('from-the-holder');
    expect((await waited).accessToken).toBe('from-the-holder');
    expect(waiterFetches).toBe(0);
    // Released on completion, and not renewed after it.
    expect(await admin.get(lockKey())).toBeNull();
  });

  it('a_waiter_that_still_has_a_valid_token_serves_it_instead_of_waiting', async () => {
    const { sync } = await replica(10_000);
    await admin.set(lockKey(), 'a-busy-holder', 'PX', 10_000);
    let fetches = 0;
    const current = valid('still-valid');
    expect(await sync.run('entry', async () => (fetches++, valid('new')), current)).toBe(current);
    expect(fetches).toBe(0);
  });
  it('a_failed_token_request_is_shared_by_the_fleet_for_the_backoff_window', async () => {
    const options = {
      tokenEndpoint: endpoint.url,
      clientId: 'svc',
      clientSecret: 'secret',
      cacheUrl: REDIS_URL,
      cacheKeyPrefix: prefix,
      maxAttempts: 3,
      failureBackoffMs: 5000,
    };
    const fleet = [new M2MTokenService(options), new M2MTokenService(options), new M2MTokenService(options)];
    closers.push(() => Promise.all(fleet.map((s) => s.onModuleDestroy())));
    endpoint.failNext(100, 503);
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => {
          const { code, status } = e as { code?: string; status?: number };
          return `${code} ${status}`;
        },
      );
    // At once: one replica asks (3 attempts), the others wait for it and get its failure.
    const first = await Promise.all(fleet.map((s) => outcome(s.getToken({ audience: API }))));
    expect(first).toEqual(Array(3).fill('ERR_M2M_TOKEN_ENDPOINT 503'));
    expect(endpoint.requests).toBe(3);
    // Afterwards, within the window, no replica asks again (before: 3 more requests per call).
    for (const s of fleet) expect(await outcome(s.getToken({ audience: API }))).toBe('ERR_M2M_TOKEN_ENDPOINT 503');
    const fresh = new M2MTokenService(options);
    closers.push(() => fresh.onModuleDestroy());
    expect(await outcome(fresh.getToken({ audience: API }))).toBe('ERR_M2M_TOKEN_ENDPOINT 503');
    expect(endpoint.requests).toBe(3);
    // The shared failure lives no longer than the window.
    const [failureKey] = await admin.keys(`${prefix}failed:*`);
    expect(await admin.pttl(failureKey!)).toBeGreaterThan(0);
    expect(await admin.pttl(failureKey!)).toBeLessThanOrEqual(5000);
    // Once it has lapsed (deleted here, rather than waiting), a replica asks the issuer again.
    await admin.del(failureKey!);
    endpoint.reset();
    const later = new M2MTokenService(options);
    closers.push(() => later.onModuleDestroy());
    expect(await outcome(later.getToken({ audience: API }))).toBe('ok');
    expect(endpoint.requests).toBe(4);
  });
});
