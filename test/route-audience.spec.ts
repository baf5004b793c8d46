/**
 * Per-API audience (`@Audience()`): one service hosting two APIs accepts, on each route, only the
 * tokens minted for that route's API — a token for the audit API does not open the documents API,
 * although both audiences are configured for the service.
 */
import { Controller, Get, type INestApplication, Module, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Audience, AuthModule, type AuthModuleOptions, Public, Scopes, ScopesGuard } from '@nest-m2m/auth';
import { appOnTestIssuer, challenge } from './helpers/app.js';
import { listenTestApp } from '../libs/auth/test/nest-app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

const DOCUMENTS = 'https://documents.test.local';
const AUDIT = 'https://audit.test.local';
const REPORTS = 'https://reports.test.local';

@Controller('documents')
@Audience('documents')
class DocumentsController {
  @Get()
  @Scopes('read:documents')
  list() {
    return { api: 'documents' };
  }

  /** A method's @Audience replaces its class's. */
  @Get('shared')
  @Audience('documents', 'audit')
  shared() {
    return { api: 'shared' };
  }

  @Get('public')
  @Public()
  open() {
    return { api: 'public' };
  }
}

@Controller('audit')
@Audience('audit')
class AuditController {
  @Get()
  list() {
    return { api: 'audit' };
  }
}

/** A literal audience listed in `audience`, rather than a name. */
@Controller('reports')
class ReportsController {
  @Get()
  @Audience(REPORTS)
  list() {
    return { api: 'reports' };
  }

  @Get('any')
  any() {
    return { api: 'any' };
  }
}

/** Guards by class in a module that does not import AuthModule (the usual feature-module layout). */
@Controller('feature')
@UseGuards(AuthGuard('jwt'), ScopesGuard)
@Audience('audit')
class FeatureController {
  @Get()
  list() {
    return { api: 'feature' };
  }
}

@Module({ controllers: [FeatureController] })
class FeatureModule {}

const options = (issuer: TestIssuer): AuthModuleOptions => ({
  issuer: issuer.issuer,
  audience: [REPORTS],
  namedAudiences: { documents: DOCUMENTS, audit: [AUDIT] },
  realm: 'apis',
});

async function boot(issuer: TestIssuer, overrides: Partial<AuthModuleOptions> = {}, globalGuards = true) {
  return listenTestApp({
    imports: [AuthModule.forRoot({ ...options(issuer), ...overrides, globalGuards }), FeatureModule],
    controllers: [DocumentsController, AuditController, ReportsController],
  });
}

