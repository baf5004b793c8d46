import type { DpopReplayStore } from './dpop-replay.store.js';

/**
 * Incoming DPoP (RFC 9449), like Auth0's API libraries: `disabled` ignores the `DPoP` scheme (such
 * requests carry no bearer credentials), `allowed` accepts Bearer and DPoP-bound tokens, `required`
 * accepts DPoP-bound tokens only.
 */
export type DpopMode = 'disabled' | 'allowed' | 'required';

export const DPOP_MODES: readonly DpopMode[] = ['disabled', 'allowed', 'required'];

/** RFC 9449 §4.2: asymmetric only; `none` and MACs can never prove possession of a key. */
export const DEFAULT_DPOP_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];

/** Details of the proof check (option `dpopProof` of the AuthModule); defaults are written where they are read. */
export interface DpopProofOptions {
  /** Accepted proof algorithms (asymmetric only), listed in the `algs` of DPoP challenges. Default `DEFAULT_DPOP_ALGORITHMS`. */
  algorithms?: string[];
  /** How old a proof's `iat` may be, in seconds (RFC 9449 §11.1), plus the clock tolerance both ways. Default 60. */
  maxAgeSeconds?: number;
  /**
   * Where accepted proof `jti`s are remembered for the replay check (RFC 9449 §11.1). Default: in
   * this process. A `redis://`/`rediss://` URL shares them with every replica (`SET NX PX`), so a
   * proof replayed against another replica is refused too; or pass your own store.
   */
  replayStore?: string | DpopReplayStore;
  /** Prefix of the replay keys in Redis. Default `'nest-m2m:dpop-jti:'`. */
  replayKeyPrefix?: string;
  /**
   * Server-provided nonces (RFC 9449 §9): a proof must carry a recent `nonce`, or the answer is
   * `use_dpop_nonce` with a `DPoP-Nonce` header. Nonces are stateless HMACs of a time slot: every
   * replica of a fleet must be given the same `secret` (32+ bytes); without one, a random
   * per-process secret is used.
   */
  nonce?: { secret?: string | Buffer; rotationSeconds?: number };
  /**
   * Behind a reverse proxy: take the scheme and host of the request URL that `htu` must match from
   * `X-Forwarded-Proto`/`X-Forwarded-Host`. Only when the proxy sets (and strips) them: otherwise a
   * caller chooses them. Default false: the connection's scheme and the `Host` header.
   */
  trustForwardedHeaders?: boolean;
  /** Longest accepted `DPoP` header, in characters. Default 8192. */
  maxProofLength?: number;
}
