import type { ServerResponse } from 'node:http';
import { CLIENT_ASSERTION_ALGORITHMS } from './config.js';
import type { IssuerContext } from './context.js';
import { DPOP_SIGNING_ALGORITHMS } from './dpop.js';
import { sendJson } from './http.js';

/**
 * The algorithm lists of an Auth0 tenant's discovery document. ID tokens do not exist here (no
 * authorization endpoint), but clients that validate the metadata see the same lists as on Auth0.
 */
const AUTH0_ID_TOKEN_SIGNING_ALGS = ['HS256', 'RS256', 'PS256'];

/**
 * GET /.well-known/jwks.json — public keys only, each with `kid`, `use: sig`, `alg: RS256` and, as
 * Auth0's, a self-signed certificate in `x5c` with its SHA-1 thumbprint `x5t` (RFC 7517 §4.7, §4.8).
 */
export async function handleJwks(ctx: IssuerContext, res: ServerResponse): Promise<void> {
  ctx.counters.increment('jwksFetches');
  if (await ctx.runFaults('jwks', res)) return;
  // Our choice, not a sourced Auth0 value: short freshness so rotations show quickly, a long
  // stale-if-error (RFC 5861) so verifiers behind an HTTP cache survive an outage.
  sendJson(res, 200, ctx.keys.jwks(), { 'Cache-Control': 'public, max-age=15, stale-while-revalidate=15, stale-if-error=86400' });
}

/**
 * The authorization server metadata. One document serves both discovery paths: RFC 8414
 * (`/.well-known/oauth-authorization-server`) and OpenID Connect Discovery 1.0
 * (`/.well-known/openid-configuration`); their common members mean the same. No authorization
 * endpoint, so `response_types_supported` (required by both specs) is empty: this server only issues
 * client-credentials tokens.
 */
export function metadata(ctx: IssuerContext) {
  const scopes = new Set(ctx.registry.config.apis.flatMap((api) => api.scopes));
  return {
    issuer: ctx.issuer,
    token_endpoint: ctx.tokenEndpoint,
    jwks_uri: ctx.jwksUri,
    grant_types_supported: ['client_credentials'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGORITHMS],
    dpop_signing_alg_values_supported: [...DPOP_SIGNING_ALGORITHMS],
    id_token_signing_alg_values_supported: AUTH0_ID_TOKEN_SIGNING_ALGS,
    subject_types_supported: ['public'],
    scopes_supported: [...scopes],
    claims_supported: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'azp', 'client_id', 'gty', 'scope', 'permissions', 'org_id', 'org_name'],
  };
}

export async function handleDiscovery(ctx: IssuerContext, res: ServerResponse): Promise<void> {
  ctx.counters.increment('discoveryFetches');
  if (await ctx.runFaults('discovery', res)) return;
  sendJson(res, 200, metadata(ctx), { 'Cache-Control': 'public, max-age=15' });
}
