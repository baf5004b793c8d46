import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, DEFAULT_DEV_ISSUER_CONFIG, DOCUMENTS_API_AUDIENCE, startDevIssuer, type DevIssuer } from '../src/index.js';
import { credentials, postToken } from './helpers.js';

let issuer: DevIssuer;
/** The issuer's clock, frozen at the real time when each test starts (tokens stay valid for jose); tests may set it. */
let now = Date.now();
beforeAll(async () => {
  const config = structuredClone(DEFAULT_DEV_ISSUER_CONFIG);
  config.clients.find((c) => c.clientId === 'auditor')!.quotaPerHour = 3;
  issuer = await startDevIssuer({ config, enableTestControls: true, clock: { now: () => now } });
});
afterAll(() => issuer.close());
beforeEach(() => {
  now = Date.now();
  issuer.controls.reset();
});

const documentsToken = () => postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE));

/** Only for lower bounds of injected delays (a real timer never ends early), never for upper bounds. */
async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await work();
  return { result, ms: performance.now() - start };
}

/** `promise`, and whether it has settled yet. */
function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const observed = promise.finally(() => (settled = true));
  return { promise: observed, settled: () => settled };
}

/** Resolves once `issuer` has read a token request of `clientId` (and so applied its fault plan). */
const tokenRequestRead = (of: DevIssuer, clientId = 'documents-caller') =>
  expect.poll(() => of.controls.counters().tokenRequestsByClient[clientId] ?? 0).toBe(1);

/** A delay that outlasts the test timeout: if it is not skipped or removed, the test fails by timing out. */
const FOREVER_MS = 600_000;

