import type { Logger } from '@nestjs/common';
import { MissingPeerDependencyError } from './m2m.errors.js';

/**
 * The Redis commands the token cache and the synchroniser use. Typed by shape, so that no declaration
 * of this package names 'ioredis' (an optional peer): an ioredis `Redis` satisfies it.
 */
export interface RedisClient {
  readonly status: string;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', ttlMs: number): Promise<unknown>;
  set(key: string, value: string, px: 'PX', ttlMs: number, nx: 'NX'): Promise<'OK' | null>;
  del(key: string): Promise<number>;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  /** A new connection with the same options (a subscribed connection can run no other command). */
  duplicate(): RedisClient;
  // `any[]`: ioredis's own listener type, so that a Redis instance is assignable (public API).
  /* eslint-disable @typescript-eslint/no-explicit-any -- see above */
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
  /* eslint-enable @typescript-eslint/no-explicit-any */
  removeAllListeners(event?: string): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** How long a connection attempt, and the first command's wait for it, may take. */
const CONNECT_TIMEOUT_MS = 1000;
/** Per command: a dead Redis must fail fast, not hold a request. */
const COMMAND_TIMEOUT_MS = 500;

/** An ioredis client, loaded on first use: the package works without ioredis until a Redis URL is configured. */
export async function createRedisClient(url: string): Promise<RedisClient> {
  let Redis: typeof import('ioredis').Redis;
  try {
    ({ Redis } = await import('ioredis'));
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new MissingPeerDependencyError('ioredis', "'cacheUrl' is set (a token cache in Redis)");
    }
    throw error;
  }
  return new Redis(url, {
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    // Commands issued while disconnected fail at once instead of queueing behind a dead socket.
    enableOfflineQueue: false,
    retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2000),
  });
}

/** What `RedisConnection.command` answers when Redis did not. */
export const FAILED = Symbol('redis command failed');

/**
 * One Redis connection as the M2M code uses it: a failed command answers `FAILED` instead of throwing
 * (callers fall back to working without Redis), the first command waits a bounded time for the first
 * connection, and with a `logger` an outage is logged once when it starts and once when it ends.
 */
export class RedisConnection {
  private readonly firstConnection: Promise<void>;
  private degraded = false;

  constructor(
    readonly client: RedisClient,
    private readonly logger?: Logger,
  ) {
    client.on('error', (error: Error) => this.markDown(error));
    client.on('ready', () => this.markUp());
    this.firstConnection = new Promise<void>((resolve) => {
      if (client.status === 'ready') {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        client.off('ready', done);
        client.off('error', done);
        resolve();
      };
      const timer = setTimeout(done, CONNECT_TIMEOUT_MS);
      timer.unref();
      client.once('ready', done);
      client.once('error', done);
    });
  }

  async command<T>(run: (client: RedisClient) => Promise<T>): Promise<T | typeof FAILED> {
    await this.firstConnection;
    try {
      const result = await run(this.client);
      this.markUp();
      return result;
    } catch (error) {
      this.markDown(error as Error);
      return FAILED;
    }
  }

  async close(): Promise<void> {
    this.client.removeAllListeners('ready');
    this.client.on('error', () => {});
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      this.client.disconnect();
    }
  }

  private markDown(error: Error): void {
    if (this.degraded) return;
    this.degraded = true;
    this.logger?.warn(`Redis token cache unavailable (${error.message}); using the in-process cache until it is back`);
  }

  private markUp(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.logger?.log('Redis token cache is reachable again');
  }
}
