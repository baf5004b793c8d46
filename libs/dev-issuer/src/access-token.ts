import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import type { DevIssuerApi } from './config.js';
import { ACCESS_TOKEN_ALG, type SigningKeys } from './keys.js';

export interface AccessTokenRequest {
  clientId: string;
  audience: string;
  scopes: string[];
  lifetimeSeconds: number;
  /** The API, when known: decides whether `permissions` is added (Auth0 RBAC). */
  api?: DevIssuerApi;
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

/**
 * Signs an access token shaped like Auth0's for the client-credentials grant:
 * `sub` is `<client_id>@clients`, `gty` is `client-credentials`, `azp` is the client, `scope` the
 * granted scopes, and with RBAC `permissions` repeats them as an array. Header `typ: JWT` (not
 * RFC 9068's `at+jwt`) as Auth0 sends.
 */
export async function signAccessToken(keys: SigningKeys, issuer: string, request: AccessTokenRequest): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: issuer,
    sub: `${request.clientId}@clients`,
    aud: request.audience,
    iat,
    exp: iat + request.lifetimeSeconds,
    jti: randomUUID(),
    gty: 'client-credentials',
    azp: request.clientId,
    ...(request.scopes.length > 0 ? { scope: request.scopes.join(' ') } : {}),
    ...(request.api?.rbac ? { permissions: [...request.scopes] } : {}),
    ...request.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  const { kid, privateKey } = keys.current;
  const header = { alg: ACCESS_TOKEN_ALG, typ: 'JWT', kid, ...request.header };
  return new SignJWT(claims as JWTPayload).setProtectedHeader(header as { alg: string }).sign(privateKey);
}
