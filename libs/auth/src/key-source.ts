import { Logger } from '@nestjs/common';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { JwksClient } from 'jwks-rsa';
import { InvalidTokenError, KeysUnavailableError } from './bearer.errors.js';
import type { Clock } from './clock.js';
import { fetchJson } from './http-fetch.js';

export interface KeySourceOptions {
  resolveJwksUri: () => Promise<string>;
  algorithms: string[];
  timeoutMs: number;
  /** Minimum gap between fetches triggered by unknown kids or failures. */
  cooldownMs: number;
  /** After this age the JWKS is refreshed in the background while known keys keep serving. */
  maxAgeMs: number;
  /** Known keys keep serving this long after the last successful fetch while fetches fail. */
  staleIfErrorMs: number;
  clock: Clock;
}

export interface SigningKey {
  kid: string | undefined;
  alg: string;
  /** Parsed once per JWKS fetch: verifying with a KeyObject skips PEM parsing on every request. */
  key: KeyObject;
}

export type JwksFetchOutcome = 'success' | 'failure';

/**
 * The issuer's signing keys, after jose's `jwks/remote.ts`: one pending fetch shared by all
 * callers, a cooldown before refetching for an unknown kid, and one freshness helper. jwks-rsa
 * fetches and imports the JWKS; this class decides when, and keeps the parsed keys.
 */
export class KeySource {
  private readonly logger = new Logger('KeySource');
  private keys = new Map<string | undefined, SigningKey>();
  private fetchedAt = -Infinity;
  private attemptedAt = -Infinity;
  private unknownKidFetchAt = -Infinity;
  private lastAttemptFailed = false;
  private pending?: Promise<boolean>;
  private client?: JwksClient;
  private readonly removedListeners: Array<(kids: Array<string | undefined>) => void> = [];
  private readonly fetchListeners: Array<(outcome: JwksFetchOutcome) => void> = [];

  constructor(private readonly options: KeySourceOptions) {}

  private now(): number {
    return this.options.clock.now();
  }

  /** True while at least one key is known and not past the stale-if-error window. */
  get ready(): boolean {
    return this.hasUsableKeys();
  }

  /** Called with the kids that left the JWKS, so caches built on them can drop their entries. */
  onKeysRemoved(listener: (kids: Array<string | undefined>) => void): void {
    this.removedListeners.push(listener);
  }

  onFetch(listener: (outcome: JwksFetchOutcome) => void): void {
    this.fetchListeners.push(listener);
  }

  /**
   * For answers derived from the keys without a key lookup (the verified-token cache): when every
   * request is a cache hit, `getKey` never runs, so this keeps the max-age refresh (which notices
   * removed keys) and the stale-if-error limit in force. Cheap: two clock reads, no allocation.
   */
  revalidate(): boolean {
    if (!this.hasUsableKeys()) return false;
    this.refreshIfOld();
    return true;
  }

  /** Pre-warms the cache (start-up); failures are logged, not thrown: requests will retry. */
  async warm(): Promise<boolean> {
    return this.refresh();
  }

  /**
   * The key for a token's `kid`. Throws `InvalidTokenError('ERR_AUTH_KEY_UNKNOWN')` when a fresh JWKS does
   * not hold it, and `KeysUnavailableError` (503) when no usable key can be had right now.
   */
  async getKey(kid: string | undefined, alg: string): Promise<SigningKey> {
    const known = this.hasUsableKeys() ? this.find(kid) : undefined;
    if (known) {
      this.refreshIfOld();
      return this.checkAlg(known, alg);
    }
    // Unknown kid (a rotation, or an attacker's random kid), or no keys at all: one shared
    // refetch, at most once per cooldown, so a flood of random kids costs a bounded number of
    // fetches while the first kid after a rotation is found at once.
    if (this.pending) {
      await this.pending;
    } else if (this.mayRefetchFor()) {
      if (this.keys.size > 0) this.unknownKidFetchAt = this.now();
      await this.refresh();
    }
    const found = this.find(kid);
    if (found) return this.checkAlg(found, alg);
    if (!this.hasUsableKeys() || this.lastAttemptFailed) {
      throw new KeysUnavailableError(this.retryAfterSeconds());
    }
    throw new InvalidTokenError('ERR_AUTH_KEY_UNKNOWN', kid === undefined ? 'Token has no kid and the key set holds several keys' : 'Unknown signing key');
  }

