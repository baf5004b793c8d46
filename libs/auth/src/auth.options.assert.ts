import type { AuthModuleOptions } from './auth.options.js';
import { isSecureUrl, SECURE_URL_RULE } from './secure-url.js';
import { assertDpopOptions } from './dpop/dpop.options.assert.js';

/**
 * One assertion per rule, each naming the option (misuse is a TypeError at construction, as in
 * jose), so a wrong set-up fails at boot rather than at the first request.
 */
export function assertAuthOptions(o: AuthModuleOptions): void {
  if (!o || typeof o !== 'object') throw new TypeError('AuthModule options are required');
  if (typeof o.issuer !== 'string' || !o.issuer) throw new TypeError("An 'issuer' is required to validate the 'iss' claim");
  assertHttpUrl(o.issuer, 'issuer');
  const audiences = Array.isArray(o.audience) ? o.audience : [o.audience];
  const named = o.namedAudiences && typeof o.namedAudiences === 'object' ? Object.keys(o.namedAudiences).length : 0;
  if ((audiences.length === 0 && named === 0) || audiences.some((a) => typeof a !== 'string' || !a)) {
    throw new TypeError("An 'audience' (or 'namedAudiences') is required to validate the 'aud' claim");
  }
  if (o.namedAudiences !== undefined) {
    if (typeof o.namedAudiences !== 'object' || o.namedAudiences === null)
      throw new TypeError("'namedAudiences' must map names to audiences");
    for (const [name, value] of Object.entries(o.namedAudiences)) {
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0 || values.some((a) => typeof a !== 'string' || !a)) {
        throw new TypeError(`'namedAudiences.${name}' must be an audience or a non-empty list of audiences`);
      }
    }
  }
  if (o.jwksUri !== undefined) assertHttpUrl(o.jwksUri, 'jwksUri');
  const algorithms = o.algorithms ?? ['RS256'];
  if (algorithms.length === 0) throw new TypeError("'algorithms' must list at least one algorithm");
  // RFC 8725 §3.2: keys from a JWKS are public; an HMAC "secret" taken from one is no secret.
  const bad = algorithms.filter((a) => !/^(RS|PS|ES)(256|384|512)$|^EdDSA$/.test(a));
  if (bad.length) throw new TypeError(`'algorithms' accepts only asymmetric JWS algorithms, not ${bad.join(', ')}`);
  for (const name of [
    'clockToleranceSeconds',
    'jwksTimeoutMs',
    'jwksCooldownMs',
    'jwksMaxAgeMs',
    'jwksStaleIfErrorMs',
    'verifiedTokenCacheSize',
    'verifiedTokenCacheMaxBytes',
    'maxTokenLength',
  ] as const) {
    const v = o[name];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new TypeError(`'${name}' must be a non-negative number`);
  }
  if (o.clock !== undefined && typeof o.clock?.now !== 'function')
    throw new TypeError("'clock' must have a now() method returning epoch milliseconds");
  if (o.clockToleranceSeconds !== undefined && o.clockToleranceSeconds > 300) {
    throw new TypeError("'clockToleranceSeconds' above 300 s would accept long-expired tokens");
  }
  assertDpopOptions(o);
}

function assertHttpUrl(value: string, name: string): void {
  if (!isSecureUrl(value)) throw new TypeError(`'${name}' ${SECURE_URL_RULE}`);
}
