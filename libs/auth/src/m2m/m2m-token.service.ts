import { EventEmitter } from 'node:events';
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { systemClock, type Clock } from '../clock.js';
import type { M2MEvents, M2MStats, M2MToken, M2MTokenRequest } from './m2m-token.types.js';
import { M2M_MODULE_OPTIONS, M2M_TOKEN_CACHE } from './m2m.constants.js';
import { assertM2MOptions, type M2MModuleOptions } from './m2m.options.js';
import { backoffUntil, DEFAULT_FAILURE_BACKOFF_MS } from './failure-backoff.js';
import { lowQuotaWarnings, readQuota, type M2MQuota } from './quota.js';
import { withRetries } from './retry.js';
import { cacheKey, type CachedToken, type TokenCache } from './token-cache.js';
import { createTokenCache, createTokenSynchronizer } from './token-cache.provider.js';
import { TokenEndpointClient } from './token-endpoint.client.js';
import { isFresh, isUnexpired, toCachedToken } from './token-lifetime.js';
import { TokenRefresher, type TokenTarget } from './token-refresher.js';
import type { TokenSynchronizer } from './token-synchronizer.js';
import { DpopClientKey, type ProofInput } from './dpop-client.js';

/** After a failed renewal, a still-valid token is served without waiting for this long before the next try. */
const STALE_RETRY_MS = 2000;

/**
 * Client-credentials tokens for outgoing calls: cached per (token endpoint, client, audience,
 * scopes) in the `TokenCache`, renewed ahead of expiry, one request per entry at a time (the
 * `TokenSynchronizer`: per process, or per fleet with Redis), retried on transient failures, and a
 * still-valid token keeps serving while the issuer fails. Failures are thrown as values carrying the
 * issuer's `error`/`error_description`; a transient one (issuer down, 5xx, 429) answers that entry's
 * callers for a short back-off (`failureBackoffMs`, or `Retry-After`), an OAuth refusal is never kept.
 */
@Injectable()
export class M2MTokenService implements OnModuleDestroy {
  readonly events = new EventEmitter<M2MEvents>();
  private readonly logger = new Logger('M2MTokenService');
  private readonly client: TokenEndpointClient;
  private readonly clock: Clock;
  /** Settles once the cache is there: at once when injected; built by hand with `cacheUrl`, once ioredis has loaded. */
  private readonly ready: Promise<void>;
  private cache!: TokenCache;
  private sync!: TokenSynchronizer;
  private refresher?: TokenRefresher;
  private readonly keys = new Map<string, string>();
  private readonly staleUntil = new Map<string, number>();
  /** The last failed renewal per entry, answered to every caller until its back-off ends. */
  private readonly failures = new Map<string, { error: unknown; until: number }>();
  private readonly counters: M2MStats = { tokenRequests: 0, cacheHits: 0, cacheMisses: 0, failures: 0 };
  private latestQuota?: M2MQuota;
  private readonly dpopKey?: Promise<DpopClientKey>;

  /** `cache`: what `M2MModule` provides as `M2M_TOKEN_CACHE`; built by hand, the service makes the one the options ask for. */
  constructor(
    @Inject(M2M_MODULE_OPTIONS) private readonly options: M2MModuleOptions,
    @Optional() @Inject(M2M_TOKEN_CACHE) cache?: TokenCache,
  ) {
    assertM2MOptions(options);
    this.clock = options.clock ?? systemClock;
    this.client = new TokenEndpointClient(options, (headers) => this.observeQuota(headers));
    if (options.dpop) {
      this.dpopKey = DpopClientKey.create(options.dpop, this.clock);
      this.dpopKey.catch(() => undefined);
    }
    if (cache) {
      this.use(cache);
      this.ready = Promise.resolve();
    } else {
      this.ready = createTokenCache(options).then((c) => this.use(c));
    }
    // Surfaced by the first call instead (an unhandled rejection would end the process).
    this.ready.catch(() => {});
  }

