import { Logger, type OnModuleDestroy } from '@nestjs/common';
import { InvalidTokenError } from '../bearer.errors.js';
import { systemClock } from '../clock.js';
import type { AuthModuleOptions } from '../auth.options.js';
import type { AuthPrincipal } from '../principal.js';
import { DPOP_REQUEST_STATE, type DpopRequestState } from './dpop-challenge.js';
import { DpopReplayStoreUnavailableError, InvalidDpopProofError } from './dpop.errors.js';
import { DpopNonces } from './dpop-nonce.js';
import { DEFAULT_DPOP_ALGORITHMS, type DpopMode } from './dpop.options.js';
import { DpopProofChecker } from './dpop-proof.js';
import { type DpopReplayStore, MemoryDpopReplayStore, RedisDpopReplayStore, replayId } from './dpop-replay.store.js';

/** Where `JwtAuthGuard` leaves a route's `@Dpop()` mode for the strategy. */
export const DPOP_ROUTE_MODE = Symbol('nest_m2m:dpop_route_mode');

type Scheme = 'Bearer' | 'DPoP';
type Req = Record<string | symbol, unknown> & { headers: Record<string, string | string[] | undefined> };

/** The token's `cnf.jkt` (RFC 9449 §6.1), undefined for an unbound token; a malformed `cnf` is an invalid token. */
function boundJkt(claims: Readonly<Record<string, unknown>>): string | undefined {
  const cnf = claims.cnf;
  if (cnf === undefined) return undefined;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf))
    throw new InvalidTokenError('ERR_AUTH_CLAIMS_INVALID', 'Invalid cnf claim');
  const jkt = (cnf as { jkt?: unknown }).jkt;
  // Other confirmation methods (x5t#S256 for mTLS) are not DPoP's business.
  if (jkt === undefined) return undefined;
  if (typeof jkt !== 'string' || jkt.length === 0) throw new InvalidTokenError('ERR_AUTH_CLAIMS_INVALID', 'Invalid cnf claim');
  return jkt;
}

/**
 * Incoming DPoP (RFC 9449): the request's mode (route `@Dpop()` over the module's `dpop`), the
 * scheme rules of §7, the proof checks of §4.3 and the replay check of §11.1. Runs after the token
 * is known valid — from the verified-token cache or from full verification — so a cache hit never
 * skips the proof.
 */
export class DpopVerifier implements OnModuleDestroy {
  readonly algorithms: readonly string[];
  private readonly moduleMode: DpopMode;
  private readonly checker: DpopProofChecker;
  private readonly store: DpopReplayStore;
  private readonly replayTtlMs: number;
  private readonly logger = new Logger('Auth');
  private storeDown = false;

  constructor(options: AuthModuleOptions) {
    const o = options.dpopProof ?? {};
    this.moduleMode = options.dpop ?? 'allowed';
    this.algorithms = o.algorithms ?? DEFAULT_DPOP_ALGORITHMS;
    const clock = options.clock ?? systemClock;
    const maxAgeSeconds = o.maxAgeSeconds ?? 60;
    const clockToleranceSeconds = options.clockToleranceSeconds ?? 5;
    this.checker = new DpopProofChecker({
      algorithms: this.algorithms,
      maxAgeSeconds,
      clockToleranceSeconds,
      trustForwardedHeaders: o.trustForwardedHeaders ?? false,
      maxProofLength: o.maxProofLength ?? 8192,
      nonces: o.nonce ? new DpopNonces(o.nonce, clock) : undefined,
      clock,
    });
    // A proof is refused once its iat leaves the window: remembering it that long is enough.
    this.replayTtlMs = (maxAgeSeconds + 2 * clockToleranceSeconds) * 1000;
    const store = o.replayStore;
    this.store =
      typeof store === 'string'
        ? new RedisDpopReplayStore(store, o.replayKeyPrefix)
        : (store ?? new MemoryDpopReplayStore({ clock: options.clock }));
  }

  /**
   * The request's scheme under its mode, before any token work: records the mode for the error
   * filter's challenge, and refuses a Bearer token where DPoP is required. `DPoP` counts as a scheme
   * only when DPoP is not disabled.
   */
  admit(req: Req, scheme: Scheme | undefined): void {
    const mode = (req[DPOP_ROUTE_MODE] as DpopMode | undefined) ?? this.moduleMode;
    if (mode === 'disabled') return;
    (req as Record<symbol, DpopRequestState>)[DPOP_REQUEST_STATE] = { mode, scheme };
    if (mode === 'required' && scheme === 'Bearer') throw new InvalidTokenError('ERR_AUTH_DPOP_REQUIRED', 'DPoP-bound token required');
  }

  modeOf(req: Req): DpopMode {
    return (req[DPOP_ROUTE_MODE] as DpopMode | undefined) ?? this.moduleMode;
  }

  /**
   * §7: a DPoP-bound token only with the DPoP scheme and a valid proof of its key; an unbound token
   * only as Bearer. Synchronous for Bearer requests (the hot path), a promise when a proof is checked.
   */
  bind(req: Req, scheme: Scheme, token: string, principal: AuthPrincipal): AuthPrincipal | Promise<AuthPrincipal> {
    const jkt = boundJkt(principal.claims);
    if (scheme === 'Bearer') {
      if (jkt !== undefined) throw new InvalidTokenError('ERR_AUTH_DPOP_BINDING_INVALID', 'DPoP-bound token presented as Bearer');
      return principal;
    }
    if (jkt === undefined) throw new InvalidTokenError('ERR_AUTH_DPOP_BINDING_INVALID', 'Token is not DPoP-bound');
    return this.proven(req, token, jkt).then(() => principal);
  }

  private async proven(req: Req, token: string, jkt: string): Promise<void> {
    const proof = await this.checker.check(req as never, token, jkt);
    let first: boolean;
    try {
      first = await this.store.claim(replayId(proof.jkt, proof.jti), this.replayTtlMs);
      if (this.storeDown) this.logger.log('DPoP replay store answers again');
      this.storeDown = false;
    } catch (error) {
      if (!this.storeDown) this.logger.warn(`DPoP replay store unavailable: ${(error as Error).message}`);
      this.storeDown = true;
      // Fail closed where DPoP is required; where it is only allowed, the proof is still bound to
      // the token and fresh (iat window), so it is accepted without the replay check.
      if (this.modeOf(req) === 'required') throw new DpopReplayStoreUnavailableError();
      return;
    }
    if (!first) throw new InvalidDpopProofError('DPoP proof replayed');
  }

  async onModuleDestroy(): Promise<void> {
    await this.store.close?.();
  }
}
