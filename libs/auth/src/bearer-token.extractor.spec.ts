/**
 * The Authorization header is the only place a token is read from (RFC 6750 §2.1, RFC 9449 §7.1):
 * what each header shape yields — credentials, "no credentials" (a 401 without an error code), or a
 * 400 `invalid_request` — on the request shapes of both platforms (Node's rawHeaders, Fastify's raw).
 */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from './bearer.errors.js';
import { accessCredentials, assertB64Token, assertNoAccessTokenParameter } from './bearer-token.extractor.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMifQ.c2ln';
const req = (authorization?: string | string[], extra: Record<string, unknown> = {}) => ({
  headers: { authorization },
  ...extra,
});

/** The 400 `invalid_request` description thrown by `run`. */
function badRequest(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as InvalidRequestError).getStatus()).toBe(400);
    return (err as InvalidRequestError).errorDescription;
  }
  throw new Error('no InvalidRequestError was thrown');
}

const SEVERAL = 'More than one Authorization header';
const PARAMETER = 'Access tokens are accepted only in the Authorization header';

describe('accessCredentials', () => {
  it('reads_the_bearer_scheme_case_insensitively_and_the_rest_of_the_header_as_the_token', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect(accessCredentials(req(`${scheme} ${TOKEN}`), false)).toEqual({ scheme: 'Bearer', token: TOKEN });
    }
    // The syntax of what follows the scheme is left to assertB64Token.
    expect(accessCredentials(req(`Bearer ${TOKEN} ${TOKEN}`), false)).toEqual({ scheme: 'Bearer', token: `${TOKEN} ${TOKEN}` });
    expect(accessCredentials(req('Bearer'), false)).toEqual({ scheme: 'Bearer', token: '' });
    expect(accessCredentials(req('Bearer '), false)).toEqual({ scheme: 'Bearer', token: '' });
  });

  it('reads_the_dpop_scheme_only_when_dpop_is_enabled', () => {
    for (const scheme of ['DPoP', 'dpop', 'DPOP']) {
      expect(accessCredentials(req(`${scheme} ${TOKEN}`), true)).toEqual({ scheme: 'DPoP', token: TOKEN });
      expect(accessCredentials(req(`${scheme} ${TOKEN}`), false)).toBeUndefined();
    }
    expect(accessCredentials(req(`Bearer ${TOKEN}`), true)).toEqual({ scheme: 'Bearer', token: TOKEN });
  });

  it('answers_no_credentials_for_no_header_and_for_other_schemes', () => {
    expect(accessCredentials(req(), true)).toBeUndefined();
    // Among them schemes as long as Bearer (6) and DPoP (4).
    for (const header of [
      `Basic ${TOKEN}`,
      `Digest ${TOKEN}`,
      `HOBA ${TOKEN}`,
      `Bearerx ${TOKEN}`,
      `Beare ${TOKEN}`,
      `DPoPx ${TOKEN}`,
      `DPo ${TOKEN}`,
      TOKEN,
      '',
      ' Bearer x',
    ]) {
      expect(accessCredentials(req(header), true), header).toBeUndefined();
    }
  });

  it('refuses_several_authorization_headers_on_either_platform', () => {
    const raw = ['Host', 'api', 'Authorization', `Bearer ${TOKEN}`, 'authorization', `Bearer ${TOKEN}`];
    // Node keeps the first Authorization in `headers`; the others show in rawHeaders only.
    expect(badRequest(() => accessCredentials(req(`Bearer ${TOKEN}`, { rawHeaders: raw }), false))).toBe(SEVERAL);
    // Fastify: the Node request is `raw`.
    expect(badRequest(() => accessCredentials(req(`Bearer ${TOKEN}`, { raw: { rawHeaders: raw } }), false))).toBe(SEVERAL);
    expect(badRequest(() => accessCredentials(req([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]), false))).toBe(SEVERAL);
    // One Authorization among other 13-character header names is one.
    const one = ['Authorization', `Bearer ${TOKEN}`, 'Cache-Control', 'no-cache', 'Authorizatio', 'x', 'Authorizationx', 'y'];
    expect(accessCredentials(req(`Bearer ${TOKEN}`, { rawHeaders: one }), false)).toEqual({ scheme: 'Bearer', token: TOKEN });
    expect(accessCredentials(req(`Bearer ${TOKEN}`, { raw: { rawHeaders: one } }), false)).toEqual({ scheme: 'Bearer', token: TOKEN });
  });

  it('counts_authorization_names_not_values_in_raw_headers', () => {
    // A header whose value is "Authorization" is not an Authorization header.
    const raw = ['Authorization', `Bearer ${TOKEN}`, 'X-Note', 'Authorization'];
    expect(accessCredentials(req(`Bearer ${TOKEN}`, { rawHeaders: raw }), false)).toEqual({ scheme: 'Bearer', token: TOKEN });
  });

  it('refuses_a_token_offered_in_the_query_or_the_body_even_beside_the_header', () => {
    expect(badRequest(() => accessCredentials(req(`Bearer ${TOKEN}`, { query: { access_token: TOKEN } }), false))).toBe(PARAMETER);
    expect(badRequest(() => accessCredentials(req(undefined, { body: { access_token: TOKEN } }), false))).toBe(PARAMETER);
    expect(accessCredentials(req(`Bearer ${TOKEN}`, { query: { token: TOKEN }, body: { other: 1 } }), false)).toEqual({
      scheme: 'Bearer',
      token: TOKEN,
    });
  });
});

describe('assertNoAccessTokenParameter', () => {
  it('refuses_an_own_access_token_property_only', () => {
    expect(badRequest(() => assertNoAccessTokenParameter({ access_token: undefined }))).toBe(PARAMETER);
    for (const fine of [undefined, null, 'access_token=x', Object.create({ access_token: 'inherited' }), {}]) {
      expect(() => assertNoAccessTokenParameter(fine)).not.toThrow();
    }
  });
});

describe('assertB64Token', () => {
  const MALFORMED = 'Malformed Authorization header: expected exactly one bearer token';

  it('accepts_one_rfc_6750_b64token', () => {
    for (const token of [TOKEN, 'a', 'A-._~+/z', 'abc=', 'abc==', '0']) expect(() => assertB64Token(token)).not.toThrow();
  });

  it('refuses_an_empty_token_two_tokens_and_characters_outside_b64token', () => {
    for (const token of ['', `${TOKEN} ${TOKEN}`, ' a', 'a ', 'a=b', '=', 'a!', '!a', 'a\tb', 'é']) {
      expect(
        badRequest(() => assertB64Token(token)),
        JSON.stringify(token),
      ).toBe(MALFORMED);
    }
  });
});
