/**
 * JwtAuthGuard's fast path: tokens in the verified-token cache are answered without passport, and
 * that must change nothing a caller can observe. Run on both HTTP platforms.
 */
import { Controller, Delete, Get, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TestIssuer } from '../test/test-issuer.js';
import { JwtStrategy } from './jwt.strategy.js';
import { Principal } from './principal.decorator.js';
import type { AuthPrincipal } from './principal.js';
import { Scopes } from './scopes.decorator.js';
import { VerifiedTokenCache } from './verified-token.cache.js';
import { listenTestApp } from '../test/nest-app.js';
import { AuthModule } from './auth.module.js';

@Controller('r')
class RoutesController {
  @Get('read')
  @Scopes('read:documents')
  read(@Principal() caller: AuthPrincipal) {
    return { clientId: caller.clientId };
  }

  @Delete('delete')
  @Scopes('delete:documents')
  remove() {
    return { ok: true };
  }
}

describe.each(['express', 'fastify'] as const)('JwtAuthGuard fast path on %s', (platform) => {
  let issuer: TestIssuer;
  let app: INestApplication;
  const http = () => request(app.getHttpServer());
  const bearer = (token: string) => `Bearer ${token}`;
  /** The module's clock: real time plus what a test adds. */
  let skewMs = 0;

  beforeEach(async () => {
    skewMs = 0;
    issuer = await new TestIssuer().start();
    app = await listenTestApp(
      {
        imports: [
          AuthModule.forRoot({
            issuer: issuer.issuer,
            audience: issuer.audience,
            jwksUri: issuer.jwksUri,
            clockToleranceSeconds: 0,
            clock: { now: () => Date.now() + skewMs },
            globalGuards: true,
          }),
        ],
        controllers: [RoutesController],
      },
      platform,
    );
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await issuer?.close();
  });

  it('a_cached_token_skips_passport_and_hands_the_same_principal_to_the_handler', async () => {
    const token = issuer.sign();
    await http().get('/r/read').set('Authorization', bearer(token)).expect(200, { clientId: 'caller-app' });
    expect(app.get(VerifiedTokenCache).size).toBe(1);
    const authenticate = vi.spyOn(app.get(JwtStrategy), 'authenticate');
    await http().get('/r/read').set('Authorization', bearer(token)).expect(200, { clientId: 'caller-app' });
    expect(authenticate).not.toHaveBeenCalled();
  });

  it('a_cached_token_still_has_its_scopes_checked_on_every_route', async () => {
    const token = issuer.sign();
    await http().get('/r/read').set('Authorization', bearer(token)).expect(200);
    const res = await http().delete('/r/delete').set('Authorization', bearer(token)).expect(403);
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(res.headers['www-authenticate']).toContain('scope="delete:documents"');
  });

  it('a_cached_entry_is_refused_once_its_token_expires', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = issuer.sign(issuer.claims({ exp }));
    await http().get('/r/read').set('Authorization', bearer(token)).expect(200);
    skewMs = exp * 1000 - Date.now(); // the module's clock reaches exp
    const res = await http().get('/r/read').set('Authorization', bearer(token)).expect(401);
    expect(res.headers['www-authenticate']).toContain('error_description="Token expired"');
  });

  it('a_cached_entry_is_refused_once_its_key_leaves_the_jwks', async () => {
    const old = issuer.sign();
    await http().get('/r/read').set('Authorization', bearer(old)).expect(200);
    issuer.rotate({ keepOld: false });
    // The first token with the new kid makes the service refetch the JWKS and notice the removal.
    await http().get('/r/read').set('Authorization', bearer(issuer.sign())).expect(200);
    const res = await http().get('/r/read').set('Authorization', bearer(old)).expect(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('a_token_verified_without_a_kid_is_dropped_with_the_key_that_verified_it', async () => {
    const noKid = issuer.sign(issuer.claims(), { kid: undefined });
    await http().get('/r/read').set('Authorization', bearer(noKid)).expect(200);
    issuer.rotate({ keepOld: false });
    await http().get('/r/read').set('Authorization', bearer(issuer.sign())).expect(200);
    // The JWKS now holds one new key: the kid-less token is checked against it and fails.
    await http().get('/r/read').set('Authorization', bearer(noKid)).expect(401);
  });

  it('refusals_on_the_fast_path_keep_their_typed_answers', async () => {
    const missing = await http().get('/r/read').expect(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
    const t = issuer.sign();
    await http().get('/r/read').set('Authorization', bearer(t)).expect(200);
    const twice = await http().get('/r/read').set('Authorization', `Bearer ${t} ${t}`).expect(400);
    expect(twice.headers['www-authenticate']).toContain('error="invalid_request"');
    await http().get(`/r/read?access_token=${t}`).set('Authorization', bearer(t)).expect(400);
  });
});
