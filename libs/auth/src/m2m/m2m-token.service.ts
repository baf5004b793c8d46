import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import { M2M_MODULE_OPTIONS, M2M_TOKEN_CACHE } from './m2m.constants.js';
import { assertM2MOptions, type M2MModuleOptions } from './m2m.options.js';
import { lowQuotaWarnings, readQuota, type M2MQuota } from './quota.js';
import { withRetries } from './retry.js';
import { cacheKey, type CachedToken, type TokenCache } from './token-cache.js';
import { createTokenCache } from './token-cache.provider.js';
import { TokenEndpointClient } from './token-endpoint.client.js';
import { isFresh, isUnexpired, toCachedToken } from './token-lifetime.js';
import { TokenRefresher } from './token-refresher.js';

export interface M2MTokenRequest {
  /** Audience (Auth0) or resource indicator (RFC 8707) of the API to call. */
  audience: string;
  scopes?: string[];
}

export interface M2MToken {
  accessToken: string;
  expiresAt: Date;
  scope?: string;
  tokenType: string;
}

export interface M2MStats {
  /** HTTP requests sent to the token endpoint, retries included. */
  tokenRequests: number;
  cacheHits: number;
  cacheMisses: number;
  /** Renewals that failed after their retries. */
  failures: number;
}

/** Events for metrics and tracing; payloads never contain a token or a secret. */
export interface M2MEvents {
  token_request: [{ audience: string; attempt: number }];
  token_issued: [{ audience: string; scopes: string[]; expiresAt: Date }];
  failure: [{ audience: string; scopes: string[]; error: Error; servedStale: boolean }];
  quota: [M2MQuota];
}

/** Poll period of a replica waiting for another replica's token. */
const SHARED_POLL_MS = 25;
/** After a failed renewal, a still-valid token is served without waiting for this long before the next try. */
const STALE_RETRY_MS = 2000;

/**
 * Client-credentials tokens for outgoing calls: cached per (token endpoint, client, audience,
 * scopes), renewed ahead of expiry, one request per entry at a time (per fleet with Redis), retried
 * on transient failures, and a still-valid token keeps serving while the issuer fails.
 */
@Injectable()
export class M2MTokenService implements OnModuleDestroy {
  readonly events = new EventEmitter<M2MEvents>();
  private readonly logger = new Logger('M2MTokenService');
  private readonly client: TokenEndpointClient;
  private readonly clock: Clock;
  /** Settles once the cache is there: at once when injected, after ioredis has loaded when built by hand with `cacheUrl`. */
  private readonly ready: Promise<void>;
  private cache!: TokenCache;
  private refresher?: TokenRefresher;
  private readonly refreshBufferMs: number;
  private readonly maxAttempts: number;
  private readonly lockTtlMs: number;
  private readonly keys = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  private readonly staleUntil = new Map<string, number>();
  private readonly counters: M2MStats = { tokenRequests: 0, cacheHits: 0, cacheMisses: 0, failures: 0 };
  private latestQuota?: M2MQuota;

  /** `cache`: `M2MModule` provides it (`M2M_TOKEN_CACHE`); built by hand, the service makes the one the options ask for. */
  constructor(
    @Inject(M2M_MODULE_OPTIONS) private readonly options: M2MModuleOptions,
    @Optional() @Inject(M2M_TOKEN_CACHE) cache?: TokenCache,
  ) {
    assertM2MOptions(options);
    this.clock = options.clock ?? systemClock;
    this.client = new TokenEndpointClient(options, (headers) => this.observeQuota(headers));
    this.refreshBufferMs = (options.refreshBufferSeconds ?? 60) * 1000;
    this.maxAttempts = options.maxAttempts ?? 3;
    // Long enough for the holder's whole retry sequence; a crashed holder's lock then lapses.
    this.lockTtlMs = (options.requestTimeoutMs ?? 5000) * this.maxAttempts + 2000;
    this.ready = cache ? Promise.resolve(this.use(cache)) : createTokenCache(options).then((c) => this.use(c));
    // Surfaced by the first call instead (an unhandled rejection would end the process).
    this.ready.catch(() => {});
  }

  async getToken(request: M2MTokenRequest): Promise<M2MToken> {
    const scopes = normalizeScopes(request.scopes);
    const key = await this.keyFor(request.audience, scopes);
    const now = this.clock.now();
    const found = await this.cache.get(key);
    const cached = found && isUnexpired(found, now) ? found : undefined;
    if (cached && isFresh(cached, now)) return this.hit(cached);
    if (cached && now < (this.staleUntil.get(key) ?? 0)) return this.hit(cached);
    this.counters.cacheMisses++;
    try {
      return toM2MToken(await this.renew(key, request.audience, scopes, cached));
    } catch (error) {
      // Stale-while-failing: the token is past its refresh point but not its real expiry.
      if (cached && isUnexpired(cached, this.clock.now())) {
        this.staleUntil.set(key, this.clock.now() + STALE_RETRY_MS);
        return toM2MToken(cached);
      }
      throw error;
    }
  }

