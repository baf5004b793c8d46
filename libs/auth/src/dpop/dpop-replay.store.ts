import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { createRedisClient, FAILED, RedisConnection } from '../m2m/redis-connection.js';

/**
 * Remembers accepted DPoP proofs for the replay check (RFC 9449 §11.1). `claim` answers true the
 * first time a proof id is seen within `ttlMs`, false on a replay, and rejects when the store cannot
 * answer (the caller then fails closed or open, by mode).
 */
export interface DpopReplayStore {
  claim(id: string, ttlMs: number): Promise<boolean>;
  close?(): Promise<void>;
}

/** The store key of a proof: its `jti` is unique per key (§4.2), so the pair identifies it; hashed to a fixed length. */
export function replayId(jkt: string, jti: string): string {
  return createHash('sha256').update(jkt).update('.').update(jti).digest('base64url');
}

/**
 * One process's memory. Bounded (LRU): evicting a live id would let that proof be replayed, but only
 * proofs that passed every other check (a valid token bound to the proof's key) are stored, so
 * flooding it needs a valid DPoP-bound token.
 */
export class MemoryDpopReplayStore implements DpopReplayStore {
  private readonly seen: LRUCache<string, true>;

  constructor(options: { maxEntries?: number; clock?: Clock } = {}) {
    this.seen = new LRUCache<string, true>({
      max: options.maxEntries ?? 100_000,
      ttlAutopurge: false,
      ...(options.clock ? { perf: { now: () => options.clock!.now() } } : {}),
    });
  }

  async claim(id: string, ttlMs: number): Promise<boolean> {
    if (this.seen.has(id)) return false;
    this.seen.set(id, true, { ttl: ttlMs });
    return true;
  }
}

/**
 * Shared by every replica: `SET key 1 NX PX ttl` answers OK only to the first of them. The
 * connection is opened on first use; a command that fails or times out (500 ms) rejects.
 */
export class RedisDpopReplayStore implements DpopReplayStore {
  private connection?: Promise<RedisConnection>;

  constructor(
    private readonly url: string,
    private readonly keyPrefix = 'nest-m2m:dpop-jti:',
  ) {}

  async claim(id: string, ttlMs: number): Promise<boolean> {
    this.connection ??= createRedisClient(this.url).then((client) => new RedisConnection(client));
    const connection = await this.connection;
    const answer = await connection.command((redis) => redis.set(`${this.keyPrefix}${id}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'));
    if (answer === FAILED) throw new Error('Redis did not answer');
    return answer === 'OK';
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await (await connection).close();
  }
}