describe('@Audience(): each API of a service accepts only its own tokens', () => {
  let issuer: TestIssuer;
  let app: INestApplication | undefined;
  const tokenFor = (aud: string | string[], scope = 'read:documents') => issuer.sign(issuer.claims({ aud, scope }));
  const get = (path: string, token: string) => request(app!.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => issuer.close());

  it('a_token_for_the_audit_api_is_refused_by_the_documents_api_with_401_invalid_token', async () => {
    app = await boot(issuer);
    const res = await get('/documents', tokenFor(AUDIT)).expect(401);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'invalid_token', description: 'Audience not accepted by this API' }, 'apis'),
    );
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Audience not accepted by this API' });
    await get('/audit', tokenFor(AUDIT)).expect(200, { api: 'audit' });
  });

  it('each_api_accepts_its_own_token_and_one_value_of_a_multi_audience_token_is_enough', async () => {
    app = await boot(issuer);
    await get('/documents', tokenFor(DOCUMENTS)).expect(200, { api: 'documents' });
    await get('/audit', tokenFor(DOCUMENTS)).expect(401);
    await get('/documents', tokenFor([REPORTS, DOCUMENTS])).expect(200);
  });

  it('the_audience_is_checked_before_the_scopes', async () => {
    app = await boot(issuer);
    // A wrong-API token without the scope is a 401 (wrong token), not a 403 (right token, too few rights).
    await get('/documents', tokenFor(AUDIT, 'write:audit')).expect(401);
    await get('/documents', tokenFor(DOCUMENTS, 'write:audit')).expect(403);
  });

  it('a_method_audience_replaces_the_class_audience', async () => {
    app = await boot(issuer);
    await get('/documents/shared', tokenFor(AUDIT)).expect(200, { api: 'shared' });
    await get('/documents/shared', tokenFor(DOCUMENTS)).expect(200);
    await get('/documents/shared', tokenFor(REPORTS)).expect(401);
  });

  it('a_literal_audience_from_the_audience_option_and_routes_without_the_decorator', async () => {
    app = await boot(issuer);
    await get('/reports', tokenFor(REPORTS)).expect(200, { api: 'reports' });
    await get('/reports', tokenFor(DOCUMENTS)).expect(401);
    // No @Audience: every configured audience, named ones included.
    for (const aud of [REPORTS, DOCUMENTS, AUDIT]) await get('/reports/any', tokenFor(aud)).expect(200);
    await get('/reports/any', tokenFor('https://elsewhere.test.local')).expect(401);
  });

  it('a_public_route_ignores_its_class_audience', async () => {
    app = await boot(issuer);
    await request(app.getHttpServer()).get('/documents/public').expect(200, { api: 'public' });
  });

  it('the_scopes_guard_enforces_it_in_a_feature_module_that_does_not_import_auth_module', async () => {
    app = await boot(issuer, {}, false); // no global guards: only the feature module's @UseGuards
    await get('/feature', tokenFor(DOCUMENTS)).expect(401);
    await get('/feature', tokenFor(AUDIT)).expect(200, { api: 'feature' });
  });

  it('cached_tokens_are_checked_per_route_too', async () => {
    app = await boot(issuer);
    const token = tokenFor(AUDIT);
    await get('/audit', token).expect(200); // now in the verified-token cache
    await get('/documents', token).expect(401);
    await get('/audit', token).expect(200);
  });

  it('an_unknown_audience_name_fails_start_up_naming_the_route', async () => {
    await expect(boot(issuer, { namedAudiences: { documents: DOCUMENTS } })).rejects.toThrow(
      /@Audience\(\) names neither .*AuditController\.list: @Audience\('audit'\).*FeatureController\.list/,
    );
  });

  it('named_audiences_must_be_audiences', async () => {
    await expect(boot(issuer, { namedAudiences: { documents: [] } })).rejects.toThrow(
      "'namedAudiences.documents' must be an audience or a non-empty list of audiences",
    );
  });
});

describe('the service: the documents API and the audit API each accept only their own tokens', () => {
  const DOCS = 'https://documents.nest-m2m.local';
  const AUDIT_API = 'https://audit.nest-m2m.local';
  const running = appOnTestIssuer({ AUTH0_AUDIENCE: `${DOCS},${AUDIT_API}`, DOCUMENTS_API_AUDIENCE: DOCS, AUDIT_API_AUDIENCE: AUDIT_API });
  const call = (method: 'get' | 'post', path: string, aud: string, scope: string) =>
    request(running.app.getHttpServer())
      [method](path)
      .set('Authorization', `Bearer ${running.issuer.sign(running.issuer.claims({ aud, scope }))}`);

  it('an_audit_token_does_not_open_the_documents_api', async () => {
    const res = await call('get', '/internal/data', AUDIT_API, 'read:documents').expect(401);
    expect(res.headers['www-authenticate']).toBe(challenge({ error: 'invalid_token', description: 'Audience not accepted by this API' }));
    await call('get', '/internal/documents/1', AUDIT_API, 'read:documents').expect(401);
    await call('get', '/internal/documents/1', DOCS, 'read:documents').expect(200);
  });

  it('a_documents_token_does_not_open_the_audit_api', async () => {
    await call('get', '/internal/audit-events', DOCS, 'read:audit').expect(401);
    await call('get', '/internal/audit-events', AUDIT_API, 'read:audit').expect(200);
  });
});
