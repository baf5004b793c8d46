import { InvalidTokenError } from './bearer.errors.js';

export interface JoseHeader {
  alg: string;
  kid?: string;
  typ?: string;
  [name: string]: unknown;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
// RFC 8725 §3.10 and §2.7: header parameters that point at, or embed, a key. Following them lets
// the token choose its own verification key; they are refused outright, never fetched or trusted.
const KEY_CARRYING_PARAMS = ['jku', 'jwk', 'x5u', 'x5c'];
const MAX_KID_LENGTH = 256;

function decodeJsonObject(segment: string, name: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    // Not JSON: `value` stays undefined and is refused below.
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidTokenError('ERR_AUTH_TOKEN_MALFORMED', `Malformed token ${name}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Decodes a compact JWS and checks its header before any key lookup, so hostile headers cost
 * nothing and never reach the JWKS client. The payload is decoded, not verified: only the key
 * lookup reads it (`iat`, to tell a rotation we missed from an unknown kid).
 */
export function checkJws(
  token: string,
  algorithms: readonly string[],
  strictRfc9068: boolean,
): { header: JoseHeader; payload: Record<string, unknown> } {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) {
    throw new InvalidTokenError('ERR_AUTH_TOKEN_MALFORMED', 'Malformed token');
  }
  // parts.length is 3 (checked above).
  const h = decodeJsonObject(parts[0]!, 'header');
  // The claims must be a JSON object too (RFC 7519 §7.2 step 10); jsonwebtoken assumes one.
  const payload = decodeJsonObject(parts[1]!, 'payload');
  // RFC 8725 §3.1 / §2.1: `none`, HMAC with a public key as secret, anything not configured.
  if (typeof h.alg !== 'string' || !algorithms.includes(h.alg)) {
    throw new InvalidTokenError('ERR_AUTH_ALGORITHM_UNEXPECTED', 'Unexpected signing algorithm');
  }
  // RFC 7515 §4.1.11: a recipient must reject a JWS whose `crit` lists extensions it does not
  // understand; this verifier understands none.
  if ('crit' in h) throw new InvalidTokenError('ERR_AUTH_HEADER_INVALID', 'Unsupported critical header');
  for (const name of KEY_CARRYING_PARAMS) {
    if (name in h) throw new InvalidTokenError('ERR_AUTH_HEADER_INVALID', `Header parameter ${name} is not accepted`);
  }
  if (h.kid !== undefined && (typeof h.kid !== 'string' || h.kid.length === 0 || h.kid.length > MAX_KID_LENGTH)) {
    throw new InvalidTokenError('ERR_AUTH_HEADER_INVALID', 'Invalid kid');
  }
  // RFC 9068 §4: resource servers must check `typ` is `at+jwt` (explicit typing, RFC 8725 §3.11).
  if (strictRfc9068 && !(typeof h.typ === 'string' && /^(application\/)?at\+jwt$/i.test(h.typ))) {
    throw new InvalidTokenError('ERR_AUTH_TOKEN_TYPE_INVALID', 'Token type must be at+jwt');
  }
  return { header: h as JoseHeader, payload };
}
