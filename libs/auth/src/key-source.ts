import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { JwksClient } from 'jwks-rsa';
import { InvalidTokenError, KeysUnavailableError } from './bearer.errors.js';
import type { Clock } from './clock.js';
import { fetchJson } from './http-fetch.js';
import { importJwkSet, type SigningKey } from './jwk-set.js';
import { markFailed, type Span, SpanKind, urlAttributes, withSpan } from './tracing.js';

/** DESIGN.md: refetches for kids the JWKS does not hold run at most once per second, whatever the traffic. */
const UNKNOWN_KID_REFETCH_INTERVAL_MS = 1000;

export interface KeySourceOptions {
  resolveJwksUri: () => Promise<string>;
  algorithms: readonly string[];
  timeoutMs: number;
  /** Gap after a failed fetch (or with no usable keys) before the next one, and the Retry-After of 503s; also the gap between background refreshes. */
  cooldownMs: number;
  /** After this age the JWKS is refreshed in the background while known keys keep serving. */
  maxAgeMs: number;
  /** Known keys keep serving this long after the last successful fetch while fetches fail. */
  staleIfErrorMs: number;
  /** How far the issuer's clock (a token's `iat`) may be from ours. */
  clockToleranceMs: number;
  clock: Clock;
}

export type JwksFetchOutcome = 'success' | 'failure';

/**
 * The issuer's signing keys, after jose's `jwks/remote.ts`: one pending fetch shared by all
 * callers, an unknown kid refetched only when the last fetch predates the token's `iat` (at most one
 * fetch per second), a cooldown between retries after a failed fetch, and one freshness helper
 * (`isFreshFor`) behind every time decision.
 *
 * jwks-rsa fetches the JWKS (its `JwksClient`, with our fetcher for a hard deadline, no redirects
 * and a size limit): DESIGN.md specifies the product with jwks-rsa. Importing the keys is ours
 * (`jwk-set.ts`: `createPublicKey` straight from the JWK), because jwks-rsa's `getSigningKeys`
 * converts each key to PEM and drops members that have no `alg`, which many issuers omit.
 */
export class KeySource {
  private readonly logger = new Logger('KeySource');
  private keys: readonly SigningKey[] = [];
  private byKid = new Map<string, SigningKey>();
  /** Start of the last successful fetch: the JWKS is at least that recent. */
  private fetchedAt = -Infinity;
  /** Start of the last fetch, successful or not. */
  private attemptedAt = -Infinity;
  /** Start of the last refetch caused by an unknown kid (already scheduled when in the future). */
  private unknownKidFetchAt = -Infinity;
  private lastAttemptFailed = false;
  private pending?: Promise<boolean>;
  private client?: JwksClient;
  private jwksUri?: string;
  private readonly removedListeners: Array<(kids: Array<string | undefined>) => void> = [];
  private readonly fetchListeners: Array<(outcome: JwksFetchOutcome) => void> = [];

  constructor(private readonly options: KeySourceOptions) {}

  /**
   * True while keys from a successful fetch are within the stale-if-error window. No side effects:
   * readiness probes may ask at any rate.
   */
  get ready(): boolean {
    // `fetchedAt` is set only by a fetch that found usable keys (and keys are only ever replaced by such a set).
    return this.isFreshFor(this.fetchedAt, this.options.staleIfErrorMs);
  }

  /** Called with the kids of keys that left the JWKS (or changed under their kid), so caches built on them can drop their entries. */
  onKeysRemoved(listener: (kids: Array<string | undefined>) => void): void {
    this.removedListeners.push(listener);
  }

  onFetch(listener: (outcome: JwksFetchOutcome) => void): void {
    this.fetchListeners.push(listener);
  }

  /**
   * For answers derived from the keys without a key lookup (the verified-token cache): when every
   * request is a cache hit, `getKey` never runs, so this keeps the max-age refresh (which notices
   * removed keys) running. False when no usable key is left: the caller must not answer from
   * what the keys once verified.
   */
  revalidate(): boolean {
    if (!this.ready) return false;
    this.refreshIfOld();
    return true;
  }

