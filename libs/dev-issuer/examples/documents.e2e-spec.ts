// README: "Testing your guarded controllers without an Auth0 tenant" — a Vitest e2e spec (npm test runs it).
import 'reflect-metadata';
import { Controller, Get, type INestApplication, Param, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { Test } from '@nestjs/testing';
import { AuthModule, type AuthPrincipal, Principal, Scopes, ScopesGuard } from '@nest-m2m/auth';
import { startDevIssuer, type DevIssuer } from '@nest-m2m/dev-issuer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The controller under test; in your project it comes from your own source tree.
@Controller('documents')
@UseGuards(AuthGuard('jwt'), ScopesGuard)
class DocumentsController {
  @Get(':id')
  @Scopes('read:documents')
  findOne(@Param('id') id: string, @Principal() caller: AuthPrincipal) {
    return { id, requestedBy: caller.clientId };
  }
}

const API = 'https://documents.example.test';

describe('DocumentsController with real tokens', () => {
  let issuer: DevIssuer;
  let app: INestApplication;
  let baseUrl: string;

  beforeAll(async () => {
    issuer = await startDevIssuer({
      config: {
        apis: [{ identifier: API, scopes: ['read:documents', 'delete:documents'] }],
        clients: [
          { clientId: 'reader', grants: [{ audience: API, scopes: ['read:documents'] }] },
          { clientId: 'stranger', grants: [{ audience: API, scopes: [] }] },
        ],
      },
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AuthModule.forRoot({ issuer: issuer.issuer, audience: API, jwksCooldownMs: 0 })],
      controllers: [DocumentsController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    baseUrl = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  const get = (path: string, token?: string) =>
    fetch(`${baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers a caller that holds the scope', async () => {
    // A real client-credentials request to the issuer's /oauth/token, as your callers make to Auth0.
    const token = await issuer.getToken({ clientId: 'reader', audience: API });
    const response = await get('/documents/1', token);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: '1', requestedBy: 'reader' });
  });

  it('refuses a request without a token with 401 and a bare challenge', async () => {
    const response = await get('/documents/1');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="api"');
  });

  it('refuses a caller without the scope with 403 insufficient_scope', async () => {
    const response = await get('/documents/1', await issuer.getToken({ clientId: 'stranger' }));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="read:documents"',
    );
  });

  it('refuses an expired token with 401 invalid_token', async () => {
    const expired = await issuer.controls.issueToken({ clientId: 'reader', audience: API, expiresIn: -60 });
    const response = await get('/documents/1', expired);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token", error_description="Token expired"');
  });

  it('picks up a rotated signing key at once', async () => {
    await issuer.controls.rotateKeys({ keepOld: true });
    expect((await get('/documents/1', await issuer.getToken({ clientId: 'reader' }))).status).toBe(200);
  });

  it('answers 503 with Retry-After, not 401, while the JWKS cannot be fetched', async () => {
    issuer.controls.failNext({ endpoint: 'jwks', status: 503, count: 10 });
    await issuer.controls.rotateKeys(); // the next token has a kid the service has not seen
    const response = await get('/documents/1', await issuer.getToken({ clientId: 'reader' }));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    issuer.controls.clearFaults();
  });
});
