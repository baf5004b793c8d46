import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import type { AxiosError } from 'axios';
import { decodeJwt } from 'jose';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TokenEndpointStub } from '../../test/token-endpoint.stub.js';
import { M2MTokenService } from './m2m-token.service.js';
import type { SiblingServiceOptions } from './m2m.options.js';
import { getSiblingClientToken, SiblingClient, SiblingClients } from './sibling.client.js';

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
}

/** An HTTP server on 127.0.0.1 that records every request; as a forward proxy it sees absolute URLs. */
async function recorder(): Promise<{ server: Server; seen: Seen[]; port: number; url: string }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, seen, port, url: `http://127.0.0.1:${port}` };
}

describe('SiblingClient sends its token only to the sibling, under its base path, without proxies', () => {
  let endpoint: TokenEndpointStub;
  let sibling: Awaited<ReturnType<typeof recorder>>;
  let proxy: Awaited<ReturnType<typeof recorder>>;
  let tokens: M2MTokenService;
  const savedEnv = { ...process.env };

  const client = (extra: Partial<SiblingServiceOptions> = {}) =>
    new SiblingClient({ name: 'audit', baseUrl: `${sibling.url}/internal`, audience: 'https://audit.example.test', ...extra }, tokens);

  beforeAll(async () => {
    Logger.overrideLogger(false);
    [endpoint, sibling, proxy] = await Promise.all([new TokenEndpointStub().start(), recorder(), recorder()]);
  });
  afterAll(async () => {
    await endpoint.close();
    for (const s of [sibling, proxy]) {
      s.server.closeAllConnections();
      await new Promise((resolve) => s.server.close(resolve));
    }
    Logger.overrideLogger(['log', 'warn', 'error']);
  });
  beforeEach(() => {
    endpoint.requests = 0;
    sibling.seen.length = 0;
    proxy.seen.length = 0;
    tokens = new M2MTokenService({ tokenEndpoint: endpoint.url, clientId: 'svc', clientSecret: 'secret', maxAttempts: 1 });
  });
  afterEach(async () => {
    process.env = { ...savedEnv };
    await tokens.onModuleDestroy();
  });

  it('http_proxy_in_the_environment_is_not_used', async () => {
    for (const name of ['NO_PROXY', 'no_proxy']) delete process.env[name];
    process.env.HTTP_PROXY = process.env.http_proxy = proxy.url;
    await firstValueFrom(client().get('/audit-events'));
    expect(proxy.seen).toEqual([]);
    expect(sibling.seen.map((s) => s.url)).toEqual(['/internal/audit-events']);
  });

  it('a_per_request_proxy_option_is_not_used', async () => {
    await firstValueFrom(client().get('/audit-events', { proxy: { protocol: 'http', host: '127.0.0.1', port: proxy.port } }));
    expect(proxy.seen).toEqual([]);
    expect(sibling.seen).toHaveLength(1);
  });

  it('a_proxy_configured_for_the_sibling_is_used_and_only_that_one', async () => {
    const viaProxy = client({ proxy: { protocol: 'http', host: '127.0.0.1', port: proxy.port } });
    await firstValueFrom(viaProxy.get('/audit-events', { proxy: false }));
    expect(proxy.seen.map((s) => s.url)).toEqual([`${sibling.url}/internal/audit-events`]);
    expect(proxy.seen[0]!.headers.authorization).toMatch(/^Bearer token-/);
  });

  it('a_path_that_leaves_the_base_path_is_refused_before_any_token_is_attached', async () => {
    const c = client();
    for (const path of [
      '../admin/x',
      '/../admin/x',
      '%2e%2e/admin/x',
      '.%2E/admin/x',
      'a/../../admin',
      '..%2fadmin/x',
      '..%5Cadmin/x',
      `${sibling.url}/admin/x`,
      `${sibling.url}/internalx`,
    ]) {
      const error = await firstValueFrom(c.get(path)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, path).toMatchObject({ name: 'SiblingPathError', code: 'ERR_M2M_OUTSIDE_BASE_PATH' });
      expect((error as Error).message, path).toContain(`${sibling.url}/internal/`);
    }
    expect(endpoint.requests).toBe(0);
    expect(sibling.seen).toEqual([]);
  });

  it('paths_under_the_base_path_still_work', async () => {
    const c = client();
    for (const path of ['/audit-events', 'audit-events/1', 'a/../audit-events', '', `${sibling.url}/internal/x?y=1`]) {
      await firstValueFrom(c.get(path));
    }
    expect(sibling.seen.map((s) => s.url)).toEqual([
      '/internal/audit-events',
      '/internal/audit-events/1',
      '/internal/audit-events',
      '/internal',
      '/internal/x?y=1',
    ]);
  });
});

