/**
 * ScopesGuard's answers over HTTP: every scope listed on the class and the method is required (403
 * `insufficient_scope` naming them all), a route without `@Scopes()` needs none, and a request that
 * reaches it without a principal is a 401 — also when the app's own guard, not JwtAuthGuard, sets
 * the user.
 */
import { type CanActivate, Controller, type ExecutionContext, Get, type INestApplication, Injectable, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../test/test-issuer.js';
import { AuthModule } from './auth.module.js';
import { Public } from './public.decorator.js';
import { Scopes } from './scopes.decorator.js';
import { ScopesGuard } from './scopes.guard.js';
import { listenTestApp } from '../test/nest-app.js';

@Controller('docs')
@Scopes('read:documents')
class DocumentsController {
  @Get('read')
  read() {
    return { ok: 'read' };
  }

  @Get('write')
  @Scopes('write:documents', 'audit:log')
  write() {
    return { ok: 'write' };
  }

  @Get('open')
  @Public()
  open() {
    return { ok: 'open' };
  }
}

@Controller('plain')
class PlainController {
  @Get()
  plain() {
    return { ok: 'plain' };
  }
}

/** An app's own authentication: the user it sets is what the `x-user` header says (JSON; a `scopes` array becomes a Set). */
@Injectable()
class HeaderUserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; user?: unknown }>();
    if (req.headers['x-user'] === undefined) return true;
    const user = JSON.parse(req.headers['x-user']) as { scopes?: unknown };
    req.user = Array.isArray(user.scopes) ? { ...user, scopes: new Set(user.scopes) } : user;
    return true;
  }
}

@Controller('own')
@UseGuards(HeaderUserGuard, ScopesGuard)
class OwnAuthController {
  @Get()
  @Scopes('read:documents')
  read() {
    return { ok: 'own' };
  }

  @Get('unscoped')
  unscoped() {
    return { ok: 'unscoped' };
  }
}

describe('ScopesGuard', () => {
  let issuer: TestIssuer;
  let app: INestApplication;
  const get = (path: string, scope?: string, extra: Record<string, unknown> = {}) =>
    request(app.getHttpServer())
      .get(path)
      .set('Authorization', `Bearer ${issuer.sign(issuer.claims({ scope, ...extra }))}`);

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    app = await listenTestApp({
      imports: [AuthModule.forRoot({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, globalGuards: true })],
      controllers: [DocumentsController, PlainController],
    });
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('requires_every_scope_of_the_class_and_the_method_and_names_them_all_in_the_403', async () => {
    await get('/docs/write', 'read:documents write:documents audit:log').expect(200, { ok: 'write' });
    for (const scope of ['write:documents audit:log', 'read:documents write:documents', 'read:documents audit:log', undefined]) {
      const res = await get('/docs/write', scope).expect(403);
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="write:documents audit:log read:documents"',
      );
    }
  });

  it('takes_auth0_permissions_as_scopes_and_matches_them_exactly', async () => {
    await get('/docs/read', undefined, { permissions: ['read:documents'] }).expect(200, { ok: 'read' });
    for (const scope of ['read:document', 'read:documents:all', 'READ:DOCUMENTS', 'read:documents,write:documents']) {
      await get('/docs/read', scope).expect(403);
    }
  });

  it('a_route_without_scopes_needs_only_a_valid_token_and_a_public_one_not_even_that', async () => {
    await get('/plain').expect(200, { ok: 'plain' });
    await request(app.getHttpServer()).get('/plain').expect(401);
    await request(app.getHttpServer()).get('/docs/open').expect(200, { ok: 'open' });
  });
});

describe('ScopesGuard behind an app’s own authentication', () => {
  let app: INestApplication;
  const get = (path: string, user?: unknown) => {
    const req = request(app.getHttpServer()).get(path);
    return user === undefined ? req : req.set('x-user', JSON.stringify(user));
  };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      // For BearerErrorFilter (the RFC 6750 answers); no global guards: the controller chooses its own.
      imports: [AuthModule.forRoot({ issuer: 'http://127.0.0.1:9/', audience: 'https://api.test.local' })],
      controllers: [OwnAuthController],
      providers: [HeaderUserGuard],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a_scoped_route_reached_without_a_user_is_401_without_an_error_code', async () => {
    const res = await get('/own').expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    await get('/own/unscoped').expect(200, { ok: 'unscoped' });
  });

  it('reads_the_scopes_from_the_claims_when_the_user_carries_no_scope_set', async () => {
    await get('/own', { claims: { scope: 'read:documents' } }).expect(200, { ok: 'own' });
    await get('/own', { claims: { permissions: ['read:documents'] } }).expect(200);
    const res = await get('/own', {}).expect(403);
    expect(res.headers['www-authenticate']).toContain('scope="read:documents"');
  });

  it('a_user_with_a_scope_set_is_judged_by_that_set_alone', async () => {
    await get('/own', { scopes: ['read:documents'], claims: { scope: 'other' } }).expect(200, { ok: 'own' });
    await get('/own', { scopes: ['other'], claims: { scope: 'read:documents' } }).expect(403);
  });
});
