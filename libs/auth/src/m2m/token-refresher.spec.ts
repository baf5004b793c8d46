import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { manualClock } from '../../test/token-endpoint.stub.js';
import { MemoryTokenCache } from './memory-token.cache.js';
import type { CachedToken } from './token-cache.js';
import { TokenRefresher, type TokenTarget } from './token-refresher.js';

const target: TokenTarget = { key: 'entry', audience: 'https://api.example.test', scopes: [] };

describe('TokenRefresher', () => {
  let clock: ReturnType<typeof manualClock>;
  let cache: MemoryTokenCache;
  let renewals: Array<{ target: TokenTarget; current: CachedToken | undefined }>;
  let refresher: TokenRefresher;

  const token = (name: string, refreshInMs: number): CachedToken => ({
    accessToken: name,
    tokenType: 'Bearer',
    refreshAt: clock.now() + refreshInMs,
    expiresAt: clock.now() + refreshInMs + 60_000,
  });

  beforeEach(() => {
    clock = manualClock();
    cache = new MemoryTokenCache({ clock });
    renewals = [];
    refresher = new TokenRefresher(cache, clock, async (t, current) => {
      renewals.push({ target: t, current });
      return token('renewed', 3600_000);
    });
    return () => refresher.close();
  });

  it('an_entry_is_renewed_once_the_clock_reaches_its_refresh_point_without_any_caller', async () => {
    const due = token('due', 0);
    await cache.set(target.key, due);
    refresher.schedule(target, due.refreshAt);
    await vi.waitFor(() => expect(renewals).toHaveLength(1), { timeout: 10_000 });
    expect(renewals[0]).toEqual({ target, current: due });
  });

  it('a_token_another_replica_renewed_meanwhile_is_followed_instead_of_renewed_again', async () => {
    const renewedElsewhere = token('from-another-replica', 30);
    await cache.set(target.key, renewedElsewhere);
    const reads = vi.spyOn(cache, 'get');
    refresher.schedule(target, clock.now());
    await vi.waitFor(() => expect(reads).toHaveBeenCalled(), { timeout: 10_000 });
    await sleep(10);
    expect(renewals).toHaveLength(0);
    // The refresher now follows that token's refresh point, which the clock passes here.
    clock.advance(30);
    await vi.waitFor(() => expect(renewals).toHaveLength(1), { timeout: 10_000 });
    expect(renewals[0]!.current).toEqual(renewedElsewhere);
  });

  it('scheduling_an_entry_again_replaces_its_earlier_renewal', async () => {
    refresher.schedule(target, clock.now());
    refresher.schedule(target, clock.now() + 3600_000);
    await sleep(30);
    expect(renewals).toHaveLength(0);
  });

  it('close_cancels_every_pending_renewal_and_refuses_new_ones', async () => {
    refresher.schedule(target, clock.now());
    refresher.schedule({ ...target, key: 'other' }, clock.now());
    refresher.close();
    refresher.schedule(target, clock.now());
    await sleep(30);
    expect(renewals).toHaveLength(0);
  });
  it('pending_renewals_never_keep_the_process_alive', () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    refresher.schedule(target, clock.now() + 3600_000);
    refresher.schedule({ ...target, key: 'other' }, clock.now() + 3600_000);
    expect(timers()).toBe(before);
  });

  it('a_renewal_that_fails_is_swallowed_not_left_as_an_unhandled_rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let attempts = 0;
      const failing = new TokenRefresher(cache, clock, async () => {
        attempts++;
        throw new Error('issuer down');
      });
      failing.schedule(target, clock.now());
      await vi.waitFor(() => expect(attempts).toBe(1), { timeout: 10_000 });
      await new Promise((resolve) => setImmediate(resolve));
      failing.close();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
