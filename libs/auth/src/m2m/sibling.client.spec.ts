import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TokenEndpointStub } from '../../test/token-endpoint.stub.js';
import { M2MTokenService } from './m2m-token.service.js';
import type { SiblingServiceOptions } from './m2m.options.js';
import { SiblingClient } from './sibling.client.js';

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