  /** Fetches now (start-up pre-warm); failures are logged, not thrown: requests will retry. */
  warm(): Promise<boolean> {
    return this.reload();
  }

  /**
   * The key for a token's `kid` (`iat`: the token's, when it has a numeric one). Throws
   * `InvalidTokenError('ERR_AUTH_KEY_UNKNOWN')` when a JWKS fetched after the token was issued does
   * not hold the kid, and `KeysUnavailableError` (503) when no usable key can be had right now.
   */
  async getKey(kid: string | undefined, alg: string, iat?: number): Promise<SigningKey> {
    const known = this.find(kid);
    if (known) {
      this.refreshIfOld();
      return this.checkAlg(known, alg);
    }
    await this.refetchFor(iat);
    const found = this.find(kid);
    if (found) return this.checkAlg(found, alg);
    // A 503 while the keys cannot be had: a 401 would make callers throw away good tokens.
    if (this.ready && (this.fetchedAfter(iat) || !this.lastAttemptFailed)) {
      throw new InvalidTokenError(
        'ERR_AUTH_KEY_UNKNOWN',
        kid === undefined ? 'Token has no kid and the key set holds several keys' : 'Unknown signing key',
      );
    }
    throw new KeysUnavailableError(this.retryAfterSeconds());
  }

  /** The fetch that a kid missing from the keys calls for, if any. */
  private refetchFor(iat: number | undefined): Promise<boolean> | undefined {
    // DESIGN.md: that JWKS was fetched after the token was issued, so the kid is not a rotation we
    // missed. Replayed tokens with random kids cost no fetch at all.
    if (this.ready && this.fetchedAfter(iat)) return undefined;
    // A fetch in flight is shared. It may have started a moment before this token's key was
    // published; issuers publish keys before signing with them, so that window is accepted.
    if (this.pending) return this.pending;
    if (!this.ready || this.lastAttemptFailed) {
      // Keys unobtainable: one attempt per cooldown, 503 with Retry-After in between.
      return this.isFreshFor(this.attemptedAt, this.options.cooldownMs) ? undefined : this.reload();
    }
    // Possibly a key published after our last fetch: one shared refetch, at most once per second
    // however many unknown kids arrive (random kids with a fresh `iat` cost one fetch a second). A
    // request inside that second waits for the next slot rather than get a 401 for a key that
    // exists (a key published just before its first token).
    const now = this.now();
    const delayMs = this.isFreshFor(this.unknownKidFetchAt, UNKNOWN_KID_REFETCH_INTERVAL_MS)
      ? this.unknownKidFetchAt + UNKNOWN_KID_REFETCH_INTERVAL_MS - now
      : 0;
    this.unknownKidFetchAt = now + delayMs;
    return this.reload(delayMs);
  }

  /**
   * The JWKS was fetched after the token was issued. `iat` counts whole seconds, and the issuer's
   * clock may be off by the clock tolerance, so only a fetch past both is known to be later.
   */
  private fetchedAfter(iat: number | undefined): boolean {
    return iat !== undefined && this.fetchedAt >= (iat + 1) * 1000 + this.options.clockToleranceMs;
  }

  /** Stale-while-revalidate: past maxAge, one background refresh (per cooldown) while known keys serve. */
  private refreshIfOld(): void {
    // A refresh in flight is not started twice: reload() shares the pending fetch.
    if (this.isFreshFor(this.fetchedAt, this.options.maxAgeMs) || this.isFreshFor(this.attemptedAt, this.options.cooldownMs)) return;
    void this.reload();
  }

  /** The one freshness test (jose's `isFreshFor`): less than `durationMs` has passed since `timestamp`. */
  private isFreshFor(timestamp: number, durationMs: number): boolean {
    return this.now() < timestamp + durationMs;
  }

  private now(): number {
    return this.options.clock.now();
  }

