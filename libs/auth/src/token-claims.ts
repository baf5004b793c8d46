import { InvalidTokenError, type InvalidTokenCode } from './bearer.errors.js';
import type { AuthModuleOptions } from './auth.options.js';
import { clientIdOf, isAuth0ClientSubject, type TokenClaims } from './principal.js';

type Policy = Pick<AuthModuleOptions, 'm2mOnly' | 'allowedClientIds' | 'strictRfc9068'>;

/**
 * One predicate per claim rule (after `validate.ts` of auth0/node-oauth2-jwt-bearer). `iss`,
 * `aud`, `exp` and `nbf` values are checked by jsonwebtoken; these add the rules it leaves out.
 */
const rules: Array<[applies: (p: Policy) => boolean, check: (c: TokenClaims) => boolean, code: InvalidTokenCode, description: string]> = [
  // jsonwebtoken accepts a token with no `exp`; an M2M token that never expires is not acceptable.
  [() => true, (c) => Number.isFinite(c.exp), 'ERR_AUTH_CLAIMS_INVALID', 'Token has no valid exp claim'],
  [() => true, (c) => c.iat === undefined || Number.isFinite(c.iat), 'ERR_AUTH_CLAIMS_INVALID', 'Invalid iat claim'],
  [() => true, (c) => c.sub === undefined || typeof c.sub === 'string', 'ERR_AUTH_CLAIMS_INVALID', 'Invalid sub claim'],
  // RFC 9068 §2.2: required claims of a JWT access token.
  [
    (p) => !!p.strictRfc9068,
    (c) => typeof c.client_id === 'string' && typeof c.jti === 'string' && typeof c.sub === 'string' && typeof c.iat === 'number',
    'ERR_AUTH_CLAIMS_INVALID',
    'Token lacks a claim required by RFC 9068',
  ],
  [(p) => !!p.m2mOnly, isClientCredentialsToken, 'ERR_AUTH_NOT_M2M', 'Token was not issued to a machine client'],
];

/**
 * Auth0 marks client-credentials tokens with `gty` and a `<client_id>@clients` subject; standards
 * issuers (RFC 9068 §2.2) set `sub` to the client id itself for tokens issued to a client.
 */
function isClientCredentialsToken(c: TokenClaims): boolean {
  if (c.gty !== undefined) return c.gty === 'client-credentials' && isAuth0ClientSubject(c.sub);
  return typeof c.client_id === 'string' && c.sub === c.client_id;
}

export function checkClaims(claims: TokenClaims, policy: Policy): void {
  for (const [applies, check, code, description] of rules) {
    if (applies(policy) && !check(claims)) throw new InvalidTokenError(code, description);
  }
  if (policy.allowedClientIds?.length) {
    const clientId = clientIdOf(claims);
    if (clientId === undefined || !policy.allowedClientIds.includes(clientId)) {
      throw new InvalidTokenError('ERR_AUTH_CLIENT_NOT_ALLOWED', 'Client is not allowed');
    }
  }
}
