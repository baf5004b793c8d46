import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from '../clock.js';
import type { CachedToken, TokenCache } from './token-cache.js';
import { isUnexpired } from './token-lifetime.js';

/** The default cache: this process only. Bounded, because keys come from callers' audiences and scopes. */
export class MemoryTokenCache implements TokenCache {
  private readonly entries: LRUCache<string, CachedToken>;
  private readonly clock: Clock;

  constructor(options: { maxEntries?: number; clock?: Clock } = {}) {
    this.entries = new LRUCache({ max: options.maxEntries ?? 1000 });
    this.clock = options.clock ?? systemClock;
  }

  /** Synchronous read, for the Redis cache's fallback. */
  peek(key: string): CachedToken | undefined {
    const token = this.entries.get(key);
    if (token && isUnexpired(token, this.clock.now())) return token;
    if (token) this.entries.delete(key);
    return undefined;
  }

  async get(key: string): Promise<CachedToken | undefined> {
    return this.peek(key);
  }

  async set(key: string, token: CachedToken): Promise<void> {
    this.entries.set(key, token);
  }

  async delete(key: string, accessToken?: string): Promise<void> {
    if (accessToken === undefined || this.entries.get(key)?.accessToken === accessToken) this.entries.delete(key);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
