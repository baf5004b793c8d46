/**
 * checkJws runs before any key lookup: each hostile shape must be refused with its own code and
 * description (the 401 `invalid_token` the caller sees), and a well-formed token must pass untouched.
 */
import { describe, expect, it } from 'vitest';
import { InvalidTokenError } from './bearer.errors.js';
import { checkJws } from './jwt-header.js';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const jws = (header: unknown, payload: unknown = { sub: 'svc' }) => `${b64(header)}.${b64(payload)}.c2lnbmF0dXJl`;
const RS256 = ['RS256'];

/** The refusal checkJws throws for this token, as the caller's answer would carry it. */
function refusal(token: string, algorithms: readonly string[] = RS256, strict = false): { code: string; description?: string } {
  try {
    checkJws(token, algorithms, strict);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidTokenError);
    const e = err as InvalidTokenError;
    expect(e.getStatus()).toBe(401);
    return { code: e.code, description: e.errorDescription };
  }
  throw new Error('checkJws accepted the token');
}

const MALFORMED = { code: 'ERR_AUTH_TOKEN_MALFORMED', description: 'Malformed token' };

describe('checkJws', () => {
  it('returns_the_decoded_header_and_payload_of_a_well_formed_token', () => {
    const header = { alg: 'RS256', kid: 'key-1', typ: 'JWT' };
    expect(checkJws(jws(header, { iat: 5, sub: 'svc' }), RS256, false)).toEqual({ header, payload: { iat: 5, sub: 'svc' } });
  });

  it('refuses_anything_but_three_base64url_segments_as_malformed', () => {
    const good = jws({ alg: 'RS256' });
    const [h, p, s] = good.split('.');
    expect(refusal(`${h}.${p}`)).toEqual(MALFORMED);
    expect(refusal(`${good}.${s}`)).toEqual(MALFORMED);
    expect(refusal(`${h}.${p}.`)).toEqual(MALFORMED);
    expect(refusal(`.${p}.${s}`)).toEqual(MALFORMED);
    expect(refusal(`${h}.${p}.${s}=`)).toEqual(MALFORMED);
    expect(refusal(`${h}.${p}+.${s}`)).toEqual(MALFORMED);
    expect(refusal(`x${h}.${p}.${s}!`)).toEqual(MALFORMED);
    expect(refusal(`!${h}.${p}.${s}`)).toEqual(MALFORMED);
  });

  it('refuses_a_header_or_payload_that_is_not_a_json_object_naming_which', () => {
    const header = { code: 'ERR_AUTH_TOKEN_MALFORMED', description: 'Malformed token header' };
    const payload = { code: 'ERR_AUTH_TOKEN_MALFORMED', description: 'Malformed token payload' };
    for (const notAnObject of ['not json', '"RS256"', '42', 'null', '["RS256"]']) {
      expect(refusal(`${b64(notAnObject)}.${b64({})}.c2ln`)).toEqual(header);
      expect(refusal(`${b64({ alg: 'RS256' })}.${b64(notAnObject)}.c2ln`)).toEqual(payload);
    }
  });

  it('refuses_none_and_every_algorithm_not_configured', () => {
    const alg = { code: 'ERR_AUTH_ALGORITHM_UNEXPECTED', description: 'Unexpected signing algorithm' };
    expect(refusal(jws({ alg: 'none' }))).toEqual(alg);
    expect(refusal(jws({ alg: 'HS256' }))).toEqual(alg);
    expect(refusal(jws({}))).toEqual(alg);
    expect(refusal(jws({ alg: ['RS256'] }))).toEqual(alg);
    expect(refusal(jws({ alg: 'RS256' }), ['ES256'])).toEqual(alg);
    expect(checkJws(jws({ alg: 'ES256' }), ['RS256', 'ES256'], false).header.alg).toBe('ES256');
  });

  it('refuses_crit_and_every_key_carrying_header_parameter', () => {
    expect(refusal(jws({ alg: 'RS256', crit: ['exp'] }))).toEqual({
      code: 'ERR_AUTH_HEADER_INVALID',
      description: 'Unsupported critical header',
    });
    for (const name of ['jku', 'jwk', 'x5u', 'x5c']) {
      expect(refusal(jws({ alg: 'RS256', [name]: null }))).toEqual({
        code: 'ERR_AUTH_HEADER_INVALID',
        description: `Header parameter ${name} is not accepted`,
      });
    }
    expect(checkJws(jws({ alg: 'RS256', x5t: 'thumbprint' }), RS256, false).header.x5t).toBe('thumbprint');
  });

  it('accepts_a_kid_of_1_to_256_characters_and_refuses_any_other', () => {
    const invalid = { code: 'ERR_AUTH_HEADER_INVALID', description: 'Invalid kid' };
    expect(refusal(jws({ alg: 'RS256', kid: '' }))).toEqual(invalid);
    expect(refusal(jws({ alg: 'RS256', kid: 'k'.repeat(257) }))).toEqual(invalid);
    expect(refusal(jws({ alg: 'RS256', kid: 42 }))).toEqual(invalid);
    expect(refusal(jws({ alg: 'RS256', kid: null }))).toEqual(invalid);
    expect(checkJws(jws({ alg: 'RS256', kid: 'k' }), RS256, false).header.kid).toBe('k');
    expect(checkJws(jws({ alg: 'RS256', kid: 'k'.repeat(256) }), RS256, false).header.kid).toHaveLength(256);
    expect(checkJws(jws({ alg: 'RS256' }), RS256, false).header.kid).toBeUndefined();
  });

  it('requires_typ_at_jwt_only_in_strict_rfc9068_mode', () => {
    const typ = { code: 'ERR_AUTH_TOKEN_TYPE_INVALID', description: 'Token type must be at+jwt' };
    for (const ok of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) {
      expect(checkJws(jws({ alg: 'RS256', typ: ok }), RS256, true).header.typ).toBe(ok);
    }
    for (const bad of ['JWT', 'xat+jwt', 'at+jwtx', 'application/at+jwt2', 'text/at+jwt', 'application/', '']) {
      expect(refusal(jws({ alg: 'RS256', typ: bad }), RS256, true), bad).toEqual(typ);
    }
    expect(refusal(jws({ alg: 'RS256' }), RS256, true)).toEqual(typ);
    expect(refusal(jws({ alg: 'RS256', typ: ['at+jwt'] }), RS256, true)).toEqual(typ);
    expect(checkJws(jws({ alg: 'RS256', typ: 'JWT' }), RS256, false).header.typ).toBe('JWT');
  });
});
