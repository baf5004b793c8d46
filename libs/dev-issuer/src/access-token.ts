import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import type { DevIssuerApi, DevIssuerOrganization } from './config.js';
import { ACCESS_TOKEN_ALG, type SigningKeys } from './keys.js';

export interface AccessTokenRequest {
  clientId: string;
  audience: string;
  scopes: string[];
  lifetimeSeconds: number;
  /** The API, when known: decides `permissions` (Auth0 RBAC) and the token profile. */
  api?: DevIssuerApi;
  /** The organization the token is for: `org_id`, and `org_name` when `withOrgName`. */
  organization?: DevIssuerOrganization;
  withOrgName?: boolean;
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

/**
 * Signs an access token in the API's profile ("Access Token Profiles" in Auth0's docs):
 * - 'auth0' (default): header `typ: JWT`; `sub` `<client_id>@clients`, `azp`, `gty`
 *   `client-credentials`, `scope`; no `jti`, as Auth0's default profile has none;
 * - 'rfc9068': header `typ: at+jwt`; `client_id` in place of `azp`, a `jti`, no `gty`.
 * Both: `permissions` with RBAC, `org_id` (and `org_name` when enabled) for an organization.
 */
export async function signAccessToken(keys: SigningKeys, issuer: string, request: AccessTokenRequest, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  const rfc9068 = request.api?.accessTokenProfile === 'rfc9068';
  const claims: Record<string, unknown> = {
    iss: issuer,
    sub: `${request.clientId}@clients`,
    aud: request.audience,
    iat,
    exp: iat + request.lifetimeSeconds,
    ...(rfc9068 ? { client_id: request.clientId, jti: randomUUID() } : { gty: 'client-credentials', azp: request.clientId }),
    ...(request.scopes.length > 0 ? { scope: request.scopes.join(' ') } : {}),
    ...(request.api?.rbac ? { permissions: [...request.scopes] } : {}),
    ...(request.organization ? { org_id: request.organization.id } : {}),
    ...(request.organization && request.withOrgName ? { org_name: request.organization.name } : {}),
    ...request.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  const { kid, privateKey } = keys.current;
  const header = { alg: ACCESS_TOKEN_ALG, typ: rfc9068 ? 'at+jwt' : 'JWT', kid, ...request.header };
  return new SignJWT(claims as JWTPayload).setProtectedHeader(header as { alg: string }).sign(privateKey);
}
