import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { IssuerDiscovery, isSecureUrl } from '@nest-m2m/auth';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/app-config.js';
import { resolveTokenEndpoint } from '../src/config/token-endpoint.js';
import { createApp } from '../src/bootstrap.js';

const run = promisify(execFile);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('every_problem_is_reported_at_once_with_variable_names', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      PORT: 'eighty',
      AUTH_ALGORITHMS: 'HS256',
      TOKEN_CACHE_URL: 'http://redis',
      AUTH_CLOCK_TOLERANCE_SECONDS: '-1',
    });
    const text = problems.join('\n');
    for (const name of ['PORT', 'AUTH_ALGORITHMS', 'TOKEN_CACHE_URL', 'AUTH_CLOCK_TOLERANCE_SECONDS', 'AUTH0_DOMAIN', 'AUTH0_AUDIENCE']) {
      expect(text).toContain(name);
    }
  });

  it('production_without_an_issuer_names_the_missing_variables', () => {
    const text = problemsOf({ NODE_ENV: 'production' }).join('\n');
    expect(text).toMatch(/AUTH0_DOMAIN or AUTH_ISSUER_URL/);
    expect(text).toContain('AUTH0_AUDIENCE');
  });

  it('an_issuer_without_an_audience_is_a_startup_error', () => {
    expect(problemsOf({ AUTH0_DOMAIN: 'acme.us.auth0.com' }).join('\n')).toContain('AUTH0_AUDIENCE');
  });

  it('a_secret_value_never_appears_in_the_error', () => {
    const secret = 'super-secret-value-123';
    const problems = problemsOf({
      AUTH0_DOMAIN: 'https://acme.us.auth0.com',
      AUTH0_CLIENT_SECRET: secret,
      TOKEN_CACHE_ENCRYPTION_KEY: secret,
    });
    const text = problems.join('\n');
    expect(text).toContain('AUTH0_DOMAIN');
    expect(text).toContain('AUTH0_CLIENT_ID');
    expect(text).not.toContain(secret);
  });

  it('plain_http_issuers_are_refused_unless_loopback', () => {
    expect(problemsOf({ AUTH_ISSUER_URL: 'http://issuer.example.com/', AUTH0_AUDIENCE: 'a' }).join()).toContain('AUTH_ISSUER_URL');
    expect(loadConfig({ AUTH_ISSUER_URL: 'http://127.0.0.1:9/', AUTH0_AUDIENCE: 'a' }).issuer.issuer).toBe('http://127.0.0.1:9/');
  });

  it('every_url_variable_follows_the_libraries_https_or_loopback_rule', () => {
    const urls = [
      'https://issuer.example.com/',
      'http://issuer.example.com/',
      'http://127.0.0.2:9/',
      'http://localhost:9/',
      'http://[::1]:9/',
      'http://10.0.0.1/',
      'ftp://127.0.0.1/',
    ];
    for (const name of ['AUTH_ISSUER_URL', 'AUTH_JWKS_URI', 'AUTH_TOKEN_URL', 'AUDIT_SERVICE_URL']) {
      for (const url of urls) {
        const refused = problemsOf({ [name]: url, NODE_ENV: 'production' }).some((p) => p.startsWith(`${name}:`));
        expect(refused, `${name}=${url}`).toBe(!isSecureUrl(url));
      }
    }
  });

  it('a_discovered_plain_http_token_endpoint_on_another_host_is_refused_with_the_rule', async () => {
    let issuer = '';
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}jwks.json`, token_endpoint: 'http://example.invalid/oauth/token' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const config = loadConfig({ AUTH_ISSUER_URL: issuer, AUTH0_AUDIENCE: 'a', AUTH0_CLIENT_ID: 'svc', AUTH0_CLIENT_SECRET: 's' });
      await expect(resolveTokenEndpoint(config, new IssuerDiscovery(issuer, 2000))).rejects.toThrow(
        /token_endpoint http:\/\/example\.invalid\/oauth\/token, which must be an https:\/\/ URL/,
      );
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('auth0_domain_derives_issuer_jwks_token_endpoint_and_dialect', () => {
    const config = loadConfig({
      AUTH0_DOMAIN: 'acme.us.auth0.com',
      AUTH0_AUDIENCE: 'https://api.acme, https://other',
      AUTH0_CLIENT_ID: 'svc',
      AUTH0_CLIENT_SECRET: 's',
    });
    expect(config.issuer).toEqual({
      issuer: 'https://acme.us.auth0.com/',
      audience: ['https://api.acme', 'https://other'],
      jwksUri: 'https://acme.us.auth0.com/.well-known/jwks.json',
      auth0: true,
    });
    expect(config.client).toMatchObject({
      dialect: 'auth0',
      clientAuth: 'client_secret_post',
      tokenEndpoint: 'https://acme.us.auth0.com/oauth/token',
    });
  });

  it('auth_issuer_url_wins_and_uses_discovery_and_the_standards_dialect', () => {
    const config = loadConfig({
      AUTH0_DOMAIN: 'acme.us.auth0.com',
      AUTH_ISSUER_URL: 'https://login.example.com/realms/x',
      AUTH0_AUDIENCE: 'api',
      AUTH0_CLIENT_ID: 'svc',
      AUTH0_CLIENT_SECRET: 's',
    });
    expect(config.issuer.issuer).toBe('https://login.example.com/realms/x');
    expect(config.issuer.jwksUri).toBeUndefined();
    expect(config.client).toMatchObject({ dialect: 'standard', clientAuth: 'client_secret_basic', tokenEndpoint: undefined });
  });

  it('private_key_jwt_needs_a_readable_key_file', () => {
    expect(
      problemsOf({ AUTH0_DOMAIN: 'a.auth0.com', AUTH0_AUDIENCE: 'x', AUTH0_CLIENT_ID: 'svc', AUTH_CLIENT_AUTH: 'private_key_jwt' }).join(),
    ).toContain('AUTH_CLIENT_PRIVATE_KEY_FILE');
    expect(
      problemsOf({
        AUTH0_DOMAIN: 'a.auth0.com',
        AUTH0_AUDIENCE: 'x',
        AUTH0_CLIENT_ID: 'svc',
        AUTH_CLIENT_AUTH: 'private_key_jwt',
        AUTH_CLIENT_PRIVATE_KEY_FILE: '/nonexistent/key.pem',
      }).join(),
    ).toContain('AUTH_CLIENT_PRIVATE_KEY_FILE: cannot be read');
  });

  it('the_audit_token_asks_for_write_audit_unless_audit_service_scopes_says_otherwise', () => {
    const base = { AUTH_ISSUER_URL: 'https://login.example.com', AUTH0_AUDIENCE: 'api', AUTH0_CLIENT_ID: 'svc', AUTH0_CLIENT_SECRET: 's' };
    const sibling = { ...base, AUDIT_SERVICE_URL: 'https://audit.example.com', AUDIT_SERVICE_AUDIENCE: 'https://audit.example.com/api' };
    expect(loadConfig(sibling).audit).toEqual({
      url: 'https://audit.example.com',
      audience: 'https://audit.example.com/api',
      scopes: ['write:audit'],
    });
    expect(loadConfig({ ...sibling, AUDIT_SERVICE_SCOPES: ' ' }).audit?.scopes).toEqual(['write:audit']);
    expect(loadConfig({ ...sibling, AUDIT_SERVICE_SCOPES: 'audit.write  audit.tenant,extra' }).audit?.scopes).toEqual([
      'audit.write',
      'audit.tenant',
      'extra',
    ]);
    expect(problemsOf({ ...sibling, AUDIT_SERVICE_SCOPES: 'write:audit "quoted"' }).join()).toContain(
      'AUDIT_SERVICE_SCOPES: must be OAuth scopes',
    );
  });

  it('token_cache_key_prefix_is_validated_and_needs_token_cache_url', () => {
    const base = { AUTH_ISSUER_URL: 'https://login.example.com', AUTH0_AUDIENCE: 'api' };
    expect(
      loadConfig({ ...base, TOKEN_CACHE_URL: 'redis://127.0.0.1:6379', TOKEN_CACHE_KEY_PREFIX: 'orders:prod:' }).env.TOKEN_CACHE_KEY_PREFIX,
    ).toBe('orders:prod:');
    expect(problemsOf({ ...base, TOKEN_CACHE_KEY_PREFIX: 'orders:' }).join()).toContain(
      'TOKEN_CACHE_KEY_PREFIX: is only used with TOKEN_CACHE_URL',
    );
    expect(problemsOf({ ...base, TOKEN_CACHE_URL: 'redis://127.0.0.1:6379', TOKEN_CACHE_KEY_PREFIX: 'has space' }).join()).toContain(
      'TOKEN_CACHE_KEY_PREFIX',
    );
  });

  it('a_shared_token_cache_without_an_encryption_key_is_a_startup_error_in_production', () => {
    const prod = { NODE_ENV: 'production', AUTH_ISSUER_URL: 'https://login.example.com', AUTH0_AUDIENCE: 'api', PORT: 'eighty' };
    // Reported with every other problem, naming the variable to set.
    const problems = problemsOf({ ...prod, TOKEN_CACHE_URL: 'rediss://redis.internal:6380' });
    expect(problems.join('\n')).toContain('PORT');
    expect(problems.join('\n')).toMatch(/TOKEN_CACHE_ENCRYPTION_KEY: is required with TOKEN_CACHE_URL in production/);
    const key = 'a'.repeat(64);
    const ok = loadConfig({ ...prod, PORT: '3000', TOKEN_CACHE_URL: 'rediss://redis.internal:6380', TOKEN_CACHE_ENCRYPTION_KEY: key });
    expect(ok.env.TOKEN_CACHE_URL).toBe('rediss://redis.internal:6380');
    // Outside production (local Redis, tests) plain text stays allowed.
    expect(
      loadConfig({ AUTH_ISSUER_URL: 'https://login.example.com', AUTH0_AUDIENCE: 'api', TOKEN_CACHE_URL: 'redis://127.0.0.1:6379' }).env
        .TOKEN_CACHE_URL,
    ).toBe('redis://127.0.0.1:6379');
  });

  it('the_verified_token_cache_has_a_byte_budget_of_32_mib_by_default', () => {
    const base = { AUTH_ISSUER_URL: 'https://login.example.com', AUTH0_AUDIENCE: 'api' };
    expect(loadConfig(base).env.VERIFIED_TOKEN_CACHE_MAX_BYTES).toBe(32 * 1024 * 1024);
    expect(loadConfig({ ...base, VERIFIED_TOKEN_CACHE_MAX_BYTES: '1048576' }).env.VERIFIED_TOKEN_CACHE_MAX_BYTES).toBe(1048576);
    expect(problemsOf({ ...base, VERIFIED_TOKEN_CACHE_MAX_BYTES: '32MiB' }).join()).toContain('VERIFIED_TOKEN_CACHE_MAX_BYTES');
  });

  it('server_timeouts_are_validated_and_headers_may_not_outlast_the_request', () => {
    expect(problemsOf({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '0', HTTP_MAX_CONNECTIONS: '0' }).join('\n')).toMatch(
      /HTTP_KEEP_ALIVE_TIMEOUT_MS[\s\S]*HTTP_MAX_CONNECTIONS/,
    );
    expect(problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toEqual([
      'HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS',
    ]);
  });

  it('booting_the_app_with_bad_configuration_fails_with_the_config_error', async () => {
    await expect(
      createApp({ env: { NODE_ENV: 'production', AUTH0_DOMAIN: undefined, AUTH_ISSUER_URL: undefined } }, false),
    ).rejects.toThrow(/AUTH0_DOMAIN or AUTH_ISSUER_URL/);
  });

  it('the_process_exits_non_zero_with_one_message_listing_every_problem', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: 'x',
      AUTH0_CLIENT_SECRET: 'sekrit-do-not-print',
    };
    const result = await run(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, timeout: 20_000 }).then(
      () => ({ code: 0, stderr: '', stdout: '' }),
      (err: unknown) => err as { code: number; stderr: string; stdout: string },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    for (const name of ['PORT', 'AUTH0_DOMAIN', 'AUTH0_AUDIENCE', 'AUTH0_CLIENT_ID']) expect(result.stderr).toContain(name);
    expect(result.stderr + result.stdout).not.toContain('sekrit-do-not-print');
  });
});
