import type { JSONWebKeySet } from 'jose';
import type { GetTokenOptions } from './client-token.js';
import type { DevIssuerConfig } from './config.js';
import type { FaultEndpoint, FaultSpec } from './faults.js';
import type { DevIssuerCounters } from './counters.js';
import type { RateLimitOptions } from './rate-limit.js';

/** Where the issuer writes operational messages; silent when omitted (in-process tests stay quiet). */
export interface DevIssuerLogger {
  log(msg: string): void;
  warn(msg: string): void;
}

/**
 * The issuer's time source: tokens' `iat`/`exp`, the rate limit and its `X-RateLimit-Reset`, client
 * quotas (their UTC hour and day), DPoP proof windows and nonces, client-assertion lifetimes. Pass
 * one to test time-dependent behaviour without waiting; injected delays still run on real time.
 * Same shape as `@nest-m2m/auth`'s `Clock`.
 */
export interface DevIssuerClock {
  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number;
}

export interface DevIssuerOptions {
  /** Loopback only: the issuer hands out tokens to anyone who can reach it. Default '127.0.0.1'. */
  host?: string;
  /** Default 0: an ephemeral port, so parallel test files never collide. */
  port?: number;
  /** Object, or path to a JSON file. Default: DEFAULT_DEV_ISSUER_CONFIG with fresh random secrets. */
  config?: DevIssuerConfig | string;
  /** Lifetime of tokens for APIs without their own `tokenLifetimeSeconds`. Default 86400 (Auth0's). */
  tokenLifetimeSeconds?: number;
  /** Private JWKS to load (created when missing) so tokens stay valid across restarts. */
  keysFile?: string;
  /** Exposes fault injection, rotation and counters over HTTP under /__test/. Default false. */
  enableTestControls?: boolean;
  /**
   * Serve HTTPS with a certificate made at start by a fresh local CA, so that SDKs that insist on
   * https (Auth0's: `https://<domain>`) work unchanged. The CA certificate (PEM) is written to
   * `caFile` (default: a new temporary directory, removed on close) for `NODE_EXTRA_CA_CERTS`.
   * Default false (plain HTTP).
   */
  tls?: boolean | { caFile?: string };
  /**
   * The token endpoint's rate limit (a token bucket for the whole issuer, like a tenant's), whose
   * `X-RateLimit-*` headers go on every token response. Default `{ limit: 100, windowSeconds: 1 }`;
   * `false` turns it off (and the headers).
   */
  rateLimit?: RateLimitOptions | false;
  /** Start even when NODE_ENV is 'production'. Default false. */
  allowProduction?: boolean;
  logger?: DevIssuerLogger;
  /** Default: the system clock (`Date.now()`). */
  clock?: DevIssuerClock;
  /** DPoP proofs at /oauth/token must carry the server's nonce (RFC 9449 §8): `400 use_dpop_nonce` first. Default false. */
  dpopNonces?: boolean;
}

export interface IssueTokenOptions {
  /** Becomes `sub` (`<clientId>@clients`) and `azp`; need not be a configured client. */
  clientId: string;
  audience: string;
  /** Merged over the standard claims; a claim set to `undefined` is removed (e.g. `{ exp: undefined }`). */
  claims?: Record<string, unknown>;
  /** Merged over `{ alg: 'RS256', typ: 'JWT', kid }`. */
  header?: Record<string, unknown>;
  /** Seconds from now to `exp`; negative gives an already expired token. Default: the API's lifetime. */
  expiresIn?: number;
}

export interface DevIssuerControls {
  /** Generates a new signing key and returns its kid; `keepOld` keeps the previous keys in the JWKS. */
  rotateKeys(options?: { keepOld?: boolean }): Promise<string>;
  /** kid of the key that signs new tokens. */
  currentKid(): string;
  /** The published JWKS (public keys only). */
  jwks(): JSONWebKeySet;
  /** Signs an arbitrary token with the current key, for tests of token consumers. Not counted. */
  issueToken(options: IssueTokenOptions): Promise<string>;
  /** Queues a fault for the next `count` requests to an endpoint. */
  failNext(fault: FaultSpec): void;
  /** Delays every request to the endpoint by `ms` (0 removes the delay). */
  setDelay(endpoint: FaultEndpoint, ms: number): void;
  /** Drops queued faults and persistent delays. */
  clearFaults(): void;
  /** Sets (or with `null`, removes) a client's hourly token quota and restarts its window. */
  setQuota(clientId: string, quotaPerHour: number | null): void;
  counters(): DevIssuerCounters;
  resetCounters(): void;
  /** Faults, counters, quotas and the rate limit back to their state at start (keys are kept). */
  reset(): void;
}

export interface DevIssuer {
  /** 'http://127.0.0.1:PORT', or 'https://…' with `tls`. */
  url: string;
  /** 'http://127.0.0.1:PORT/' — trailing slash, as Auth0 issuers have. */
  issuer: string;
  /** With `tls`: the CA certificate (PEM) that clients must trust, and the file it was written to. */
  ca?: { pem: string; file: string };
  jwksUri: string;
  tokenEndpoint: string;
  /** The resolved configuration, including generated secrets. */
  config: DevIssuerConfig;
  controls: DevIssuerControls;
  /**
   * An access token for a configured client by a real client-credentials request to this issuer
   * (counted, subject to faults and quotas), e.g. `await issuer.getToken({ clientId: 'documents-caller' })`.
   * Rejects with `DevIssuerTokenError` (status, OAuth `error`) when the endpoint refuses.
   */
  getToken(options: GetTokenOptions): Promise<string>;
  /** Closes the server and destroys every socket, including hung requests. */
  close(): Promise<void>;
}
