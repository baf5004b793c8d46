/**
 * A `jti` that is not a string (an object, an array, a number) is a bad token when RFC 9068 is
 * enforced, and an ignored claim otherwise — never an unhandled error (a 500), on either platform.
 */
import { Controller, Get, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { TestIssuer } from '../test/test-issuer.js';
import { InvalidTokenError } from './bearer.errors.js';
import { Principal } from './principal.decorator.js';
import type { AuthPrincipal, TokenClaims } from './principal.js';
import { checkClaims } from './token-claims.js';
import { listenTestApp } from '../test/nest-app.js';
import { AuthModule } from './auth.module.js';

@Controller('r')
class ClaimsController {
  @Get()
  read(@Principal() caller: AuthPrincipal) {
    return { jti: caller.claims.jti };
  }
}

const now = () => Math.floor(Date.now() / 1000);
// Claims arrive from the wire: `TokenClaims` types `jti` as a string, the token may say otherwise.
const rfc9068 = (jti: unknown) => ({ client_id: 'c', sub: 'c', iat: now(), exp: now() + 60, jti }) as unknown as TokenClaims;

describe('checkClaims with a jti that is not a string', () => {
  it.each([[{ $ne: null }], [['a', 'b']], [42], [null]])('strict_rfc9068_refuses_jti %j as invalid_token', (jti) => {
    expect(() => checkClaims(rfc9068(jti), { strictRfc9068: true })).toThrow(InvalidTokenError);
    expect(() => checkClaims(rfc9068(jti), { strictRfc9068: true })).toThrow('Token lacks a claim required by RFC 9068');
  });

  it('without_strict_mode_a_non_string_jti_is_not_checked', () => {
    expect(() => checkClaims(rfc9068({ $ne: null }), {})).not.toThrow();
  });
});

/** The refusal checkClaims throws for these claims and this policy, as the 401 carries it. */
function refusal(claims: Record<string, unknown>, policy: Parameters<typeof checkClaims>[1] = {}): [string, string | undefined] {
  try {
    checkClaims(claims as TokenClaims, policy);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidTokenError);
    return [(err as InvalidTokenError).code, (err as InvalidTokenError).errorDescription];
  }
  throw new Error('checkClaims accepted the claims');
}

