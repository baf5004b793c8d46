import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AxiosError } from 'axios';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, DEFAULT_DEV_ISSUER_CONFIG, startDevIssuer, type DevIssuer } from '@nest-m2m/dev-issuer';
import {
  getSiblingClientToken,
  InjectSiblingClient,
  M2MModule,
  M2MTokenService,
  SiblingClient,
  SiblingClients,
  SiblingOriginError,
  type M2MModuleOptions,
} from '@nest-m2m/auth/m2m';
import { startSiblingServer, type SiblingServer } from './helpers/sibling-server.js';

describe('sibling clients', () => {
  let iss: DevIssuer;
  let audit: SiblingServer;
  let elsewhere: SiblingServer;
  let tokens: M2MTokenService;
  let client: SiblingClient;
  let options: M2MModuleOptions;

  beforeAll(async () => {
    // Auth0's RFC 9068 profile gives tokens a jti, so a replacement token issued within the same
    // second differs from the one it replaces (the default profile has no jti, as Auth0's).
    const apis = DEFAULT_DEV_ISSUER_CONFIG.apis.map((api) => ({ ...api, accessTokenProfile: 'rfc9068' as const }));
    iss = await startDevIssuer({ enableTestControls: true, config: { ...DEFAULT_DEV_ISSUER_CONFIG, apis } });
    [audit, elsewhere] = await Promise.all([startSiblingServer(), startSiblingServer()]);
    options = {
      dialect: 'auth0',
      tokenEndpoint: iss.tokenEndpoint,
      clientId: 'nest-m2m-service',
      clientSecret: iss.config.clients.find((c) => c.clientId === 'nest-m2m-service')!.clientSecret!,
      siblings: [{ name: 'audit', baseUrl: `${audit.url}/internal`, audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] }],
    };
  });
  afterAll(async () => {
    await Promise.all([iss.close(), audit.close(), elsewhere.close()]);
  });
  beforeEach(() => {
    iss.controls.reset();
    audit.requests.length = 0;
    audit.rejectedTokens.clear();
    elsewhere.requests.length = 0;
    tokens = new M2MTokenService(options);
    client = new SiblingClient(options.siblings![0]!, tokens);
  });
  afterEach(() => tokens.onModuleDestroy());

  const tokenRequests = () => iss.controls.counters().tokenRequests;

  it('requests to the sibling carry its bearer token and resolve against its base URL', async () => {
    const response = await firstValueFrom(client.get('/audit-events'));
    expect(response.data).toEqual({ ok: true, path: '/internal/audit-events' });
    const { accessToken } = await tokens.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] });
    expect(audit.requests[0]!.headers.authorization).toBe(`Bearer ${accessToken}`);
  });

  it('many concurrent calls to the sibling share one token request', async () => {
    await Promise.all(Array.from({ length: 100 }, () => client.axiosRef.get('/audit-events')));
    expect(tokenRequests()).toBe(1);
    expect(audit.requests).toHaveLength(100);
  });

  it('an absolute URL to another origin is refused and nothing is sent there', async () => {
    const error = await client.axiosRef.get(`${elsewhere.url}/steal`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SiblingOriginError);
    expect(error).toMatchObject({ code: 'ERR_M2M_FOREIGN_ORIGIN' });
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('the same host on another port or scheme is another origin and is refused', async () => {
    const port = new URL(elsewhere.url).port;
    await expect(client.axiosRef.get(`http://127.0.0.1:${port}/x`)).rejects.toBeInstanceOf(SiblingOriginError);
    await expect(client.axiosRef.get(`https://${new URL(audit.url).host}/x`)).rejects.toBeInstanceOf(SiblingOriginError);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('redirects are not followed, so the token never reaches the redirect target', async () => {
    const error = await client.axiosRef
      .get('/redirect', { params: { to: `${elsewhere.url}/landing` }, maxRedirects: 5 })
      .catch((e: unknown) => e as AxiosError);
    expect((error as AxiosError).response?.status).toBe(302);
    expect(elsewhere.requests).toHaveLength(0);
    expect(audit.requests).toHaveLength(1);
  });

  it('a GET answered 401 invalid_token is retried once with a new token', async () => {
    const first = await tokens.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] });
    audit.rejectedTokens.add(first.accessToken);
    const response = await client.axiosRef.get('/audit-events');
    expect(response.status).toBe(200);
    expect(audit.requests.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${first.accessToken}`,
      expect.not.stringContaining(first.accessToken),
    ]);
    expect(tokenRequests()).toBe(2);
  });

  it('a GET is retried only once: a second invalid_token is returned to the caller', async () => {
    audit.rejectedTokens.add((await tokens.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] })).accessToken);
    const original = tokens.getToken.bind(tokens);
    tokens.getToken = async (request) => {
      const token = await original(request);
      audit.rejectedTokens.add(token.accessToken);
      return token;
    };
    const error = (await client.axiosRef.get('/audit-events').catch((e: unknown) => e)) as AxiosError;
    expect(error.response?.status).toBe(401);
    expect(audit.requests).toHaveLength(2);
  });

  it('a POST answered 401 invalid_token is not retried unless marked retryOnInvalidToken', async () => {
    const first = await tokens.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] });
    audit.rejectedTokens.add(first.accessToken);
    const error = (await client.axiosRef.post('/audit-events', { action: 'delete' }).catch((e: unknown) => e)) as AxiosError;
    expect(error.response?.status).toBe(401);
    expect(audit.requests).toHaveLength(1);
    expect(tokenRequests()).toBe(1);

    audit.requests.length = 0;
    const response = await client.axiosRef.post('/audit-events', { action: 'delete' }, { retryOnInvalidToken: true });
    expect(response.status).toBe(200);
    expect(audit.requests.map((r) => r.body)).toEqual(['{"action":"delete"}', '{"action":"delete"}']);
    expect(tokenRequests()).toBe(2);
  });

  it('a 401 without invalid_token is not retried', async () => {
    const error = (await client.axiosRef.get('/unauthorized').catch((e: unknown) => e)) as AxiosError;
    expect(error.response?.status).toBe(401);
    expect(audit.requests).toHaveLength(1);
  });

  describe('through M2MModule', () => {
    @Injectable()
    class AuditReporter {
      constructor(@InjectSiblingClient('audit') readonly audit: SiblingClient) {}
    }

    it('forRoot registers each sibling for @InjectSiblingClient and exports the token service', async () => {
      @Module({ imports: [M2MModule.forRoot(options)], providers: [AuditReporter] })
      class AppModule {}
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      const reporter = moduleRef.get(AuditReporter);
      expect(reporter.audit).toBeInstanceOf(SiblingClient);
      expect(moduleRef.get(getSiblingClientToken('audit'))).toBe(reporter.audit);
      expect((await reporter.audit.axiosRef.get('/audit-events')).status).toBe(200);
      expect(moduleRef.get(M2MTokenService).stats().tokenRequests).toBe(1);
      await moduleRef.close();
    });

    it('forRootAsync builds the options from a factory and registers the declared sibling names', async () => {
      @Module({
        imports: [
          M2MModule.forRootAsync({
            siblingNames: ['audit'],
            isGlobal: true,
            useFactory: async () => ({ ...options, backgroundRefresh: true }),
          }),
        ],
        providers: [AuditReporter],
      })
      class AppModule {}
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      expect(moduleRef.get(AuditReporter).audit.sibling.name).toBe('audit');
      expect(moduleRef.get(SiblingClients).names()).toEqual(['audit']);
      await moduleRef.close();
    });

    it('invalid options fail at boot with a message naming the option', async () => {
      await expect(Test.createTestingModule({ imports: [M2MModule.forRoot({ ...options, clientId: '' })] }).compile()).rejects.toThrow(
        /'clientId'/,
      );
    });
  });
});
