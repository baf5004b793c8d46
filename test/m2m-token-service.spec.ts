import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, type LoggerService } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, startDevIssuer, type DevIssuer } from '@nest-m2m/dev-issuer';
import { M2MTokenService, type M2MModuleOptions } from '@nest-m2m/auth/m2m';

const SECRET = 'service-secret-0123456789-abcdef';
const SHORT_API = 'https://short-lived.example.test';

/** Every line Nest's Logger prints while a test runs. */
function captureLogs(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const sink =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) =>
      lines.push(`${level} ${String(message)} ${rest.map(String).join(' ')}`);
  const logger: LoggerService = {
    log: sink('log'),
    warn: sink('warn'),
    error: sink('error'),
    debug: sink('debug'),
    verbose: sink('verbose'),
  };
  Logger.overrideLogger(logger);
  return {
    lines,
    restore: () =>
      Logger.overrideLogger(
        new (class implements LoggerService {
          log() {}
          warn() {}
          error() {}
        })(),
      ),
  };
}

async function until(condition: () => boolean, message: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting until ${message}`);
}

describe('M2MTokenService against the dev issuer', () => {
  let iss: DevIssuer;
  /** The issuer's clock, and the service's where a test passes it: real time unless a test sets `frozenAt`. */
  let frozenAt: number | undefined;
  const clock = { now: () => frozenAt ?? Date.now() };
  let services: M2MTokenService[] = [];
  let logs: ReturnType<typeof captureLogs>;

  const service = (options: Partial<M2MModuleOptions> = {}) => {
    const s = new M2MTokenService({
      dialect: 'auth0',
      tokenEndpoint: iss.tokenEndpoint,
      clientId: 'nest-m2m-service',
      clientSecret: SECRET,
      ...options,
    });
    services.push(s);
    return s;
  };
  const tokenRequests = () => iss.controls.counters().tokenRequests;

  beforeAll(async () => {
    iss = await startDevIssuer({
      enableTestControls: true,
      clock,
      config: {
        apis: [
          // RFC 9068 profile: tokens carry a jti, so a replacement issued within the same second differs
          // (a background renewal of a 2 s token can come 0.8 s after the first, in the same second).
          { identifier: AUDIT_API_AUDIENCE, scopes: ['write:audit', 'read:audit'], rbac: true, accessTokenProfile: 'rfc9068' },
          { identifier: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents'], rbac: true },
          { identifier: SHORT_API, scopes: ['use'], tokenLifetimeSeconds: 2, accessTokenProfile: 'rfc9068' },
        ],
        clients: [
          {
            clientId: 'nest-m2m-service',
            clientSecret: SECRET,
            grants: [
              { audience: AUDIT_API_AUDIENCE, scopes: ['write:audit', 'read:audit'] },
              { audience: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents'] },
              { audience: SHORT_API, scopes: ['use'] },
            ],
          },
        ],
      },
    });
  });
  afterAll(() => iss.close());
  beforeEach(() => {
    frozenAt = undefined;
    iss.controls.reset();
    logs = captureLogs();
  });
  afterEach(async () => {
    await Promise.all(services.map((s) => s.onModuleDestroy()));
    services = [];
    logs.restore();
  });

  it('a burst of 150 concurrent cold calls makes one token request, and warm calls make none', async () => {
    const s = service();
    const tokens = await Promise.all(
      Array.from({ length: 150 }, () => s.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] })),
    );
    expect(tokenRequests()).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    for (let i = 0; i < 50; i++) await s.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] });
    expect(tokenRequests()).toBe(1);
    expect(s.stats()).toMatchObject({ tokenRequests: 1, cacheMisses: 150, cacheHits: 50, failures: 0 });
  });

  it('scopes in any order and repeated share one cache entry, and other scopes get their own', async () => {
    const s = service();
    await s.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit', 'read:audit'] });
    await s.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['read:audit', 'write:audit', 'read:audit'] });
    expect(tokenRequests()).toBe(1);
    await s.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['read:audit'] });
    expect(tokenRequests()).toBe(2);
  });

  it('the authorization header is a Bearer header with the cached token', async () => {
    const s = service();
    const { accessToken } = await s.getToken({ audience: DOCUMENTS_API_AUDIENCE });
    expect(await s.getAuthorizationHeader({ audience: DOCUMENTS_API_AUDIENCE })).toBe(`Bearer ${accessToken}`);
  });

  it('a token is renewed once after it expires, and the expiry comes from the token', async () => {
    frozenAt = Math.floor(Date.now() / 1000) * 1000 + 500;
    const s = service({ clock });
    const first = await s.getToken({ audience: SHORT_API });
    // exp counts whole seconds: 1.5 s from now, where expires_in (2 s) alone would say 2 s.
    expect(first.expiresAt.getTime()).toBe(frozenAt + 1500);
    frozenAt = first.expiresAt.getTime() + 1;
    const second = await Promise.all(Array.from({ length: 20 }, () => s.getToken({ audience: SHORT_API })));
    expect(second[0]!.accessToken).not.toBe(first.accessToken);
    expect(tokenRequests()).toBe(2);
  });

  it('invalidate makes the next call fetch one new token, and a stale invalidation does not evict the new one', async () => {
    const s = service();
    const first = await s.getToken({ audience: AUDIT_API_AUDIENCE });
    await s.invalidate({ audience: AUDIT_API_AUDIENCE, accessToken: first.accessToken });
    const second = await s.getToken({ audience: AUDIT_API_AUDIENCE });
    await s.invalidate({ audience: AUDIT_API_AUDIENCE, accessToken: first.accessToken });
    await s.getToken({ audience: AUDIT_API_AUDIENCE });
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(tokenRequests()).toBe(2);
  });

  it('500s are retried with back-off until the issuer answers', async () => {
    iss.controls.failNext({ endpoint: 'token', count: 2, status: 500 });
    const s = service();
    await s.getToken({ audience: AUDIT_API_AUDIENCE });
    expect(tokenRequests()).toBe(3);
  });

  it('a 429 with Retry-After is retried after the advertised delay', async () => {
    iss.controls.failNext({ endpoint: 'token', count: 1, status: 429, retryAfterSeconds: 1 });
    const s = service();
    const started = Date.now();
    await s.getToken({ audience: AUDIT_API_AUDIENCE });
    expect(tokenRequests()).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('a Retry-After longer than the retry cap is surfaced instead of waited out', async () => {
    iss.controls.failNext({ endpoint: 'token', count: 1, status: 429, retryAfterSeconds: 3600 });
    const s = service();
    await expect(s.getToken({ audience: AUDIT_API_AUDIENCE })).rejects.toMatchObject({ status: 429, retryAfterSeconds: 3600 });
    expect(tokenRequests()).toBe(1);
  });

  it('a hanging endpoint ends in a typed timeout after the bounded attempts', async () => {
    iss.controls.failNext({ endpoint: 'token', count: 5, hang: true });
    const s = service({ requestTimeoutMs: 200, maxAttempts: 2 });
    await expect(s.getToken({ audience: AUDIT_API_AUDIENCE })).rejects.toMatchObject({ code: 'ERR_M2M_TOKEN_ENDPOINT_TIMEOUT' });
    expect(tokenRequests()).toBe(2);
    expect(s.stats().failures).toBe(1);
  });

  it('OAuth errors such as access_denied are not retried and not cached', async () => {
    const s = service();
    const ungranted = 'https://not-granted.example.test';
    await expect(s.getToken({ audience: ungranted })).rejects.toMatchObject({
      code: 'ERR_M2M_TOKEN_ENDPOINT',
      status: 403,
      error: 'access_denied',
    });
    await expect(s.getToken({ audience: ungranted })).rejects.toBeDefined();
    expect(tokenRequests()).toBe(2);
  });

  // Auth0 answers a wrong secret with 401 access_denied "Unauthorized" (oidc-provider: invalid_client).
  it('a wrong secret is a clear 401 error, and the secret is in no error and no log line', async () => {
    const wrong = 'this-wrong-secret-must-never-be-printed';
    const s = service({ clientSecret: wrong });
    const error = (await s.getToken({ audience: AUDIT_API_AUDIENCE }).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'ERR_M2M_TOKEN_ENDPOINT', error: 'access_denied', status: 401 });
    expect(tokenRequests()).toBe(1);
    expect(logs.lines.some((l) => l.includes('401 access_denied'))).toBe(true);
    for (const text of [error.message, JSON.stringify(error), String(error.stack), ...logs.lines]) expect(text).not.toContain(wrong);
  });

  it('a cold call with the token endpoint down fails with a typed error instead of hanging', async () => {
    const down = await startDevIssuer({});
    const endpoint = down.tokenEndpoint;
    await down.close();
    const s = service({ tokenEndpoint: endpoint, maxAttempts: 2 });
    await expect(s.getToken({ audience: AUDIT_API_AUDIENCE })).rejects.toMatchObject({ code: 'ERR_M2M_TOKEN_ENDPOINT_UNREACHABLE' });
  });

  it('with the issuer failing, a token past its refresh point but still valid keeps serving', async () => {
    frozenAt = Math.floor(Date.now() / 1000) * 1000;
    const s = service({ maxAttempts: 1, clock });
    const first = await s.getToken({ audience: SHORT_API });
    // Lifetime 2 s: the refresh buffer is at least half of it, so 300 ms before expiry is past the refresh point.
    frozenAt = first.expiresAt.getTime() - 300;
    iss.controls.failNext({ endpoint: 'token', count: 100, status: 503 });
    const during = await Promise.all(Array.from({ length: 10 }, () => s.getToken({ audience: SHORT_API })));
    expect(during.every((t) => t.accessToken === first.accessToken)).toBe(true);
    expect(s.stats().failures).toBeGreaterThanOrEqual(1);
    expect(logs.lines.some((l) => l.includes('still serving the cached token'))).toBe(true);
    iss.controls.clearFaults();
  });

  it('background refresh renews a token before it expires without any caller waiting', async () => {
    const s = service({ backgroundRefresh: true });
    const first = await s.getToken({ audience: SHORT_API });
    await until(() => tokenRequests() === 2, 'the background renewal happened');
    const next = await s.getToken({ audience: SHORT_API });
    expect(next.accessToken).not.toBe(first.accessToken);
    expect(tokenRequests()).toBe(2);
  });

  it('quota headers are exposed and a nearly spent quota logs a warning', async () => {
    iss.controls.setQuota('nest-m2m-service', 5);
    const s = service();
    for (let i = 0; i < 5; i++) {
      await s.getToken({ audience: AUDIT_API_AUDIENCE });
      await s.invalidate({ audience: AUDIT_API_AUDIENCE });
    }
    expect(s.quota()).toMatchObject({
      clientId: 'nest-m2m-service',
      client: [{ bucket: 'per_hour', limit: 5, remaining: 0 }],
      // The issuer's rate limit (X-RateLimit-*), apart from the client quota since Auth0 keeps them apart.
      rateLimit: { limit: 100 },
    });
    expect(logs.lines.filter((l) => l.startsWith('warn') && l.includes('quota')).length).toBeGreaterThanOrEqual(1);
  });

  it('events report token requests and issued tokens without the token itself', async () => {
    const s = service();
    const seen: Array<[string, unknown]> = [];
    s.events.on('token_request', (e) => seen.push(['token_request', e]));
    s.events.on('token_issued', (e) => seen.push(['token_issued', e]));
    const token = await s.getToken({ audience: AUDIT_API_AUDIENCE });
    // Exactly these fields: an added `accessToken` (or the raw response) would fail here.
    expect(seen).toEqual([
      ['token_request', { audience: AUDIT_API_AUDIENCE, attempt: 1 }],
      ['token_issued', { audience: AUDIT_API_AUDIENCE, scopes: [], expiresAt: token.expiresAt }],
    ]);
    // Nor anywhere in them, under any name: neither the token nor the secret that bought it.
    const payloads = JSON.stringify(seen);
    expect(payloads).not.toContain(token.accessToken);
    expect(payloads).not.toContain(token.accessToken.split('.')[2]);
    expect(payloads).not.toContain(SECRET);
  });

  it('options that break a rule are rejected at construction with a message naming the option', () => {
    expect(() => service({ clientSecret: undefined })).toThrow(/'clientSecret'/);
    expect(() => service({ tokenEndpoint: 'not a url' })).toThrow(/'tokenEndpoint'/);
    expect(() => service({ clientAuth: 'private_key_jwt', clientSecret: undefined })).toThrow(/'privateKey'/);
    expect(() => service({ cacheEncryptionKey: 'short' })).toThrow(/'cacheEncryptionKey'/);
  });
});