  async getToken(request: M2MTokenRequest): Promise<M2MToken> {
    const target = await this.target(request);
    const now = this.clock.now();
    const found = await this.cache.get(target.key);
    const cached = found && isUnexpired(found, now) ? found : undefined;
    if (cached && (isFresh(cached, now) || now < (this.staleUntil.get(target.key) ?? 0))) return this.hit(cached);
    // While the issuer is down every caller would otherwise cost a full retry sequence: one failure
    // answers them all for the back-off (or the issuer's Retry-After), and not a moment longer.
    const failed = this.failures.get(target.key);
    if (failed && now < failed.until) {
      if (cached) return this.hit(cached);
      throw failed.error;
    }
    this.counters.cacheMisses++;
    try {
      return toM2MToken(await this.renew(target, cached));
    } catch (error) {
      const until = backoffUntil(error, this.clock.now(), this.options.failureBackoffMs ?? DEFAULT_FAILURE_BACKOFF_MS);
      if (until > this.clock.now()) this.failures.set(target.key, { error, until });
      // Stale-while-failing: the token is past its refresh point but not its real expiry.
      if (cached && isUnexpired(cached, this.clock.now())) {
        this.staleUntil.set(target.key, this.clock.now() + STALE_RETRY_MS);
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
    const { key } = await this.target(request);
    this.staleUntil.delete(key);
    await this.cache.delete(key, request.accessToken);
  }

  /**
   * A DPoP proof (RFC 9449 §4.2) by this client's key for one request — with `accessToken`, its
   * `ath` — including the last `DPoP-Nonce` the target's origin handed out.
   */
  async dpopProof(input: ProofInput): Promise<string> {
    return (await this.requireDpopKey()).proof(input);
  }

  /** Keeps a `DPoP-Nonce` answer header for the next proofs to that URL's origin; true when it is new. */
  async rememberDpopNonce(url: string, nonce: string | null | undefined): Promise<boolean> {
    return (await this.requireDpopKey()).rememberNonce(url, nonce);
  }

  private requireDpopKey(): Promise<DpopClientKey> {
    if (!this.dpopKey) throw new TypeError("DPoP needs the M2MModule's 'dpop' option (the client's DPoP key)");
    return this.dpopKey;
  }

  /** The quota figures of the latest token endpoint answer that carried them. */
  quota(): M2MQuota | undefined {
    return this.latestQuota;
  }

  stats(): M2MStats {
    return { ...this.counters };
  }

  async onModuleDestroy(): Promise<void> {
    if (
      !(await this.ready.then(
        () => true,
        () => false,
      ))
    )
      return;
    this.refresher?.close();
    await this.sync.close();
    await this.cache.close();
  }

  private use(cache: TokenCache): void {
    this.cache = cache;
    this.sync = createTokenSynchronizer(cache, this.options);
    if (this.options.backgroundRefresh) this.refresher = new TokenRefresher(cache, this.clock, (t, current) => this.renew(t, current));
  }

  private hit(token: CachedToken): M2MToken {
    this.counters.cacheHits++;
    return toM2MToken(token);
  }

  private async target(request: M2MTokenRequest): Promise<TokenTarget> {
    await this.ready;
    const { audience } = request;
    const dpop = request.dpop === true;
    const scopes = [...new Set(request.scopes ?? [])].filter(Boolean).sort();
    const id = `${audience}\n${scopes.join(' ')}${dpop ? '\ndpop' : ''}`;
    let key = this.keys.get(id);
    if (!key) {
      const dpopJkt = dpop ? (await this.requireDpopKey()).jkt : undefined;
      key = cacheKey({ tokenEndpoint: await this.client.tokenEndpoint(), clientId: this.options.clientId, audience, scopes, dpopJkt });
      this.keys.set(id, key);
    }
    return { key, audience, scopes, dpop };
  }

  private renew(target: TokenTarget, current: CachedToken | undefined): Promise<CachedToken> {
    return this.sync.run(target.key, () => this.fetchAndStore(target), current);
  }

  private async fetchAndStore(target: TokenTarget): Promise<CachedToken> {
    const { key, audience, scopes } = target;
    const dpop = target.dpop ? await this.requireDpopKey() : undefined;
    try {
      const response = await withRetries(
        (attempt) => {
          this.counters.tokenRequests++;
          this.events.emit('token_request', { audience, attempt });
          return this.client.requestToken({ audience, scopes, dpop });
        },
        { maxAttempts: this.options.maxAttempts ?? 3 },
      );
      const token = toCachedToken(response, (this.options.refreshBufferSeconds ?? 60) * 1000, this.clock.now());
      await this.cache.set(key, token);
      this.staleUntil.delete(key);
      this.failures.delete(key);
      this.refresher?.schedule(target, token.refreshAt);
      this.events.emit('token_issued', { audience, scopes, expiresAt: new Date(token.expiresAt) });
      return token;
    } catch (error) {
      this.counters.failures++;
      const err = error as Error;
      const cached = await this.cache.get(key);
      const servedStale = Boolean(cached && isUnexpired(cached, this.clock.now()));
      const stale = servedStale ? ' (still serving the cached token until it expires)' : '';
      this.logger.warn(`Token request for audience ${audience} failed: ${err.message}${stale}`);
      this.events.emit('failure', { audience, scopes, error: err, servedStale });
      if (servedStale) this.refresher?.schedule(target, this.clock.now() + STALE_RETRY_MS);
      throw error;
    }
  }

  private observeQuota(headers: Headers): void {
    const quota = readQuota(headers, this.options.clientId, this.clock.now());
    if (!quota) return;
    this.latestQuota = quota;
    this.events.emit('quota', quota);
    for (const warning of lowQuotaWarnings(quota)) this.logger.warn(`Token endpoint quota of client ${quota.clientId} is low: ${warning}`);
  }
}

function toM2MToken(token: CachedToken): M2MToken {
  const { accessToken, tokenType, scope } = token;
  return { accessToken, expiresAt: new Date(token.expiresAt), tokenType, ...(scope !== undefined ? { scope } : {}) };
}
