import jwt from 'jsonwebtoken';
import { BearerError, InvalidTokenError, MissingTokenError } from './bearer.errors.js';

/**
 * Maps whatever passport-jwt hands to `fail()` (jsonwebtoken's errors, our own) to a BearerError.
 * Descriptions are fixed strings: jsonwebtoken's messages echo the expected audience or issuer,
 * which is configuration an attacker need not learn.
 */
export function toBearerError(info: unknown): BearerError {
  if (info instanceof BearerError) return info;
  if (info instanceof jwt.TokenExpiredError) return new InvalidTokenError('ERR_AUTH_TOKEN_EXPIRED', 'Token expired');
  if (info instanceof jwt.NotBeforeError) return new InvalidTokenError('ERR_AUTH_TOKEN_NOT_YET_VALID', 'Token not yet valid');
  if (info instanceof jwt.JsonWebTokenError) {
    const m = info.message;
    if (m.startsWith('jwt audience invalid')) return new InvalidTokenError('ERR_AUTH_AUDIENCE_INVALID', 'Invalid audience');
    if (m.startsWith('jwt issuer invalid')) return new InvalidTokenError('ERR_AUTH_ISSUER_INVALID', 'Invalid issuer');
    if (m === 'invalid signature') return new InvalidTokenError('ERR_AUTH_SIGNATURE_INVALID', 'Invalid signature');
    if (m === 'invalid algorithm' || m === 'jwt signature is required' || m.includes('must be a') || m.includes('Algorithm')) {
      return new InvalidTokenError('ERR_AUTH_ALGORITHM_UNEXPECTED', 'Unexpected signing algorithm');
    }
    if (m.startsWith('invalid exp') || m.startsWith('invalid nbf') || m.startsWith('iat required') || m.startsWith('maxAge')) {
      return new InvalidTokenError('ERR_AUTH_CLAIMS_INVALID', 'Invalid time claims');
    }
    return new InvalidTokenError('ERR_AUTH_TOKEN_MALFORMED', 'Malformed token');
  }
  if (info instanceof Error && info.message === 'No auth token') return new MissingTokenError();
  return new InvalidTokenError('ERR_AUTH_TOKEN_MALFORMED', 'Invalid token');
}
