import type { ServerResponse } from 'node:http';
import { CLIENT_ASSERTION_ALGORITHMS } from './config.js';
import type { IssuerContext } from './context.js';
import { DPOP_SIGNING_ALGORITHMS } from './dpop.js';
import { sendJson } from './http.js';
import { ACCESS_TOKEN_ALG } from './keys.js';

/** GET /.well-known/jwks.json — public keys only, each with `kid`, `use: sig`, `alg: RS256` (RFC 7517). */
export async function handleJwks(ctx: IssuerContext, res: ServerResponse): Promise<void> {
  ctx.counters.increment('jwksFetches');
  if (await ctx.runFaults('jwks', res)) return;
  // Auth0's caching headers: short freshness, long stale-if-error so verifiers survive an outage.
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
    id_token_signing_alg_values_supported: [ACCESS_TOKEN_ALG],
    subject_types_supported: ['public'],
    scopes_supported: [...scopes],
    claims_supported: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'azp', 'gty', 'scope', 'permissions'],
  };
}

export async function handleDiscovery(ctx: IssuerContext, res: ServerResponse): Promise<void> {
  ctx.counters.increment('discoveryFetches');
  if (await ctx.runFaults('discovery', res)) return;
  sendJson(res, 200, metadata(ctx), { 'Cache-Control': 'public, max-age=15' });
}
