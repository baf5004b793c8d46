import { FAILED, RedisConnection, type RedisClient } from './redis-connection.js';

/** Listening on one channel. */
export interface Subscription {
  /** Resolves on the next message (at once if one came since the previous call), or after `ms`. */
  next(ms: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Redis pub/sub for the waiters of `RedisTokenSynchronizer`. A subscribed ioredis connection runs
 * no other command, hence a connection of its own, opened on first need. A message that arrives
 * between two `next` calls is kept, not lost. One subscription per channel at a time (the
 * synchroniser's in-process single flight makes sure of it).
 */
export class RedisNotifications {
  private readonly wakers = new Map<string, () => void>();
  private connection?: RedisConnection;
  private closed = false;

  /** `client`: the connection to duplicate. */
  constructor(private readonly client: RedisClient) {}

  /** Resolves once Redis confirmed the subscription; undefined if it could not (Redis unreachable, closed). */
  async subscribe(channel: string): Promise<Subscription | undefined> {
    if (this.closed) return undefined;
    const connection = this.open();
    let signalled = false;
    let wake: (() => void) | undefined;
    this.wakers.set(channel, () => {
      signalled = true;
      wake?.();
    });
    if ((await connection.command((r) => r.subscribe(channel))) === FAILED) {
      this.wakers.delete(channel);
      return undefined;
    }
    return {
      next: (ms) =>
        new Promise<void>((resolve) => {
          let timer: NodeJS.Timeout | undefined;
          const done = () => {
            clearTimeout(timer);
            wake = undefined;
            signalled = false;
            resolve();
          };
          if (signalled || this.closed) {
            done();
            return;
          }
          timer = setTimeout(done, ms);
          wake = done;
        }),
      close: async () => {
        this.wakers.delete(channel);
        await connection.command((r) => r.unsubscribe(channel));
      },
    };
  }

  /** Ends every wait at once (their owners re-check and carry on), then the connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.wakers.values()) wake();
    await this.connection?.close();
  }

  private open(): RedisConnection {
    if (!this.connection) {
      const subscriber = this.client.duplicate();
      subscriber.on('message', (channel: string) => this.wakers.get(channel)?.());
      // No logger: the cache's own connection reports outages.
      this.connection = new RedisConnection(subscriber);
    }
    return this.connection;
  }
}
