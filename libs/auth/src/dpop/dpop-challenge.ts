import { quote } from '../auth-param.js';
import type { BearerError } from '../bearer.errors.js';
import type { DpopMode } from './dpop.options.js';

/** What the filter needs to know about a request's DPoP handling, left on the request by the strategy. */
export interface DpopRequestState {
  mode: DpopMode;
  /** The Authorization scheme the request used, when it carried credentials. */
  scheme?: 'Bearer' | 'DPoP';
}

export const DPOP_REQUEST_STATE = Symbol('nest_m2m:dpop_state');

export function dpopStateOf(request: unknown): DpopRequestState | undefined {
  return (request as { [DPOP_REQUEST_STATE]?: DpopRequestState } | undefined)?.[DPOP_REQUEST_STATE];
}

const DPOP_ERRORS = new Set(['invalid_dpop_proof', 'use_dpop_nonce']);

/**
 * RFC 9449 §7.1: the `WWW-Authenticate` value of a refusal. A 401 is answered with the `DPoP`
 * challenge (with `algs`) when DPoP is required, when the request used the DPoP scheme, or when the
 * proof was at fault; in `allowed` mode the `Bearer` challenge follows it, since both schemes are
 * accepted. Everything else keeps the RFC 6750 `Bearer` challenge: with DPoP disabled, for Bearer
 * requests in `allowed` mode, and for 400/403/503 answers.
 */
export function wwwAuthenticate(
  error: BearerError,
  realm: string,
  state: DpopRequestState | undefined,
  algorithms: readonly string[],
): string {
  if (!state || state.mode === 'disabled' || error.getStatus() !== 401) return error.challenge(realm);
  const dpopFault = error.oauthError !== undefined && DPOP_ERRORS.has(error.oauthError);
  if (state.mode === 'allowed' && state.scheme !== 'DPoP' && !dpopFault) return error.challenge(realm);
  const dpop = `DPoP ${[`algs=${quote(algorithms.join(' '))}`, ...error.authParams()].join(', ')}`;
  return state.mode === 'allowed' ? `${dpop}, Bearer realm=${quote(realm)}` : dpop;
}
