import { HttpStatus } from '@nestjs/common';
import { BearerError } from '../bearer.errors.js';

/** RFC 9449 §7.1 `invalid_dpop_proof`: the `DPoP` proof is missing, malformed, or fails a check of §4.3. */
export class InvalidDpopProofError extends BearerError {
  readonly code = 'ERR_AUTH_DPOP_PROOF_INVALID' as const;
  readonly oauthError = 'invalid_dpop_proof';
  constructor(description: string) {
    super(HttpStatus.UNAUTHORIZED, 'Unauthorized', description, description);
  }
}

/** RFC 9449 §9: the proof must carry the nonce this answer provides in its `DPoP-Nonce` header. */
export class UseDpopNonceError extends BearerError {
  readonly code = 'ERR_AUTH_DPOP_NONCE_REQUIRED' as const;
  readonly oauthError = 'use_dpop_nonce';
  constructor(
    readonly nonce: string,
    description = 'Resource server requires nonce in DPoP proof',
  ) {
    super(HttpStatus.UNAUTHORIZED, 'Unauthorized', description, description);
  }

  override headers(): Record<string, string> {
    return { 'DPoP-Nonce': this.nonce };
  }
}

/**
 * The replay store (Redis) did not answer while DPoP is required: the proof cannot be shown to be
 * fresh, so the request is refused (fail closed) — as a 503, since the fault is ours.
 */
export class DpopReplayStoreUnavailableError extends BearerError {
  readonly code = 'ERR_AUTH_DPOP_REPLAY_STORE_UNAVAILABLE' as const;
  readonly oauthError = undefined;
  constructor(readonly retryAfterSeconds = 1) {
    super(HttpStatus.SERVICE_UNAVAILABLE, 'Service Unavailable', 'DPoP replay protection is temporarily unavailable');
  }

  override headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfterSeconds) };
  }
}
