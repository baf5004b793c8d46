import type { Clock } from './clock.js';

/** Options of `AuthModule.forRoot` / `forRootAsync`. Defaults are written where they are read. */
export interface AuthModuleOptions {
  /** Exact `iss` value incoming tokens must carry (Auth0: `https://<domain>/`, with the trailing slash). */
  issuer: string;
  /** Accepted audiences: a token passes when one of its `aud` values equals one of these exactly. */
  audience: string | string[];
  /**
   * Audiences by name, for `@Audience('<name>')` on routes that accept only their own API's tokens
   * (one service hosting several APIs). Each value is also accepted module-wide, like `audience`.
   */
  namedAudiences?: Record<string, string | string[]>;
  /** JWKS URL; found by discovery from the issuer (RFC 8414 / OpenID Connect Discovery) when absent. */
  jwksUri?: string;
  /** Accepted signing algorithms (asymmetric only). Default `['RS256']`. */
  algorithms?: string[];
  /** Leeway for `exp`/`nbf`, and for comparing a token's `iat` with JWKS fetch times, in seconds. Default 5. */
  clockToleranceSeconds?: number;
  /** `WWW-Authenticate` realm. Default `'api'`. */
  realm?: string;
  /**
   * Accepts only tokens issued to a machine client: Auth0's (`gty: client-credentials` and `sub`
   * `<client_id>@clients`) or RFC 9068's (`sub` equal to `client_id`, no `gty`).
   */
  m2mOnly?: boolean;
  /** Only these client ids (from `azp`/`client_id`/`sub`) are accepted. */
  allowedClientIds?: string[];
  /** RFC 9068 strict mode: `typ` must be `at+jwt`, and `client_id`, `jti`, `iat`, `sub` are required. */
  strictRfc9068?: boolean;
  /** Time limit of one JWKS or discovery request, in ms. Default 3000. */
  jwksTimeoutMs?: number;
  /**
   * After a failed JWKS fetch, the time before the next one (and the `Retry-After` of 503 answers
   * meanwhile); also the minimum gap between background refreshes, in ms. Default 10000. Refetches
   * for unknown `kid`s are bounded apart: at most one per second.
   */
  jwksCooldownMs?: number;
  /** Age after which the JWKS is refreshed in the background (keys keep serving meanwhile), in ms. Default 600000. */
  jwksMaxAgeMs?: number;
  /** How long known keys keep serving while the JWKS endpoint fails, in ms. Default 21600000 (6 h). */
  jwksStaleIfErrorMs?: number;
  /** Entries of the verified-token cache; 0 disables it. Default 10000. */
  verifiedTokenCacheSize?: number;
  /** Bytes the verified-token cache may hold (estimated heap cost of its entries); 0 disables it. Default 33554432 (32 MiB). */
  verifiedTokenCacheMaxBytes?: number;
  /** Longest accepted token, in characters; longer ones are refused before any parsing. Default 8192. */
  maxTokenLength?: number;
  /**
   * Time source of every time decision: `exp`/`nbf`, the verified-token cache's expiry, JWKS
   * freshness, cooldown and stale-if-error windows. Default `Date.now`. For tests that move time.
   */
  clock?: Clock;
}

export interface AuthModuleExtras {
  /** Installs the JWT and scopes guards for every route (use `@Public()` to opt out). Default false. */
  globalGuards?: boolean;
  /** Makes the module's providers global. Default false. */
  isGlobal?: boolean;
}
