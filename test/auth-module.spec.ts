import { Controller, Get, type INestApplication, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthModule, type AuthModuleOptions, type AuthPrincipal, Principal, Public, Scopes, ScopesGuard } from '@nest-m2m/auth';
import { challenge } from './helpers/app.js';
import { listenTestApp } from '../libs/auth/test/nest-app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

@Controller('things')
@UseGuards(AuthGuard('jwt'), ScopesGuard)
@Scopes('things:read')
class ThingsController {
  @Get()
  list(@Principal() principal: AuthPrincipal) {
    return { clientId: principal.clientId, subject: principal.subject, scopes: [...principal.scopes].sort() };
  }

  @Get('admin')
  @Scopes('things:admin')
  admin() {
    return { ok: true };
  }
}

@Controller('open')
class OpenController {
  @Get()
  @Public()
  open() {
    return { ok: true };
  }

  @Get('closed')
  closed() {
    return { ok: true };
  }
}

async function boot(issuer: TestIssuer, options: Partial<AuthModuleOptions> = {}, globalGuards = false): Promise<INestApplication> {
  return listenTestApp({
    imports: [AuthModule.forRoot({ issuer: issuer.issuer, audience: [issuer.audience], realm: 'things', ...options, globalGuards })],
    controllers: [ThingsController, OpenController],
  });
}

describe('AuthModule used as a library with @UseGuards(AuthGuard("jwt"), ScopesGuard)', () => {
  let issuer: TestIssuer;
  let app: INestApplication | undefined;
  const get = (path: string, token?: string) => {
    const r = request(app!.getHttpServer()).get(path);
    return token ? r.set('Authorization', `Bearer ${token}`) : r;
  };

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => issuer.close());

  it('keys_are_found_by_discovery_and_the_principal_is_handed_to_the_handler', async () => {
    app = await boot(issuer);
    const res = await get('/things', issuer.sign(issuer.claims({ scope: 'things:read', permissions: ['extra'] }))).expect(200);
    expect(res.body).toEqual({ clientId: 'caller-app', subject: 'caller-app@clients', scopes: ['extra', 'things:read'] });
  });

  it('class_and_method_scope_requirements_both_apply', async () => {
    app = await boot(issuer);
    const onlyAdmin = await get('/things/admin', issuer.sign(issuer.claims({ scope: 'things:admin' }))).expect(403);
    expect(onlyAdmin.headers['www-authenticate']).toBe(
      challenge({ error: 'insufficient_scope', description: 'Insufficient scope', scope: 'things:admin things:read' }, 'things'),
    );
    await get('/things/admin', issuer.sign(issuer.claims({ scope: 'things:read things:admin' }))).expect(200);
  });

  it('without_global_guards_unguarded_routes_stay_open', async () => {
    app = await boot(issuer);
    await get('/open/closed').expect(200);
  });

  it('global_guards_protect_every_route_except_public_ones', async () => {
    app = await boot(issuer, {}, true);
    await get('/open').expect(200);
    const res = await get('/open/closed').expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge({}, 'things'));
    await get('/open/closed', issuer.sign()).expect(200);
  });

  it('m2m_only_rejects_tokens_that_are_not_client_credentials', async () => {
    app = await boot(issuer, { m2mOnly: true });
    await get('/things', issuer.sign(issuer.claims({ scope: 'things:read' }))).expect(200);
    for (const claims of [{ gty: 'password' }, { sub: 'auth0|user-1' }, { gty: undefined, sub: 'auth0|user-1' }]) {
      const res = await get('/things', issuer.sign(issuer.claims({ scope: 'things:read', ...claims })));
      expect(res.status, JSON.stringify(claims)).toBe(401);
      expect(res.headers['www-authenticate']).toBe(
        challenge({ error: 'invalid_token', description: 'Token was not issued to a machine client' }, 'things'),
      );
    }
    // RFC 9068 shape: sub is the client id itself.
    await get(
      '/things',
      issuer.sign(issuer.claims({ scope: 'things:read', gty: undefined, azp: undefined, sub: 'svc-a', client_id: 'svc-a' })),
    ).expect(200);
  });

  it('the_client_allow_list_admits_only_listed_clients', async () => {
    app = await boot(issuer, { allowedClientIds: ['caller-app'] });
    await get('/things', issuer.sign(issuer.claims({ scope: 'things:read' }))).expect(200);
    const res = await get('/things', issuer.sign(issuer.claims({ scope: 'things:read', azp: 'intruder', sub: 'intruder@clients' }))).expect(
      401,
    );
    expect(res.headers['www-authenticate']).toBe(challenge({ error: 'invalid_token', description: 'Client is not allowed' }, 'things'));
  });

  it('strict_rfc9068_mode_requires_at_jwt_and_its_claims', async () => {
    app = await boot(issuer, { strictRfc9068: true });
    const rfc9068 = issuer.claims({ scope: 'things:read', client_id: 'svc', jti: 'j1', sub: 'svc' });
    await get('/things', issuer.sign(rfc9068, { typ: 'at+jwt' })).expect(200);
    const jwtTyp = await get('/things', issuer.sign(rfc9068, { typ: 'JWT' })).expect(401);
    expect(jwtTyp.headers['www-authenticate']).toBe(
      challenge({ error: 'invalid_token', description: 'Token type must be at+jwt' }, 'things'),
    );
    await get('/things', issuer.sign({ ...rfc9068, jti: undefined }, { typ: 'at+jwt' })).expect(401);
  });

  it('bad_module_options_fail_at_boot_naming_the_option', async () => {
    await expect(boot(issuer, { audience: [] })).rejects.toThrow(
      "An 'audience' (or 'namedAudiences') is required to validate the 'aud' claim",
    );
    await expect(boot(issuer, { algorithms: ['HS256'] })).rejects.toThrow(/'algorithms' accepts only asymmetric/);
    await expect(boot(issuer, { issuer: 'not a url' })).rejects.toThrow(
      "'issuer' must be an https:// URL (http:// only for loopback hosts: localhost, 127.0.0.0/8, [::1])",
    );
  });
});
