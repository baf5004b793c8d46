/**
 * A `jti` that is not a string (an object, an array, a number) is a bad token when RFC 9068 is
 * enforced, and an ignored claim otherwise — never an unhandled error (a 500), on either platform.
 */
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { TestIssuer } from '../test/test-issuer.js';
import { AuthModule } from './auth.module.js';
import { InvalidTokenError } from './bearer.errors.js';
import { Principal } from './principal.decorator.js';
import type { AuthPrincipal, TokenClaims } from './principal.js';
import { checkClaims } from './token-claims.js';

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

describe.each(['express', 'fastify'] as const)('an object-valued jti through the guard on %s', (platform) => {
  let issuer: TestIssuer;
  let app: INestApplication;

  async function start(strictRfc9068: boolean) {
    issuer = await new TestIssuer().start();
    const moduleRef = await Test.createTestingModule({
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
    }).compile();
    app =
      platform === 'fastify'
        ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
        : moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
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