describe('checkClaims rules', () => {
  const exp = now() + 60;

  it('requires_a_finite_numeric_exp', () => {
    const noExp: [string, string] = ['ERR_AUTH_CLAIMS_INVALID', 'Token has no valid exp claim'];
    expect(refusal({})).toEqual(noExp);
    expect(refusal({ exp: String(exp) })).toEqual(noExp);
    expect(refusal({ exp: Infinity })).toEqual(noExp);
    expect(refusal({ exp: NaN })).toEqual(noExp);
    expect(() => checkClaims({ exp }, {})).not.toThrow();
  });

  it('accepts_no_iat_or_a_finite_numeric_one', () => {
    const badIat: [string, string] = ['ERR_AUTH_CLAIMS_INVALID', 'Invalid iat claim'];
    expect(refusal({ exp, iat: String(now()) })).toEqual(badIat);
    expect(refusal({ exp, iat: -Infinity })).toEqual(badIat);
    expect(refusal({ exp, iat: null })).toEqual(badIat);
    expect(() => checkClaims({ exp, iat: now() }, {})).not.toThrow();
  });

  it('accepts_no_sub_or_a_string_one', () => {
    expect(refusal({ exp, sub: 42 })).toEqual(['ERR_AUTH_CLAIMS_INVALID', 'Invalid sub claim']);
    expect(refusal({ exp, sub: null })).toEqual(['ERR_AUTH_CLAIMS_INVALID', 'Invalid sub claim']);
    expect(() => checkClaims({ exp, sub: 'svc' }, {})).not.toThrow();
  });

  it('strict_rfc9068_requires_client_id_jti_sub_and_iat_each', () => {
    const full = { exp, client_id: 'c', jti: 'j', sub: 'c', iat: now() };
    const lacks: [string, string] = ['ERR_AUTH_CLAIMS_INVALID', 'Token lacks a claim required by RFC 9068'];
    expect(() => checkClaims(full, { strictRfc9068: true })).not.toThrow();
    for (const name of ['client_id', 'jti', 'sub', 'iat'] as const) {
      const { [name]: _dropped, ...rest } = full;
      expect(refusal(rest, { strictRfc9068: true }), name).toEqual(lacks);
      expect(() => checkClaims(rest, { strictRfc9068: false }), name).not.toThrow();
    }
    expect(refusal({ ...full, client_id: 7 }, { strictRfc9068: true })).toEqual(lacks);
  });

  it('m2m_only_accepts_auth0_client_credentials_and_standards_client_tokens_only', () => {
    const notM2M: [string, string] = ['ERR_AUTH_NOT_M2M', 'Token was not issued to a machine client'];
    const m2mOnly = { m2mOnly: true };
    // Auth0: gty client-credentials and a `<client_id>@clients` subject.
    expect(() => checkClaims({ exp, gty: 'client-credentials', sub: 'svc@clients' }, m2mOnly)).not.toThrow();
    expect(refusal({ exp, gty: 'password', sub: 'svc@clients' }, m2mOnly)).toEqual(notM2M);
    expect(refusal({ exp, gty: 'client-credentials', sub: 'auth0|user' }, m2mOnly)).toEqual(notM2M);
    // A gty decides, even beside a client_id that matches sub.
    expect(refusal({ exp, gty: 'password', sub: 'svc', client_id: 'svc' }, m2mOnly)).toEqual(notM2M);
    // Standards issuers (RFC 9068 §2.2): sub is the client id.
    expect(() => checkClaims({ exp, sub: 'svc', client_id: 'svc' }, m2mOnly)).not.toThrow();
    expect(refusal({ exp, sub: 'user-1', client_id: 'svc' }, m2mOnly)).toEqual(notM2M);
    expect(refusal({ exp, sub: 'svc' }, m2mOnly)).toEqual(notM2M);
    expect(refusal({ exp }, m2mOnly)).toEqual(notM2M);
    // Without m2mOnly, a user's token passes.
    expect(() => checkClaims({ exp, gty: 'password', sub: 'auth0|user' }, { m2mOnly: false })).not.toThrow();
  });

  it('allowed_client_ids_admits_only_the_listed_clients', () => {
    const notAllowed: [string, string] = ['ERR_AUTH_CLIENT_NOT_ALLOWED', 'Client is not allowed'];
    const policy = { allowedClientIds: ['svc-a', 'svc-b'] };
    expect(() => checkClaims({ exp, azp: 'svc-b' }, policy)).not.toThrow();
    expect(() => checkClaims({ exp, sub: 'svc-a@clients' }, policy)).not.toThrow();
    expect(refusal({ exp, azp: 'svc-c' }, policy)).toEqual(notAllowed);
    expect(refusal({ exp }, policy)).toEqual(notAllowed);
    // An empty list restricts nothing.
    expect(() => checkClaims({ exp, azp: 'anyone' }, { allowedClientIds: [] })).not.toThrow();
  });
});

describe.each(['express', 'fastify'] as const)('an object-valued jti through the guard on %s', (platform) => {
  let issuer: TestIssuer;
  let app: INestApplication;

  async function start(strictRfc9068: boolean) {
    issuer = await new TestIssuer().start();
    app = await listenTestApp(
      {
        imports: [
          AuthModule.forRoot({
            issuer: issuer.issuer,
            audience: issuer.audience,
            jwksUri: issuer.jwksUri,
            strictRfc9068,
            globalGuards: true,
          }),
        ],
        controllers: [ClaimsController],
      },
      platform,
    );
  }
  afterEach(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('strict_mode_answers_401_invalid_token_not_500', async () => {
    await start(true);
    const token = issuer.sign(issuer.claims({ client_id: 'c', sub: 'c', jti: { $ne: null } }), { typ: 'at+jwt' });
    const res = await request(app.getHttpServer()).get('/r').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('default_mode_accepts_the_token_and_hands_the_claim_over_as_signed', async () => {
    await start(false);
    const token = issuer.sign(issuer.claims({ jti: { nested: ['x'] } }));
    const res = await request(app.getHttpServer()).get('/r').set('Authorization', `Bearer ${token}`).expect(200);
    expect(res.body).toEqual({ jti: { nested: ['x'] } });
  });
});