interface Call {
  method: string;
  url: string;
  authorization: string | undefined;
  dpop: string | undefined;
}

/**
 * A sibling on 127.0.0.1 that answers 401 with the challenge a test sets for the tokens it rejects,
 * and, when `nonce` is set, the DPoP `use_dpop_nonce` challenge to proofs without that nonce.
 */
async function sibling401(): Promise<{
  server: Server;
  url: string;
  calls: Call[];
  rejected: Set<string>;
  challenge: { value: string };
  nonce: { value?: string; rotate?: boolean; challenge?: string };
  status: { value: number };
}> {
  const calls: Call[] = [];
  const rejected = new Set<string>();
  const challenge = { value: 'Bearer error="invalid_token"' };
  const nonce: { value?: string; rotate?: boolean; challenge?: string } = {};
  const status = { value: 401 };
  const server = createServer((req, res) => {
    const authorization = req.headers.authorization;
    const dpop = req.headers.dpop as string | undefined;
    calls.push({ method: req.method ?? '', url: req.url ?? '', authorization, dpop });
    req.resume();
    if (req.url === '/internal/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:1/elsewhere` }).end();
      return;
    }
    // `rotate`: a new nonce for every request, so no proof ever carries the current one.
    if (nonce.rotate) nonce.value = `n-${calls.length}`;
    if (nonce.value !== undefined && (!dpop || decodeJwt(dpop).nonce !== nonce.value)) {
      res.writeHead(401, { 'www-authenticate': nonce.challenge ?? 'DPoP error="use_dpop_nonce"', 'dpop-nonce': nonce.value }).end();
      return;
    }
    const token = authorization?.split(' ')[1] ?? '';
    if (rejected.has(token)) {
      res.writeHead(status.value, { 'www-authenticate': challenge.value }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, calls, rejected, challenge, nonce, status };
}

describe('SiblingClient origins, invalid_token retries and DPoP', () => {
  let endpoint: TokenEndpointStub;
  let target: Awaited<ReturnType<typeof sibling401>>;
  let tokens: M2MTokenService;
  const AUDIENCE = 'https://audit.example.test';

  const client = (extra: Partial<SiblingServiceOptions> = {}) =>
    new SiblingClient({ name: 'audit', baseUrl: `${target.url}/internal`, audience: AUDIENCE, ...extra }, tokens);
  const statusOf = (p: Promise<{ status: number }>) =>
    p.then(
      (r) => r.status,
      (e: unknown) => (e as AxiosError).response?.status ?? (e as Error).name,
    );

  beforeAll(async () => {
    Logger.overrideLogger(false);
    [endpoint, target] = await Promise.all([new TokenEndpointStub().start(), sibling401()]);
  });
  afterAll(async () => {
    await endpoint.close();
    target.server.closeAllConnections();
    await new Promise((resolve) => target.server.close(resolve));
    Logger.overrideLogger(['log', 'warn', 'error']);
  });
  beforeEach(() => {
    endpoint.requests = 0;
    endpoint.tokenType = 'Bearer';
    target.calls.length = 0;
    target.rejected.clear();
    target.challenge.value = 'Bearer error="invalid_token"';
    delete target.nonce.value;
    delete target.nonce.rotate;
    delete target.nonce.challenge;
    target.status.value = 401;
    tokens = new M2MTokenService({ tokenEndpoint: endpoint.url, clientId: 'svc', clientSecret: 'secret', maxAttempts: 1, dpop: {} });
  });
  afterEach(async () => {
    await tokens.onModuleDestroy();
  });

  /** The next token the endpoint hands out, taken now and rejected by the sibling. */
  const rejectCurrentToken = async () => {
    const { accessToken } = await tokens.getToken({ audience: AUDIENCE });
    target.rejected.add(accessToken);
    return accessToken;
  };

  it('another_origin_or_a_unix_socket_is_refused_before_any_token_is_fetched', async () => {
    const c = client();
    const port = Number(new URL(target.url).port);
    for (const url of [`http://127.0.0.1:${port + 1}/internal/x`, `http://localhost:${port}/internal/x`, 'https://example.test/internal']) {
      const error = await c.axiosRef.get(url).catch((e: unknown) => e);
      expect(error, url).toMatchObject({ name: 'SiblingOriginError', code: 'ERR_M2M_FOREIGN_ORIGIN' });
      expect((error as Error).message, url).toContain(new URL(url).origin);
    }
    const viaSocket = await c.axiosRef.get('/x', { socketPath: '/tmp/nest-m2m-no-such.sock' }).catch((e: unknown) => e);
    expect(viaSocket).toMatchObject({ name: 'SiblingOriginError' });
    expect((viaSocket as Error).message).toContain('unix:/tmp/nest-m2m-no-such.sock');
    expect(endpoint.requests).toBe(0);
    expect(target.calls).toEqual([]);
  });

  it('a_base_url_with_a_trailing_slash_has_the_same_path_rule', async () => {
    const c = client({ baseUrl: `${target.url}/internal/` });
    expect(await statusOf(c.axiosRef.get('x'))).toBe(200);
    expect(await statusOf(c.axiosRef.get(`${target.url}/internal`))).toBe(200);
    expect(await statusOf(c.axiosRef.get(`${target.url}/internalx`))).toBe('SiblingPathError');
    const refused = (await c.axiosRef.get('../admin').catch((e: unknown) => e)) as Error;
    expect(refused.message).toContain(`only sends requests under ${target.url}/internal/; refused a request to ${target.url}/admin`);
    expect(target.calls.map((r) => r.url)).toEqual(['/internal/x', '/internal']);
  });

  it('per_request_options_cannot_turn_redirects_back_on', async () => {
    expect(await statusOf(client().axiosRef.get('/redirect', { maxRedirects: 5 }))).toBe(302);
    expect(target.calls.map((r) => r.url)).toEqual(['/internal/redirect']);
  });

  it('a_401_invalid_token_is_retried_once_with_a_new_token_for_every_idempotent_method', async () => {
    const c = client();
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'] as const) {
      target.calls.length = 0;
      const old = await rejectCurrentToken();
      expect(await statusOf(c.axiosRef.request({ method, url: '/x' })), method).toBe(200);
      expect(
        target.calls.map((r) => [r.method, r.authorization]),
        method,
      ).toEqual([
        [method, `Bearer ${old}`],
        [method, expect.stringMatching(/^Bearer token-\d+$/)],
      ]);
      expect(target.calls[1]!.authorization).not.toBe(`Bearer ${old}`);
    }
  });

  it('a_second_invalid_token_is_handed_to_the_caller', async () => {
    await rejectCurrentToken();
    const c = client();
    const original = tokens.getToken.bind(tokens);
    tokens.getToken = async (request) => {
      const token = await original(request);
      target.rejected.add(token.accessToken);
      return token;
    };
    expect(await statusOf(c.axiosRef.get('/x'))).toBe(401);
    expect(target.calls).toHaveLength(2);
  });

  it('other_methods_are_retried_only_when_the_request_says_so', async () => {
    const c = client();
    for (const method of ['POST', 'PATCH'] as const) {
      target.calls.length = 0;
      await rejectCurrentToken();
      expect(await statusOf(c.axiosRef.request({ method, url: '/x', data: {} })), method).toBe(401);
      expect(target.calls, method).toHaveLength(1);
      expect(await statusOf(c.axiosRef.request({ method, url: '/x', data: {}, retryOnInvalidToken: true })), method).toBe(200);
      expect(target.calls, method).toHaveLength(3);
    }
  });

  it('the_invalid_token_challenge_is_read_as_rfc_6750_writes_it_and_nothing_else_is_retried', async () => {
    const c = client();
    const retried = async (challenge: string) => {
      target.calls.length = 0;
      target.challenge.value = challenge;
      await rejectCurrentToken();
      await statusOf(c.axiosRef.get('/x'));
      return target.calls.length === 2;
    };
    for (const challenge of [
      'Bearer error="invalid_token"',
      'Bearer realm="audit", error=invalid_token, error_description="expired"',
      'Bearer ERROR = "Invalid_Token"',
      'Bearer error=\t"invalid_token"',
    ]) {
      expect(await retried(challenge), challenge).toBe(true);
    }
    for (const challenge of [
      'Bearer realm="audit"',
      'Bearer error="insufficient_scope"',
      'Bearer xerror="invalid_token"',
      'Bearer error="invalid_tokens"',
      'Bearer error="invalid_token_type"',
      'Bearer error="not_invalid_token"',
    ]) {
      expect(await retried(challenge), challenge).toBe(false);
    }
  });

  it('the_retry_forgets_only_the_rejected_token', async () => {
    const c = client();
    const old = await rejectCurrentToken();
    const invalidated: unknown[] = [];
    const original = tokens.invalidate.bind(tokens);
    tokens.invalidate = async (request) => {
      invalidated.push(request);
      return original(request);
    };
    await c.axiosRef.get('/x');
    expect(invalidated).toEqual([{ audience: AUDIENCE, scopes: undefined, dpop: false, accessToken: old }]);
  });

  it('other_failures_are_handed_to_the_caller_untouched', async () => {
    const c = client();
    await rejectCurrentToken();
    target.challenge.value = 'Bearer error="invalid_token"';
    const error = await c.axiosRef.get('/x', { validateStatus: (s) => s === 200 || s === 401 });
    expect(error.status).toBe(401); // a 401 the caller accepts is no error: not retried
    expect(target.calls).toHaveLength(1);
  });

  it('a_dpop_sibling_gets_a_dpop_token_and_a_fresh_proof_per_request_and_per_retry', async () => {
    endpoint.tokenType = 'DPoP';
    const c = client({ dpop: true });
    const { accessToken } = await tokens.getToken({ audience: AUDIENCE, dpop: true });
    target.rejected.add(accessToken);
    expect(await statusOf(c.axiosRef.post('/events?x=1', {}, { retryOnInvalidToken: true }))).toBe(200);
    expect(target.calls).toHaveLength(2);
    const [first, retry] = target.calls as [Call, Call];
    expect(first.authorization).toBe(`DPoP ${accessToken}`);
    expect(retry.authorization).toMatch(/^DPoP token-\d+$/);
    expect(retry.authorization).not.toBe(first.authorization);
    const proofs = [first, retry].map((r) => decodeJwt(r.dpop!));
    expect(proofs.map((p) => [p.htm, p.htu])).toEqual([
      ['POST', `${target.url}/internal/events`],
      ['POST', `${target.url}/internal/events`],
    ]);
    expect(proofs[0]!.jti).not.toBe(proofs[1]!.jti);
    expect(proofs[0]!.ath).toBe(createHash('sha256').update(accessToken).digest('base64url'));
    expect(proofs[1]!.ath).toBe(createHash('sha256').update(retry.authorization!.slice('DPoP '.length)).digest('base64url'));
  });

  it('a_dpop_sibling_asking_for_a_nonce_gets_one_retry_with_it', async () => {
    endpoint.tokenType = 'DPoP';
    const c = client({ dpop: true });
    target.nonce.value = 'n-1';
    expect(await statusOf(c.axiosRef.get('/x'))).toBe(200);
    expect(target.calls.map((r) => decodeJwt(r.dpop!).nonce)).toEqual([undefined, 'n-1']);
    // Known from now on: the next request carries it at once.
    expect(await statusOf(c.axiosRef.get('/y'))).toBe(200);
    expect(target.calls).toHaveLength(3);
    // A nonce the sibling keeps refusing is not retried for ever.
    target.nonce.value = 'n-2';
    const original = tokens.dpopProof.bind(tokens);
    tokens.dpopProof = (input) => original({ ...input, nonce: 'stale' });
    expect(await statusOf(c.axiosRef.get('/z'))).toBe(401);
    expect(target.calls).toHaveLength(5);
  });

  it('the_nonce_retry_happens_once_even_when_every_refusal_brings_a_new_nonce', async () => {
    endpoint.tokenType = 'DPoP';
    target.nonce.value = 'n-0';
    target.nonce.rotate = true;
    expect(await statusOf(client({ dpop: true }).axiosRef.get('/x'))).toBe(401);
    expect(target.calls).toHaveLength(2);
  });

  it('the_use_dpop_nonce_challenge_is_read_with_spaces_and_without_quotes', async () => {
    endpoint.tokenType = 'DPoP';
    target.nonce.value = 'n-1';
    target.nonce.challenge = 'DPoP algs="ES256", error = use_dpop_nonce';
    expect(await statusOf(client({ dpop: true }).axiosRef.get('/x'))).toBe(200);
    expect(target.calls).toHaveLength(2);
  });

  it('an_invalid_token_challenge_on_an_answer_other_than_401_is_not_retried', async () => {
    const c = client();
    target.status.value = 403;
    await rejectCurrentToken();
    expect(await statusOf(c.axiosRef.get('/x'))).toBe(403);
    expect(target.calls).toHaveLength(1);
  });

  it('a_sibling_that_cannot_be_reached_gives_the_callers_its_connection_error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const c = new SiblingClient({ name: 'gone', baseUrl: `http://127.0.0.1:${port}/internal`, audience: AUDIENCE }, tokens);
    const error = await c.axiosRef.get('/x').catch((e: unknown) => e);
    expect(error).toMatchObject({ isAxiosError: true, code: 'ECONNREFUSED' }); // not a TypeError from the retry logic
  });

  it('a_bearer_sibling_does_not_act_on_dpop_nonce_challenges', async () => {
    target.nonce.value = 'n-1';
    expect(await statusOf(client().axiosRef.get('/x'))).toBe(401);
    expect(target.calls).toHaveLength(1);
  });
});

describe('SiblingClients', () => {
  it('finds_each_configured_sibling_by_name', async () => {
    const endpoint = await new TokenEndpointStub().start();
    const tokens = new M2MTokenService({ tokenEndpoint: endpoint.url, clientId: 'svc', clientSecret: 'secret' });
    try {
      const siblings = new SiblingClients(
        [
          { name: 'audit', baseUrl: 'http://127.0.0.1:1/a', audience: 'https://a.example.test' },
          { name: 'billing', baseUrl: 'http://127.0.0.1:1/b', audience: 'https://b.example.test' },
        ],
        tokens,
      );
      expect(siblings.names()).toEqual(['audit', 'billing']);
      expect(siblings.get('billing')?.sibling.baseUrl).toBe('http://127.0.0.1:1/b');
      expect(siblings.get('billing')?.origin).toBe('http://127.0.0.1:1');
      expect(siblings.get('other')).toBeUndefined();
      expect(getSiblingClientToken('audit')).not.toBe(getSiblingClientToken('billing'));
    } finally {
      await tokens.onModuleDestroy();
      await endpoint.close();
    }
  });
});
