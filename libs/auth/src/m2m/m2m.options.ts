import type { AxiosProxyConfig } from 'axios';
import type { Clock } from '../clock.js';
import { isSecureUrl, SECURE_URL_RULE } from '../secure-url.js';
import type { TokenCache } from './token-cache.js';
import type { DpopClientOptions } from './dpop-client.js';

/**
 * Options of `M2MModule`. Defaults are written where each option is read; `assertM2MOptions` holds
 * one assertion per rule, and each message names the option it is about.
 */
export interface SiblingServiceOptions {
  /** Name used with `@InjectSiblingClient(name)`. */
  name: string;
  /** Origin (and optional base path) of the sibling; the token is only ever sent to this origin. */
  baseUrl: string;
  /** Audience (Auth0) or resource (RFC 8707) of the sibling's API. */
  audience: string;
  scopes?: string[];
  /**
   * The one forward proxy for this sibling's calls. Default: none; `HTTP_PROXY`/`HTTPS_PROXY` and
   * per-request `proxy` options are ignored, as a proxy sees (over plain http, in clear) the token.
   */
  proxy?: AxiosProxyConfig;
  /** Call it with DPoP-bound tokens (RFC 9449) and a fresh proof per request; needs the module's `dpop` key. Default false. */
  dpop?: boolean;
}

export type ClientAuthMethod = 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt';
export type TokenEndpointDialect = 'auth0' | 'standard';

export interface M2MModuleOptions {
  /** Explicit token endpoint URL, or: */
  tokenEndpoint?: string;
  /** Lazy discovery: called once on first need, called again after a failure. */
  resolveTokenEndpoint?: () => Promise<string>;
  /** Issuer URL; the `aud` of `private_key_jwt` assertions with the Auth0 dialect. */
  issuer?: string;
  /** `auth0`: JSON body with `audience`. `standard`: form body with `resource` (RFC 8707). Default `standard`. */
  dialect?: TokenEndpointDialect;
  clientId: string;
  clientSecret?: string;
  /** Default: `client_secret_post` for Auth0, `client_secret_basic` otherwise. */
  clientAuth?: ClientAuthMethod;
  /** PEM (PKCS#8) or private JWK as JSON, for `private_key_jwt`. */
  privateKey?: string;
  /** Default RS256 (or the JWK's `alg`). */
  privateKeyAlg?: string;
  privateKeyKid?: string;
  /** Overrides the `aud` of `private_key_jwt` assertions. */
  clientAssertionAudience?: string;
  /** Per-attempt timeout of token requests. Default 5000. */
  requestTimeoutMs?: number;
  /** Attempts per token request, first included. Default 3. */
  maxAttempts?: number;
  /**
   * After a failed token request (all attempts), callers of that entry get the same error without a
   * new request for this long, or for the issuer's `Retry-After` when longer (at most 60 s); a
   * still-valid token keeps serving meanwhile. With Redis, shared by the fleet. Default 2000.
   */
  failureBackoffMs?: number;
  /** Renew this long before expiry. Default 60. */
  refreshBufferSeconds?: number;
  /** Renew on a timer so that no request waits on the issuer. Default false. */
  backgroundRefresh?: boolean;
  /** Your own cache (`M2M_TOKEN_CACHE`); closed with the module. Default: per `cacheUrl`. */
  cache?: TokenCache;
  /** `redis://…` for a cache shared by all replicas (needs the optional peer `ioredis`). Default: in-process. */
  cacheUrl?: string;
  /** Default `nest-m2m:token:`. */
  cacheKeyPrefix?: string;
  /** 32-byte key (base64 or hex): cached tokens are encrypted with AES-256-GCM. */
  cacheEncryptionKey?: string;
  siblings?: SiblingServiceOptions[];
  /** Time source of every expiry, refresh and stale decision (timers still run on real time). Default: the system clock. */
  clock?: Clock;
  /** This client's DPoP key (RFC 9449), for `getToken({ dpop: true })` and siblings with `dpop: true`. */
  dpop?: DpopClientOptions;
}

const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_post', 'client_secret_basic', 'private_key_jwt'];

function isPositiveInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/** Throws a `TypeError` listing every broken rule (misuse of options is a programming error). */
export function assertM2MOptions(options: M2MModuleOptions): void {
  const problems: string[] = [];
  const check = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  check(typeof options.clientId === 'string' && options.clientId.length > 0, "A 'clientId' is required to request tokens");
  check(
    Boolean(options.tokenEndpoint) !== Boolean(options.resolveTokenEndpoint),
    "Exactly one of 'tokenEndpoint' and 'resolveTokenEndpoint' is required",
  );
  if (options.tokenEndpoint !== undefined) {
    check(isSecureUrl(options.tokenEndpoint), `'tokenEndpoint' ${SECURE_URL_RULE}`);
  }
  check(
    options.dialect === undefined || options.dialect === 'auth0' || options.dialect === 'standard',
    "'dialect' must be 'auth0' or 'standard'",
  );
  check(
    options.clientAuth === undefined || CLIENT_AUTH_METHODS.includes(options.clientAuth),
    `'clientAuth' must be one of ${CLIENT_AUTH_METHODS.join(', ')}`,
  );
  if (options.clientAuth === 'private_key_jwt') {
    check(Boolean(options.privateKey), "A 'privateKey' is required when 'clientAuth' is 'private_key_jwt'");
    if ((options.dialect ?? 'standard') === 'auth0' && !options.clientAssertionAudience) {
      check(Boolean(options.issuer), "An 'issuer' is required for 'private_key_jwt' with the 'auth0' dialect (the assertion's 'aud')");
    }
  } else {
    check(Boolean(options.clientSecret), `A 'clientSecret' is required when 'clientAuth' is ${options.clientAuth ?? 'a secret method'}`);
  }
  if (options.issuer !== undefined) check(isSecureUrl(options.issuer), `'issuer' ${SECURE_URL_RULE}`);
  if (options.requestTimeoutMs !== undefined)
    check(isPositiveInteger(options.requestTimeoutMs), "'requestTimeoutMs' must be a positive integer");
  if (options.maxAttempts !== undefined) check(isPositiveInteger(options.maxAttempts), "'maxAttempts' must be a positive integer");
  if (options.failureBackoffMs !== undefined) {
    check(Number.isInteger(options.failureBackoffMs) && options.failureBackoffMs >= 0, "'failureBackoffMs' must be an integer >= 0");
  }
  if (options.refreshBufferSeconds !== undefined) {
    check(
      typeof options.refreshBufferSeconds === 'number' && options.refreshBufferSeconds >= 0,
      "'refreshBufferSeconds' must be a number >= 0",
    );
  }
  check(!(options.cache && options.cacheUrl), "Only one of 'cache' and 'cacheUrl' may be set");
  if (options.cacheUrl !== undefined) {
    check(/^rediss?:\/\//.test(options.cacheUrl), "'cacheUrl' must be a redis:// or rediss:// URL");
  }
  if (options.cacheEncryptionKey !== undefined) {
    check(decodeEncryptionKey(options.cacheEncryptionKey) !== undefined, "'cacheEncryptionKey' must be 32 bytes, base64 or hex encoded");
  }
  // Replicas sharing tokens must prove the same key: a key generated per process cannot be shared.
  if (options.dpop && !options.dpop.privateKey) {
    check(
      !options.cacheUrl && !options.cache,
      "'dpop.privateKey' is required with 'cacheUrl' or 'cache' (every replica must present the key its shared tokens are bound to)",
    );
  }
  const names = new Set<string>();
  for (const [i, sibling] of (options.siblings ?? []).entries()) {
    check(Boolean(sibling.name), `'siblings[${i}].name' is required`);
    check(!names.has(sibling.name), `'siblings[${i}].name' ${JSON.stringify(sibling.name)} is used twice`);
    names.add(sibling.name);
    check(isSecureUrl(sibling.baseUrl), `'siblings[${i}].baseUrl' ${SECURE_URL_RULE}`);
    check(Boolean(sibling.audience), `'siblings[${i}].audience' is required`);
    if (sibling.dpop) check(Boolean(options.dpop), `'siblings[${i}].dpop' needs the module's 'dpop' option (the client's DPoP key)`);
  }
  if (problems.length > 0) {
    throw new TypeError(`Invalid M2M module options:\n- ${problems.join('\n- ')}`);
  }
}

/** A 32-byte key from 64 hex digits or base64/base64url; undefined if it is not one. */
export function decodeEncryptionKey(value: string): Buffer | undefined {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  return key.length === 32 ? key : undefined;
}
