/**
 * JwtStrategy's defaults and limits as a caller meets them: the clock tolerance applied to `exp`
 * when none is configured, and the token size limit, each at its edge.
 */
import { Controller, Get, type INestApplication, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../test/test-issuer.js';
import { AuthEvents } from './auth.events.js';
import type { AuthModuleOptions } from './auth.options.js';
import { Principal } from './principal.decorator.js';
import type { AuthPrincipal } from './principal.js';
import { VerifiedTokenCache } from './verified-token.cache.js';
import { listenTestApp } from '../test/nest-app.js';
import { AuthModule } from './auth.module.js';

@Controller('r')
class RoutesController {
  @Get()
  read() {
    return { ok: true };
  }
}

/** The strategy under passport's own guard, as `@UseGuards(AuthGuard('jwt'))` uses it (no JwtAuthGuard fast path). */
@Controller('p')
@UseGuards(AuthGuard('jwt'))
class PassportController {
  @Get()
  read(@Principal() caller: AuthPrincipal) {
    return { clientId: caller.clientId, scopes: [...caller.scopes] };
  }
}

describe('JwtStrategy defaults and limits', () => {
  let issuer: TestIssuer;
  let app: INestApplication | undefined;
  let now = Date.now();
  const seconds = () => Math.floor(now / 1000);
  const call = (authorization: string) => request(app!.getHttpServer()).get('/r').set('Authorization', authorization);
  const description = (res: { headers: Record<string, string> }) =>
    /error_description="([^"]*)"/.exec(res.headers['www-authenticate'] ?? '')?.[1];

  async function boot(options: Partial<AuthModuleOptions> = {}): Promise<void> {
    app = await listenTestApp({
      imports: [
        AuthModule.forRoot({
          issuer: issuer.issuer,
          audience: issuer.audience,
          jwksUri: issuer.jwksUri,
          clock: { now: () => now },
          globalGuards: true,
          ...options,
        }),
      ],
      controllers: [RoutesController],
    });
  }

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    now = Date.now();
  });
  afterAll(async () => issuer?.close());

  it('accepts_a_token_up_to_5_seconds_past_its_exp_when_no_tolerance_is_configured', async () => {
    await boot();
    const exp = seconds();
    // Fresh tokens each time: a verified token would be answered from the cache.
    now = (exp + 4) * 1000;
    await call(`Bearer ${issuer.sign(issuer.claims({ iat: exp - 60, exp }))}`).expect(200);
    now = (exp + 6) * 1000;
    const res = await call(`Bearer ${issuer.sign(issuer.claims({ iat: exp - 60, exp, jti: 'second' }))}`).expect(401);
    expect(description(res)).toBe('Token expired');
  });

  it('only_a_numeric_iat_lets_an_unknown_kid_be_refused_without_a_jwks_fetch', async () => {
    await boot();
    await call(`Bearer ${issuer.sign(issuer.claims({ iat: seconds(), exp: seconds() + 3600 }))}`).expect(200);
    issuer.rotate({ keepOld: true });
    now += 60_000;
    const fetches = issuer.jwksFetches;
    // Issued before the last fetch: its kid cannot be a key published since, and costs no fetch.
    const before = await call(`Bearer ${issuer.sign(issuer.claims({ iat: seconds() - 120, exp: seconds() + 3600 }))}`).expect(401);
    expect(description(before)).toBe('Unknown signing key');
    expect(issuer.jwksFetches).toBe(fetches);
    // A string is no iat (read as a number, '5' would date the token to 1970, before the fetch): the
    // kid may be new, so the JWKS is fetched, the key found, and the token refused for its iat.
    const stringIat = await call(`Bearer ${issuer.sign(issuer.claims({ iat: '5', exp: seconds() + 3600 }))}`).expect(401);
    expect(description(stringIat)).toBe('Invalid iat claim');
    expect(issuer.jwksFetches).toBe(fetches + 1);
  });

  it('refuses_a_token_over_8192_characters_as_too_large_before_reading_it', async () => {
    await boot();
    const rejected: string[] = [];
    app!.get(AuthEvents).on({ rejected: (code) => rejected.push(code) });
    expect(description(await call(`Bearer ${'a'.repeat(8193)}`).expect(401))).toBe('Token too large');
    expect(rejected).toEqual(['ERR_AUTH_TOKEN_MALFORMED']);
    // At the limit the token is read, and refused for what it is.
    expect(description(await call(`Bearer ${'a'.repeat(8192)}`).expect(401))).toBe('Malformed token');
    await call(`Bearer ${issuer.sign()}`).expect(200);
  });

  it('takes_the_configured_size_limit', async () => {
    await boot({ maxTokenLength: 10 });
    expect(description(await call(`Bearer ${'a'.repeat(11)}`).expect(401))).toBe('Token too large');
    expect(description(await call(`Bearer ${'a'.repeat(10)}`).expect(401))).toBe('Malformed token');
  });
});

describe('JwtStrategy under a plain AuthGuard("jwt")', () => {
  let issuer: TestIssuer;
  let app: INestApplication;
  const call = (authorization?: string) => {
    const r = request(app.getHttpServer()).get('/p');
    return authorization === undefined ? r : r.set('Authorization', authorization);
  };

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    app = await listenTestApp({
      imports: [AuthModule.forRoot({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri })],
      controllers: [PassportController],
    });
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('answers_a_verified_token_from_the_cache_with_the_same_principal', async () => {
    const token = issuer.sign(issuer.claims({ scope: 'read:documents' }));
    const body = { clientId: 'caller-app', scopes: ['read:documents'] };
    await call(`Bearer ${token}`).expect(200, body);
    expect(app.get(VerifiedTokenCache).size).toBe(1);
    await call(`Bearer ${token}`).expect(200, body);
    await call(`Bearer ${token}`).expect(200, body);
  });

  it('refuses_requests_without_a_usable_token_with_their_typed_answers', async () => {
    expect((await call().expect(401)).headers['www-authenticate']).toBe('Bearer realm="api"');
    const token = issuer.sign();
    const twice = await call(`Bearer ${token} ${token}`).expect(400);
    expect(twice.headers['www-authenticate']).toContain('error="invalid_request"');
    const bad = await call(`Bearer ${issuer.sign(issuer.claims({ aud: 'https://elsewhere.test.local' }))}`).expect(401);
    expect(bad.headers['www-authenticate']).toContain('error="invalid_token"');
  });
});