  /** `Bearer <token>`, for an `Authorization` header (RFC 6750 §2.1). */
  async getAuthorizationHeader(request: M2MTokenRequest): Promise<string> {
    return `Bearer ${(await this.getToken(request)).accessToken}`;
  }

  /**
   * Forgets the cached token, e.g. after the API answered 401 `invalid_token`. With `accessToken`,
   * only that token is forgotten: a newer one fetched meanwhile (here or by another replica) stays.
   */
  async invalidate(request: M2MTokenRequest & { accessToken?: string }): Promise<void> {
    const key = await this.keyFor(request.audience, normalizeScopes(request.scopes));
    this.staleUntil.delete(key);
    await this.cache.delete(key, request.accessToken);
  }

  /** The quota figures of the latest token endpoint answer that carried them. */
  quota(): M2MQuota | undefined {
    return this.latestQuota;
  }

  stats(): M2MStats {
    return { ...this.counters };
  }

  async onModuleDestroy(): Promise<void> {
    if (!(await this.ready.then(() => true, () => false))) return;
    this.refresher?.close();
    await this.cache.close();
  }

  private use(cache: TokenCache): void {
    this.cache = cache;
    if (this.options.backgroundRefresh) {
      this.refresher = new TokenRefresher(cache, this.clock, (target, current) => this.renew(target.key, target.audience, target.scopes, current));
    }
  }

  private hit(token: CachedToken): M2MToken {
    this.counters.cacheHits++;
    return toM2MToken(token);
  }

  private async keyFor(audience: string, scopes: string[]): Promise<string> {
    await this.ready;
    const id = `${audience}\n${scopes.join(' ')}`;
    let key = this.keys.get(id);
    if (!key) {
      const tokenEndpoint = await this.client.tokenEndpoint();
      key = cacheKey({ tokenEndpoint, clientId: this.options.clientId, audience, scopes });
      this.keys.set(id, key);
    }
    return key;
  }

  /** In-process single flight: concurrent callers share one renewal; its failure is not kept. */
  private renew(key: string, audience: string, scopes: string[], current?: CachedToken): Promise<CachedToken> {
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.renewShared(key, audience, scopes, current).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Fleet single flight: the lock holder fetches; the others serve what they have or wait for its result, for a bounded time. */
  private async renewShared(key: string, audience: string, scopes: string[], current?: CachedToken): Promise<CachedToken> {
    const deadline = Date.now() + this.lockTtlMs;
    for (;;) {
      const lock = await this.cache.tryLock(key, this.lockTtlMs);
      if (lock) {
        try {
          // Another replica may have stored a fresh token between our read and our lock.
          const fresh = await this.cache.get(key);
          if (fresh && isFresh(fresh, this.clock.now())) return fresh;
          return await this.fetchAndStore(key, audience, scopes);
        } finally {
          await lock.release();
        }
      }
      if (current && isUnexpired(current, this.clock.now())) return current;
      const shared = await this.cache.get(key);
      if (shared) return shared;
      if (Date.now() >= deadline) return this.fetchAndStore(key, audience, scopes);
      await sleep(SHARED_POLL_MS);
    }
  }

  private async fetchAndStore(key: string, audience: string, scopes: string[]): Promise<CachedToken> {
    try {
      const response = await withRetries(
        (attempt) => {
          this.counters.tokenRequests++;
          this.events.emit('token_request', { audience, attempt });
          return this.client.requestToken({ audience, scopes });
        },
        { maxAttempts: this.maxAttempts },
      );
      const token = toCachedToken(response, this.refreshBufferMs, this.clock.now());
      await this.cache.set(key, token);
      this.staleUntil.delete(key);
      this.refresher?.schedule({ key, audience, scopes }, token.refreshAt);
      this.events.emit('token_issued', { audience, scopes, expiresAt: new Date(token.expiresAt) });
      return token;
    } catch (error) {
      this.counters.failures++;
      const err = error as Error;
      const cached = await this.cache.get(key);
      const servedStale = Boolean(cached && isUnexpired(cached, this.clock.now()));
      this.logger.warn(
        `Token request for audience ${audience} failed: ${err.message}${servedStale ? ' (still serving the cached token until it expires)' : ''}`,
      );
      this.events.emit('failure', { audience, scopes, error: err, servedStale });
      if (servedStale) this.refresher?.schedule({ key, audience, scopes }, this.clock.now() + STALE_RETRY_MS);
      throw error;
    }
  }

  private observeQuota(headers: Headers): void {
    const quota = readQuota(headers, this.options.clientId, this.clock.now());
    if (!quota) return;
    this.latestQuota = quota;
    this.events.emit('quota', quota);
    for (const warning of lowQuotaWarnings(quota)) {
      this.logger.warn(`Token endpoint quota of client ${quota.clientId} is low: ${warning}`);
    }
  }
}

function normalizeScopes(scopes: string[] | undefined): string[] {
  return [...new Set(scopes ?? [])].filter(Boolean).sort();
}

function toM2MToken(token: CachedToken): M2MToken {
  return {
    accessToken: token.accessToken,
    expiresAt: new Date(token.expiresAt),
    tokenType: token.tokenType,
    ...(token.scope !== undefined ? { scope: token.scope } : {}),
  };
}
