import { describe, expect, it } from 'vitest';
import type { CachedToken } from './token-cache.js';
import { LocalTokenSynchronizer } from './token-synchronizer.js';

const token = (accessToken: string): CachedToken => ({
  accessToken,
  tokenType: 'Bearer',
  expiresAt: Date.now() + 60_000,
  refreshAt: Date.now() + 30_000,
});

/** A fetch that counts its calls; every pending call settles when told to. */
function controlledFetch() {
  const pending: Array<{ resolve(t: CachedToken): void; reject(e: Error): void }> = [];
  let calls = 0;
  const fetch = () => {
    calls++;
    return new Promise<CachedToken>((resolve, reject) => pending.push({ resolve, reject }));
  };
  const settleAll = (settle: (p: (typeof pending)[number]) => void) => {
    for (const p of pending.splice(0)) settle(p);
  };
  return {
    fetch,
    calls: () => calls,
    resolve: (t: CachedToken) => settleAll((p) => p.resolve(t)),
    reject: (e: Error) => settleAll((p) => p.reject(e)),
  };
}

describe('LocalTokenSynchronizer (in-process single flight)', () => {
  it('n_concurrent_callers_for_one_entry_share_one_fetch_and_its_token', async () => {
    const sync = new LocalTokenSynchronizer();
    const f = controlledFetch();
    const callers = Array.from({ length: 50 }, () => sync.run('entry', f.fetch));
    f.resolve(token('one'));
    const tokens = await Promise.all(callers);
    expect(f.calls()).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['one']));
  });

  it('a_failed_fetch_fails_every_caller_that_shared_it_and_is_not_kept', async () => {
    const sync = new LocalTokenSynchronizer();
    const f = controlledFetch();
    const callers = Array.from({ length: 5 }, () => sync.run('entry', f.fetch));
    f.reject(new Error('invalid_client'));
    for (const caller of callers) await expect(caller).rejects.toThrow('invalid_client');
    const next = sync.run('entry', f.fetch);
    f.resolve(token('after-the-failure'));
    expect((await next).accessToken).toBe('after-the-failure');
    expect(f.calls()).toBe(2);
  });

  it('a_finished_fetch_is_not_kept_either_the_next_renewal_fetches_again', async () => {
    const sync = new LocalTokenSynchronizer();
    const f = controlledFetch();
    const first = sync.run('entry', f.fetch);
    f.resolve(token('first'));
    await first;
    const second = sync.run('entry', f.fetch);
    f.resolve(token('second'));
    expect((await second).accessToken).toBe('second');
  });

  it('different_entries_do_not_wait_for_each_other', async () => {
    const sync = new LocalTokenSynchronizer();
    const [a, b] = [controlledFetch(), controlledFetch()];
    const pa = sync.run('a', a.fetch);
    const pb = sync.run('b', b.fetch);
    b.resolve(token('b'));
    expect((await pb).accessToken).toBe('b');
    a.resolve(token('a'));
    expect((await pa).accessToken).toBe('a');
  });
});
