import type { Env } from './env.schema.js';

/** An Auth0 tenant's fixed URLs (DESIGN.md, `AUTH0_DOMAIN`): no discovery needed. */
export interface Auth0Tenant {
  issuer: string;
  jwksUri: string;
  tokenEndpoint: string;
}

/**
 * The one place `AUTH0_DOMAIN` becomes URLs: the issuer with Auth0's trailing slash, the JWKS and the
 * token endpoint. Undefined when `AUTH_ISSUER_URL` is set (it wins) or no domain is.
 */
export function auth0Tenant(env: Pick<Env, 'AUTH0_DOMAIN' | 'AUTH_ISSUER_URL'>): Auth0Tenant | undefined {
  if (env.AUTH_ISSUER_URL || !env.AUTH0_DOMAIN) return undefined;
  const origin = `https://${env.AUTH0_DOMAIN}`;
  return { issuer: `${origin}/`, jwksUri: `${origin}/.well-known/jwks.json`, tokenEndpoint: `${origin}/oauth/token` };
}
