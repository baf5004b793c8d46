import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy, type SecretOrKeyProvider, type StrategyOptionsWithRequest } from 'passport-jwt';
import { AUTH_STRATEGY_NAME } from './auth.constants.js';
import { AUTH_MODULE_OPTIONS } from './auth.module-definition.js';
import type { AuthModuleOptions } from './auth.options.js';
import { InvalidTokenError, MissingTokenError } from './bearer.errors.js';
import { systemClock } from './clock.js';
import { type AccessCredentials, assertB64Token, accessCredentials } from './bearer-token.extractor.js';
import { DpopVerifier } from './dpop/dpop.verifier.js';
import { checkJws } from './jwt-header.js';
import { toBearerError } from './jwt-errors.js';
import { KeySource } from './key-source.js';
import { type AuthPrincipal, type TokenClaims, toPrincipal } from './principal.js';
import { acceptedAudiences } from './route-audiences.js';
import { checkClaims } from './token-claims.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

/** Per-request state handed from `authenticate` to the key provider and `validate`. */
const STATE = Symbol('nest_m2m:jwt_state');
interface RequestState {
  token: string;
  scheme: AccessCredentials['scheme'];
  kid?: string;
}
type AuthRequest = Record<string | symbol, unknown> & { headers: Record<string, string | string[] | undefined>; [STATE]?: RequestState };

export const DEFAULT_ALGORITHMS = ['RS256'];