  /** After a failure, or with no keys: once per cooldown. Otherwise once per cooldown for unknown kids. */
  private mayRefetchFor(): boolean {
    if (this.keys.size === 0 || this.lastAttemptFailed) return this.mayFetch();
    return this.now() - this.unknownKidFetchAt >= this.options.cooldownMs;
  }

  /** Stale-while-revalidate: past maxAge, one background refresh (per cooldown) while known keys serve. */
  private refreshIfOld(): void {
    if (this.age() > this.options.maxAgeMs && this.mayFetch()) void this.refresh();
  }

  private checkAlg(key: SigningKey, alg: string): SigningKey {
    // RFC 8725 §3.1: the algorithm comes from the key, not from the token's say-so.
    if (key.alg !== alg) throw new InvalidTokenError('ERR_AUTH_ALGORITHM_UNEXPECTED', 'Unexpected signing algorithm');
    return key;
  }

  private find(kid: string | undefined): SigningKey | undefined {
    if (kid === undefined) return this.keys.size === 1 ? this.keys.values().next().value : undefined;
    return this.keys.get(kid);
  }

  private age(): number {
    return this.now() - this.fetchedAt;
  }

  private hasUsableKeys(): boolean {
    if (this.keys.size === 0) return false;
    if (this.age() > this.options.staleIfErrorMs) {
      this.logger.error(`Signing keys dropped: no successful JWKS fetch for ${Math.round(this.age() / 1000)} s`);
      this.replaceKeys(new Map());
      return false;
    }
    return true;
  }

  private mayFetch(): boolean {
    return this.now() - this.attemptedAt >= this.options.cooldownMs;
  }

  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.attemptedAt + this.options.cooldownMs - this.now()) / 1000));
  }

  private refresh(): Promise<boolean> {
    this.pending ??= this.fetchKeys().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchKeys(): Promise<boolean> {
    this.attemptedAt = this.now();
    try {
      const client = await this.jwksClient();
      const signingKeys = await client.getSigningKeys();
      const next = new Map<string | undefined, SigningKey>();
      for (const k of signingKeys) {
        // Keys for algorithms we do not accept are never used, whatever a token's header says.
        if (!this.options.algorithms.includes(k.alg)) continue;
        next.set(k.kid ?? undefined, { kid: k.kid ?? undefined, alg: k.alg, key: createPublicKey(k.getPublicKey()) });
      }
      if (next.size === 0) throw new Error('the JWKS holds no key for the accepted algorithms');
      this.replaceKeys(next);
      this.fetchedAt = this.now();
      this.lastAttemptFailed = false;
      this.emitFetch('success');
      return true;
    } catch (err) {
      this.lastAttemptFailed = true;
      this.emitFetch('failure');
      this.logger.warn(`JWKS fetch failed: ${(err as Error).message}`);
      return false;
    }
  }

  private async jwksClient(): Promise<JwksClient> {
    if (this.client) return this.client;
    const jwksUri = await this.options.resolveJwksUri();
    this.client = new JwksClient({
      jwksUri,
      cache: false, // this class caches parsed keys itself
      rateLimit: false, // and rate-limits with its cooldown
      timeout: this.options.timeoutMs,
      // A hard deadline for the whole exchange (jwks-rsa's own timeout is an idle-socket timeout).
      fetcher: (uri: string) => fetchJson(uri, this.options.timeoutMs) as Promise<{ keys: never[] }>,
    });
    return this.client;
  }

  private replaceKeys(next: Map<string | undefined, SigningKey>): void {
    const removed = [...this.keys.keys()].filter((kid) => !next.has(kid));
    this.keys = next;
    if (removed.length) for (const l of this.removedListeners) l(removed);
  }

  private emitFetch(outcome: JwksFetchOutcome): void {
    for (const l of this.fetchListeners) l(outcome);
  }
}