async function control(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') {
  const response = await fetch(`${issuer.url}/__test/${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

describe('dev issuer fault injection', () => {
  it('fails the next N token requests with the given status, then serves normally', async () => {
    issuer.controls.failNext({ endpoint: 'token', count: 2, status: 503 });
    const first = await documentsToken();
    const second = await documentsToken();
    const third = await documentsToken();
    expect([first.status, second.status, third.status]).toEqual([503, 503, 200]);
    expect(first.body).toEqual({ error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable' });
    expect(first.headers.get('cache-control')).toBe('no-store');
  });

  it('answers an injected 429 like Auth0 rate limit: its message, Retry-After and X-RateLimit headers of an empty bucket', async () => {
    issuer.controls.failNext({ endpoint: 'token', status: 429, retryAfterSeconds: 7 });
    const { status, headers, body } = await documentsToken();
    expect(status).toBe(429);
    expect(headers.get('retry-after')).toBe('7');
    expect(body).toEqual({
      error: 'too_many_requests',
      error_description: 'Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.',
    });
    expect(headers.get('x-ratelimit-limit')).toBe('100');
    expect(headers.get('x-ratelimit-remaining')).toBe('0');
    expect(headers.get('x-ratelimit-reset')).toBe(String(Math.ceil(now / 1000 + 7)));
  });

  it('serves queued faults in the order they were queued, with custom bodies', async () => {
    issuer.controls.failNext({ endpoint: 'token', status: 500, body: { error: 'server_error', error_description: 'boom' } });
    issuer.controls.failNext({ endpoint: 'token', status: 502, body: '<html><body>Bad gateway</body></html>' });
    const first = await documentsToken();
    expect(first.status).toBe(500);
    expect(first.body).toEqual({ error: 'server_error', error_description: 'boom' });
    const second = await fetch(issuer.tokenEndpoint, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(second.status).toBe(502);
    expect(second.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await second.text()).toContain('Bad gateway');
  });

  it('fails JWKS fetches so verifiers see the outage, then recovers', async () => {
    issuer.controls.failNext({ endpoint: 'jwks', status: 500 });
    const token = (await documentsToken()).body.access_token as string;
    await expect(jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)))).rejects.toThrow();
    await expect(jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)))).resolves.toBeDefined();
  });

  it('fails discovery fetches too', async () => {
    issuer.controls.failNext({ endpoint: 'discovery', status: 503, retryAfterSeconds: 1 });
    const failed = await fetch(`${issuer.url}/.well-known/openid-configuration`);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
    expect((await fetch(`${issuer.url}/.well-known/openid-configuration`)).status).toBe(200);
  });

  it('delays the next request and then answers it normally', async () => {
    issuer.controls.failNext({ endpoint: 'token', delayMs: 300 });
    const slow = await timed(documentsToken);
    expect(slow.result.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(290);
  });

  it('delays only the next request: the one after it answers while the delayed one still waits', async () => {
    const local = await startDevIssuer();
    try {
      local.controls.failNext({ endpoint: 'token', delayMs: FOREVER_MS });
      const delayed = tracked(postToken(local, credentials(local, 'documents-caller', DOCUMENTS_API_AUDIENCE)).catch(() => 'failed'));
      await tokenRequestRead(local);
      expect((await postToken(local, credentials(local, 'documents-caller', DOCUMENTS_API_AUDIENCE))).status).toBe(200);
      expect(delayed.settled()).toBe(false);
    } finally {
      await local.close();
    }
  });

  it('delays a failure when status and delayMs are both given', async () => {
    issuer.controls.failNext({ endpoint: 'token', status: 500, delayMs: 200 });
    const { result, ms } = await timed(documentsToken);
    expect(result.status).toBe(500);
    expect(ms).toBeGreaterThanOrEqual(190);
  });

  it('keeps a persistent delay until it is set to zero', async () => {
    issuer.controls.setDelay('jwks', 300);
    for (let i = 0; i < 2; i++) expect((await timed(() => fetch(issuer.jwksUri))).ms).toBeGreaterThanOrEqual(290);
    issuer.controls.setDelay('jwks', FOREVER_MS);
    issuer.controls.setDelay('jwks', 0);
    expect((await fetch(issuer.jwksUri)).status).toBe(200);
  });

  it('drops queued faults and delays on clearFaults', async () => {
    issuer.controls.failNext({ endpoint: 'token', count: 5, status: 500 });
    issuer.controls.setDelay('token', FOREVER_MS);
    issuer.controls.clearFaults();
    expect((await documentsToken()).status).toBe(200);
  });

  it('rejects a fault that has nothing to do', () => {
    expect(() => issuer.controls.failNext({ endpoint: 'token' })).toThrow(TypeError);
    expect(() => issuer.controls.failNext({ endpoint: 'nope' as 'token', status: 500 })).toThrow(/endpoint/);
  });

  it('hangs a request, serving the next one meanwhile, until the client gives up', async () => {
    issuer.controls.failNext({ endpoint: 'token', hang: true });
    const giveUp = new AbortController();
    const hung = tracked(
      fetch(issuer.tokenEndpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE)),
        signal: giveUp.signal,
      }).then(
        () => 'answered',
        (error: unknown) => (error as Error).name,
      ),
    );
    await tokenRequestRead(issuer);
    expect((await documentsToken()).status).toBe(200);
    expect(hung.settled()).toBe(false);
    giveUp.abort();
    expect(await hung.promise).toBe('AbortError');
  });

  it('closes at once while requests hang or wait on a delay', async () => {
    const local = await startDevIssuer();
    local.controls.failNext({ endpoint: 'jwks', hang: true });
    local.controls.failNext({ endpoint: 'token', delayMs: FOREVER_MS });
    const hanging = fetch(local.jwksUri).then(
      () => 'answered',
      () => 'failed',
    );
    const delayed = postToken(local, credentials(local, 'documents-caller', DOCUMENTS_API_AUDIENCE)).then(
      () => 'answered',
      () => 'failed',
    );
    await tokenRequestRead(local);
    await expect.poll(() => local.controls.counters().jwksFetches).toBe(1);
    // Waiting for the delay instead would outlast the test timeout.
    await local.close();
    expect(await hanging).toBe('failed');
    expect(await delayed).toBe('failed');
  });
});

describe('dev issuer client quota', () => {
  it('sends Auth0 quota headers that count down, then refuses with 429 too_many_requests until the next UTC hour', async () => {
    now = Date.UTC(2030, 0, 1, 10, 20, 0);
    issuer.controls.setQuota('documents-caller', 2);
    const first = await documentsToken();
    expect(first.status).toBe(200);
    // UTC clock-hour bucket: it resets at the next full hour (11:00, 40 minutes on), not an hour after the first token.
    expect(first.headers.get('auth0-client-quota-limit')).toBe('b=per_hour;q=2;r=1;t=2400');
    now += 60_000;
    const second = await documentsToken();
    expect(second.headers.get('auth0-client-quota-limit')).toBe('b=per_hour;q=2;r=0;t=2340');
    const refused = await documentsToken();
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: 'too_many_requests', error_description: 'Client quota exceeded' });
    expect(refused.headers.get('auth0-client-quota-limit')).toBe('b=per_hour;q=2;r=0;t=2340');
    expect(refused.headers.get('retry-after')).toBe('2340');
    expect(refused.headers.get('cache-control')).toBe('no-store');
    now = Date.UTC(2030, 0, 1, 11, 0, 0);
    const nextHour = await documentsToken();
    expect(nextHour.status).toBe(200);
    expect(nextHour.headers.get('auth0-client-quota-limit')).toBe('b=per_hour;q=2;r=1;t=3600');
  });

  it('applies quotaPerHour from the config and restores it on reset', async () => {
    const auditor = () => postToken(issuer, credentials(issuer, 'auditor', AUDIT_API_AUDIENCE));
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await auditor()).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    issuer.controls.reset();
    const again = await auditor();
    expect(again.status).toBe(200);
    expect(again.headers.get('auth0-client-quota-limit')).toMatch(/q=3;r=2;/);
  });

  it('sends no quota headers for a client without a quota, and setQuota null removes one', async () => {
    expect((await documentsToken()).headers.get('auth0-client-quota-limit')).toBeNull();
    issuer.controls.setQuota('documents-caller', 1);
    await documentsToken();
    expect((await documentsToken()).status).toBe(429);
    issuer.controls.setQuota('documents-caller', null);
    const freed = await documentsToken();
    expect(freed.status).toBe(200);
    expect(freed.headers.get('auth0-client-quota-limit')).toBeNull();
  });
});

describe('dev issuer clock', () => {
  it('dates issued and minted tokens by the injected clock', async () => {
    now = Date.UTC(2030, 0, 1, 10, 20, 0);
    const issued = decodeJwt((await documentsToken()).body.access_token as string);
    expect([issued.iat, issued.exp]).toEqual([now / 1000, now / 1000 + 86_400]);
    const minted = decodeJwt(await issuer.controls.issueToken({ clientId: 'auditor', audience: AUDIT_API_AUDIENCE, expiresIn: 60 }));
    expect([minted.iat, minted.exp]).toEqual([now / 1000, now / 1000 + 60]);
  });
});

describe('dev issuer counters', () => {
  it('counts token requests (refused and faulted too), per client, issued tokens, JWKS and discovery fetches', async () => {
    issuer.controls.failNext({ endpoint: 'token', status: 500 });
    await documentsToken(); // faulted
    await documentsToken(); // issued
    await postToken(issuer, { ...credentials(issuer, 'auditor', AUDIT_API_AUDIENCE), client_secret: 'wrong' }); // refused
    await fetch(issuer.jwksUri);
    await fetch(`${issuer.url}/.well-known/openid-configuration`);
    await fetch(`${issuer.url}/.well-known/oauth-authorization-server`);
    expect(issuer.controls.counters()).toEqual({
      tokenRequests: 3,
      tokenRequestsByClient: { 'documents-caller': 2, auditor: 1 },
      tokensIssued: 1,
      jwksFetches: 1,
      discoveryFetches: 2,
    });
    issuer.controls.resetCounters();
    expect(issuer.controls.counters()).toEqual({
      tokenRequests: 0,
      tokenRequestsByClient: {},
      tokensIssued: 0,
      jwksFetches: 0,
      discoveryFetches: 0,
    });
  });

  it('returns snapshots that later requests do not change', async () => {
    const snapshot = issuer.controls.counters();
    await documentsToken();
    expect(snapshot.tokenRequests).toBe(0);
    expect(issuer.controls.counters().tokenRequests).toBe(1);
  });
});

describe('dev issuer test controls over HTTP', () => {
  it('queues faults, reads counters and resets through /__test/', async () => {
    expect((await control('faults', { endpoint: 'token', status: 503, count: 1 })).status).toBe(204);
    expect((await documentsToken()).status).toBe(503);
    const counters = await control('counters');
    expect(counters.status).toBe(200);
    expect(counters.body).toMatchObject({ tokenRequests: 1, tokenRequestsByClient: { 'documents-caller': 1 } });
    expect((await control('reset', {})).status).toBe(204);
    expect((await control('counters')).body).toMatchObject({ tokenRequests: 0 });
  });

  it('sets delays, quotas and clears faults through /__test/', async () => {
    expect((await control('delay', { endpoint: 'token', ms: 300 })).status).toBe(204);
    expect((await timed(documentsToken)).ms).toBeGreaterThanOrEqual(290);
    expect((await control('delay', { endpoint: 'token', ms: FOREVER_MS })).status).toBe(204);
    expect((await control('clear-faults', {})).status).toBe(204);
    expect((await documentsToken()).status).toBe(200);
    expect((await control('quota', { clientId: 'documents-caller', quotaPerHour: 0 })).status).toBe(204);
    expect((await documentsToken()).status).toBe(429);
  });

  it('rotates keys through /__test/rotate', async () => {
    const before = issuer.controls.currentKid();
    const { status, body } = await control('rotate', { keepOld: true });
    expect(status).toBe(200);
    expect(body!.kid).toBe(issuer.controls.currentKid());
    const kids = ((await (await fetch(issuer.jwksUri)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    expect(kids).toEqual([body!.kid, before]);
  });

  it('mints arbitrary tokens through /__test/tokens', async () => {
    const { status, body } = await control('tokens', { clientId: 'auditor', audience: AUDIT_API_AUDIENCE, expiresIn: 60 });
    expect(status).toBe(200);
    expect(decodeProtectedHeader(body!.access_token as string).kid).toBe(issuer.controls.currentKid());
  });

  it('answers an invalid control body with 400 and a wrong method with 405', async () => {
    const invalid = await control('faults', { endpoint: 'token' });
    expect(invalid.status).toBe(400);
    expect(invalid.body!.error).toBe('invalid_request');
    expect((await control('counters', {})).status).toBe(405);
    expect((await control('unknown')).status).toBe(404);
  });

  it('does not exist at all unless enableTestControls is set', async () => {
    const plain = await startDevIssuer();
    try {
      for (const [path, method] of [
        ['counters', 'GET'],
        ['faults', 'POST'],
        ['rotate', 'POST'],
        ['reset', 'POST'],
        ['tokens', 'POST'],
      ]) {
        const response = await fetch(`${plain.url}/__test/${path}`, {
          method,
          headers: { 'Content-Type': 'application/json' },
          body: method === 'POST' ? '{"endpoint":"token","status":500}' : undefined,
        });
        expect(response.status).toBe(404);
      }
      expect((await postToken(plain, credentials(plain, 'documents-caller', DOCUMENTS_API_AUDIENCE))).status).toBe(200);
    } finally {
      await plain.close();
    }
  });
});