/**
 * passport-jwt + jwks-rsa, hardened: hostile headers are refused before any key lookup, the key
 * comes from `KeySource` as a parsed KeyObject, and results are cached by token hash. Works with a
 * plain `AuthGuard('jwt')`: every refusal travels as a `BearerError` through passport's error
 * path, and `BearerErrorFilter` writes the RFC 6750 answer.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, AUTH_STRATEGY_NAME) {
  private readonly maxTokenLength: number;

  constructor(
    @Inject(AUTH_MODULE_OPTIONS) private readonly options: AuthModuleOptions,
    @Inject(KeySource) private readonly keys: KeySource,
    @Inject(VerifiedTokenCache) private readonly verified: VerifiedTokenCache,
    @Inject(DpopVerifier) private readonly dpop: DpopVerifier,
  ) {
    const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
    const strict = options.strictRfc9068 ?? false;
    const keyProvider: SecretOrKeyProvider = (req, rawJwt, done) => {
      const state = (req as unknown as AuthRequest)[STATE];
      let jws;
      try {
        jws = checkJws(rawJwt as string, algorithms, strict);
      } catch (err) {
        done(err as Error);
        return;
      }
      const { header, payload } = jws;
      // Unverified here: it only decides whether the JWKS may be older than the token.
      const iat = Number.isFinite(payload.iat) ? (payload.iat as number) : undefined;
      keys.getKey(header.kid, header.alg, iat).then(
        (k) => {
          // The cache entry is tied to the kid of the key that verified it, not to the header's
          // (absent when the JWKS holds one key), so that key leaving the JWKS drops the entry.
          if (state) state.kid = k.kid;
          try {
            done(null, k.key as never);
          } catch (err) {
            // passport-jwt verifies synchronously inside done(); anything jsonwebtoken throws
            // there (odd payloads) must become a refusal, not an unhandled rejection.
            done(err as Error);
          }
        },
        (err: unknown) => done(err as Error),
      );
    };
    super({
      jwtFromRequest: (req: unknown) => (req as AuthRequest)[STATE]?.token ?? null,
      secretOrKeyProvider: keyProvider,
      issuer: options.issuer,
      audience: acceptedAudiences(options),
      algorithms,
      passReqToCallback: true,
      // @types/passport-jwt marks this deprecated for audience/issuer/algorithms, but passport-jwt has no
      // other way to pass jsonwebtoken's clockTolerance.
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
      jsonWebTokenOptions: { clockTolerance: options.clockToleranceSeconds ?? 5 },
    } as StrategyOptionsWithRequest);
    this.maxTokenLength = options.maxTokenLength ?? 8192;
    onClock(this, options.clock ?? systemClock);
    keys.onKeysRemoved((kids) => verified.dropKids(kids));
  }

  /**
   * The fast path, for `JwtAuthGuard`: the request's principal when its token is in the
   * verified-token cache. On a miss the token stays on the request, so `authenticate` (passport's
   * path) does not read the header again. Throws the BearerError of a request without a usable
   * token, exactly as passport's path would report it. A hit on a DPoP request is a promise: the
   * proof is checked on every request, cached token or not.
   */
  cachedPrincipal(request: object): AuthPrincipal | Promise<AuthPrincipal> | undefined {
    const req = request as AuthRequest;
    const { token, scheme } = this.credentialsOf(req);
    const cached = this.lookup(token);
    if (cached !== undefined) return this.dpop.bind(req, scheme, token, cached);
    assertB64Token(token);
    req[STATE] = { token, scheme, kid: undefined };
    return undefined;
  }

  override authenticate(request: object, options?: unknown): void {
    const req = request as AuthRequest;
    // Set by cachedPrincipal (a miss) or by an earlier guard on this request: the token is known.
    if (req[STATE] === undefined) {
      let cached: AuthPrincipal | Promise<AuthPrincipal> | undefined;
      try {
        cached = this.cachedPrincipal(req);
      } catch (err) {
        this.error(err as Error);
        return;
      }
      if (cached instanceof Promise) {
        cached.then(
          (p) => {
            this.success(p);
          },
          (err: unknown) => {
            this.error(err as Error);
          },
        );
        return;
      }
      if (cached) {
        this.success(cached);
        return;
      }
    }
    // passport-jwt reports verification failures through fail(); route them through error() as
    // typed BearerErrors so that a plain AuthGuard('jwt') rethrows them intact.
    this.fail = (info: unknown) => this.error(toBearerError(info));
    super.authenticate(request as never, options);
  }

  /**
   * The request's bearer credentials, not yet syntax-checked: a cache hit proves the syntax (only
   * verified tokens enter), so `assertB64Token` runs on misses only.
   */
  private credentialsOf(req: AuthRequest): AccessCredentials {
    const credentials = accessCredentials(req, this.dpop.modeOf(req) !== 'disabled');
    this.dpop.admit(req, credentials?.scheme);
    if (credentials === undefined) throw new MissingTokenError();
    if (credentials.token.length > this.maxTokenLength) throw new InvalidTokenError('ERR_AUTH_TOKEN_MALFORMED', 'Token too large');
    return credentials;
  }

  private lookup(token: string): AuthPrincipal | undefined {
    // Hits never reach getKey: keep the JWKS refresh running, and past the stale-if-error window
    // answer nothing from the cache (the full path then answers 503).
    if (!this.keys.revalidate()) return undefined;
    return this.verified.get(token);
  }

  /** `payload` is a JSON object: checkJws refused any other before the key lookup. */
  validate(req: AuthRequest, payload: TokenClaims): AuthPrincipal | Promise<AuthPrincipal> {
    checkClaims(payload, this.options);
    const principal = toPrincipal(payload);
    const state = req[STATE];
    if (!state) return principal;
    const remember = (p: AuthPrincipal) => {
      this.verified.set(state.token, p, state.kid, payload.exp as number);
      return p;
    };
    const bound = this.dpop.bind(req, state.scheme, state.token, principal);
    return bound instanceof Promise ? bound.then(remember) : remember(bound);
  }
}

/**
 * Puts jsonwebtoken's `exp`/`nbf` checks on the injected clock. passport-jwt copies
 * `jsonWebTokenOptions` once, at construction, into `_verifOpts`, and hands that object to
 * `jwt.verify` on every request, which reads `clockTimestamp` from it; a getter there is read per
 * verification (a plain value would freeze time at boot).
 */
function onClock(strategy: object, clock: { now(): number }): void {
  const verifyOptions = (strategy as { _verifOpts?: object })._verifOpts;
  if (typeof verifyOptions !== 'object' || verifyOptions === null) {
    throw new Error('passport-jwt no longer keeps its jsonwebtoken options in _verifOpts: the clock option cannot be applied');
  }
  Object.defineProperty(verifyOptions, 'clockTimestamp', { enumerable: true, get: () => Math.floor(clock.now() / 1000) });
}
