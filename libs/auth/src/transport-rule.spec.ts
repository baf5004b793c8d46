/**
 * One transport rule for every URL, configured or discovered: https, or plain http to this machine.
 * The discovery documents below name `http://example.invalid/…`; nothing may ever fetch them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { assertAuthOptions } from './auth.options.assert.js';
import { IssuerDiscovery } from './issuer-discovery.js';
import { KeySource } from './key-source.js';
import { assertM2MOptions } from './m2m/m2m.options.js';
import { TokenEndpointClient } from './m2m/token-endpoint.client.js';

describe('one https-or-loopback rule for every URL', () => {
  let server: Server;
  let base = '';
  const documents = new Map<string, Record<string, unknown>>();
  const requested: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      requested.push(req.url ?? '');
      const doc = [...documents].find(([prefix]) => req.url?.startsWith(`/${prefix}/`))?.[1];
      res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(doc ?? {}));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => vi.restoreAllMocks());

  /** Every URL handed to the global fetch (discovery, JWKS and token requests all use it). */
  const watchFetch = () => {
    const real = globalThis.fetch;
    return vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => real(input, init));
  };
  const hosts = (spy: ReturnType<typeof watchFetch>) =>
    spy.mock.calls.map(([input]) => new URL(input instanceof Request ? input.url : String(input as string | URL)).hostname);

  /** An issuer on 127.0.0.1 whose discovery document names these endpoints. */
  const issuerServing = (name: string, endpoints: Record<string, string>): string => {
    const issuer = `${base}/${name}`;
    documents.set(name, { issuer, ...endpoints });
    return issuer;
  };

  it('a_discovered_plain_http_jwks_uri_to_another_host_is_refused_naming_the_rule', async () => {
    const issuer = issuerServing('http-jwks', { jwks_uri: 'http://example.invalid/jwks.json', token_endpoint: `${base}/token` });
    const fetchSpy = watchFetch();
    await expect(new IssuerDiscovery(issuer, 2000).get()).rejects.toThrow(
      /jwks_uri http:\/\/example\.invalid\/jwks\.json, which must be an https:\/\/ URL \(http:\/\/ only for loopback hosts/,
    );
    expect(hosts(fetchSpy)).not.toContain('example.invalid');
  });

  it('a_discovered_plain_http_token_endpoint_to_another_host_is_refused_naming_the_rule', async () => {
    const issuer = issuerServing('http-token', { jwks_uri: `${base}/jwks.json`, token_endpoint: 'http://example.invalid/oauth/token' });
    await expect(new IssuerDiscovery(issuer, 2000).get()).rejects.toThrow(
      /token_endpoint http:\/\/example\.invalid\/oauth\/token, which must be an https:\/\/ URL/,
    );
  });

  it('discovered_https_and_loopback_endpoints_are_accepted', async () => {
    const issuer = issuerServing('fine', {
      jwks_uri: 'https://keys.example.com/jwks.json',
      token_endpoint: 'http://127.0.0.2:8080/oauth/token',
    });
    await expect(new IssuerDiscovery(issuer, 2000).get()).resolves.toEqual({
      issuer,
      jwks_uri: 'https://keys.example.com/jwks.json',
      token_endpoint: 'http://127.0.0.2:8080/oauth/token',
    });
  });

  it('a_key_source_never_fetches_a_plain_http_jwks_on_another_host_and_answers_503', async () => {
    const fetchSpy = watchFetch();
    const keys = new KeySource({
      resolveJwksUri: async () => 'http://example.invalid/jwks.json',
      algorithms: ['RS256'],
      timeoutMs: 2000,
      cooldownMs: 10_000,
      maxAgeMs: 60_000,
      staleIfErrorMs: 60_000,
      clockToleranceMs: 0,
      clock: { now: () => Date.now() },
    });
    await expect(keys.getKey('k', 'RS256')).rejects.toMatchObject({ status: 503 });
    expect(keys.ready).toBe(false);
    expect(hosts(fetchSpy)).not.toContain('example.invalid');
  });

  it('a_resolved_plain_http_token_endpoint_on_another_host_gets_no_client_secret', async () => {
    const fetchSpy = watchFetch();
    const client = new TokenEndpointClient({
      clientId: 'svc',
      clientSecret: 'secret',
      resolveTokenEndpoint: async () => 'http://example.invalid/oauth/token',
    });
    await expect(client.requestToken({ audience: 'https://api' })).rejects.toMatchObject({
      code: 'ERR_M2M_INSECURE_TOKEN_ENDPOINT',
      retryable: false,
      message: expect.stringMatching(/http:\/\/example\.invalid\/oauth\/token refused: the URL must be an https:\/\/ URL/),
    });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('configured_plain_http_urls_to_other_hosts_are_option_errors_in_both_modules', () => {
    const auth = { issuer: 'https://issuer.example.com/', audience: 'https://api' };
    expect(() => assertAuthOptions({ ...auth, issuer: 'http://issuer.example.com/' })).toThrow(
      new TypeError("'issuer' must be an https:// URL (http:// only for loopback hosts: localhost, 127.0.0.0/8, [::1])"),
    );
    expect(() => assertAuthOptions({ ...auth, jwksUri: 'http://issuer.example.com/jwks.json' })).toThrow(
      /'jwksUri' must be an https:\/\/ URL/,
    );
    expect(() => assertAuthOptions({ ...auth, jwksUri: 'http://localhost:3000/jwks.json' })).not.toThrow();
    const m2m = { clientId: 'svc', clientSecret: 's' };
    expect(() => assertM2MOptions({ ...m2m, tokenEndpoint: 'http://issuer.example.com/oauth/token' })).toThrow(
      /'tokenEndpoint' must be an https:\/\/ URL/,
    );
    expect(() =>
      assertM2MOptions({ ...m2m, tokenEndpoint: 'https://issuer.example.com/oauth/token', issuer: 'http://issuer.example.com/' }),
    ).toThrow(/'issuer' must be an https:\/\/ URL/);
    expect(() =>
      assertM2MOptions({
        ...m2m,
        tokenEndpoint: 'https://issuer.example.com/oauth/token',
        siblings: [{ name: 'a', baseUrl: 'http://audit.internal', audience: 'x' }],
      }),
    ).toThrow(/'siblings\[0\]\.baseUrl' must be an https:\/\/ URL/);
    expect(() => assertM2MOptions({ ...m2m, tokenEndpoint: 'http://[::1]:8080/oauth/token' })).not.toThrow();
  });
});