  private checkAlg(key: SigningKey, alg: string): SigningKey {
    // RFC 8725 §3.1: the algorithm comes from the key, not from the token's say-so.
    if (!key.algorithms.includes(alg)) throw new InvalidTokenError('ERR_AUTH_ALGORITHM_UNEXPECTED', 'Unexpected signing algorithm');
    return key;
  }

  /** A usable key for the kid; a token without one may use the key set's only key. */
  private find(kid: string | undefined): SigningKey | undefined {
    if (!this.ready) return undefined;
    if (kid === undefined) return this.keys.length === 1 ? this.keys[0] : undefined;
    return this.byKid.get(kid);
  }

  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.attemptedAt + this.options.cooldownMs - this.now()) / 1000));
  }

  /** The pending fetch, or a new one (after `delayMs`), shared by every caller until it settles. */
  private reload(delayMs = 0): Promise<boolean> {
    this.pending ??= (delayMs > 0 ? sleep(delayMs).then(() => this.fetchKeys()) : this.fetchKeys()).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private fetchKeys(): Promise<boolean> {
    return withSpan('auth.jwks.fetch', SpanKind.CLIENT, { 'http.request.method': 'GET' }, (span) => this.fetchKeysIn(span));
  }

  private async fetchKeysIn(span: Span): Promise<boolean> {
    const startedAt = this.now();
    this.attemptedAt = startedAt;
    try {
      const client = await this.jwksClient(span);
      const { keys, skipped } = importJwkSet(await client.getKeys(), this.options.algorithms);
      span.setAttribute('nest_m2m.jwks.keys', keys.length);
      for (const reason of skipped) this.logger.debug(`JWKS member left out: ${reason}`);
      if (keys.length === 0) {
        throw new Error(
          `the JWKS holds no usable key for ${this.options.algorithms.join(', ')}${skipped.length ? ` (${skipped.join('; ')})` : ''}`,
        );
      }
      this.replaceKeys(keys);
      this.fetchedAt = startedAt;
      this.lastAttemptFailed = false;
      this.emitFetch('success');
      return true;
    } catch (err) {
      markFailed(span, err);
      this.lastAttemptFailed = true;
      this.emitFetch('failure');
      if (this.ready) this.logger.warn(`JWKS fetch failed: ${(err as Error).message}`);
      else
        this.logger.error(
          `JWKS fetch failed, no usable signing key (last success: ${Number.isFinite(this.fetchedAt) ? `${Math.round((this.now() - this.fetchedAt) / 1000)} s ago` : 'never'}): ${(err as Error).message}`,
        );
      return false;
    }
  }

  private async jwksClient(span: Span): Promise<JwksClient> {
    if (this.client) {
      span.setAttributes(urlAttributes(this.jwksUri!));
      return this.client;
    }
    const jwksUri = await this.options.resolveJwksUri();
    this.jwksUri = jwksUri;
    span.setAttributes(urlAttributes(jwksUri));
    // Only getKeys() is called: jwks-rsa's cache and rate limit wrap getSigningKey(), which is not
    // used (this class caches the imported keys itself and rate-limits with its cooldowns).
    this.client = new JwksClient({
      jwksUri,
      timeout: this.options.timeoutMs,
      // A hard deadline for the whole exchange (jwks-rsa's own timeout is an idle-socket timeout).
      fetcher: (uri: string) => fetchJson(uri, this.options.timeoutMs) as Promise<{ keys: never[] }>,
    });
    return this.client;
  }

  private replaceKeys(next: SigningKey[]): void {
    // Gone: no key in the new set has the same kid and the same material (a kid reused for a new
    // key drops what the old key verified, too).
    const removed = this.keys.filter((old) => !next.some((k) => k.kid === old.kid && k.key.equals(old.key))).map((k) => k.kid);
    this.keys = next;
    this.byKid = new Map();
    // Kid-less keys are not indexed: a token without kid is served the only key (find()).
    for (const k of next) if (k.kid !== undefined) this.byKid.set(k.kid, k);
    if (removed.length) for (const l of this.removedListeners) l(removed);
  }

  private emitFetch(outcome: JwksFetchOutcome): void {
    for (const l of this.fetchListeners) l(outcome);
  }
}
