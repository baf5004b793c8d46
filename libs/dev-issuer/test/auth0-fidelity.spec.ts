/**
 * One spec per row of the README table "Auth0 behaviour → ours": each names the Auth0 behaviour it
 * holds the dev issuer to.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, startDevIssuer, type DevIssuer, type DevIssuerConfig } from '../src/index.js';
import { Quotas } from '../src/quota.js';
import { RateLimiter } from '../src/rate-limit.js';
import { credentials, postToken } from './helpers.js';

const RFC9068_API = 'https://rfc9068.nest-m2m.local';
const RATE_LIMIT_MESSAGE = 'Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.';

const config: DevIssuerConfig = {
  apis: [
    { identifier: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents', 'delete:documents'], rbac: true },
    { identifier: AUDIT_API_AUDIENCE, scopes: ['write:audit'], rbac: true },
    { identifier: RFC9068_API, scopes: ['read:things'], rbac: true, accessTokenProfile: 'rfc9068' },
  ],
  clients: [
    {
      clientId: 'caller',
      grants: [
        { audience: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents', 'delete:documents'], organizationUsage: 'allow' },
        { audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'], organizationUsage: 'require', allowAnyOrganization: true },
        { audience: RFC9068_API, scopes: ['read:things'] },
      ],
    },
    { clientId: 'no-client-credentials', grantTypes: ['authorization_code'], grants: [{ audience: DOCUMENTS_API_AUDIENCE, scopes: [] }] },
  ],
  organizations: [
    { id: 'org_acme123', name: 'acme', clientGrants: [{ clientId: 'caller', audience: DOCUMENTS_API_AUDIENCE }] },
    { id: 'org_other456', name: 'other' },
  ],
};

let issuer: DevIssuer;
beforeAll(async () => {
  issuer = await startDevIssuer({ config });
});
afterAll(() => issuer.close());

const token = (params: Record<string, string | string[]> = {}, audience = DOCUMENTS_API_AUDIENCE) =>
  postToken(issuer, { ...credentials(issuer, 'caller', audience), ...params });

describe('Auth0 access token profiles', () => {
  it('issues RFC 9068 profile tokens for an API set to it: typ at+jwt, client_id and jti, no gty or azp', async () => {
    const { status, body } = await token({}, RFC9068_API);
    expect(status).toBe(200);
    expect(decodeProtectedHeader(body.access_token as string).typ).toBe('at+jwt');
    const claims = decodeJwt(body.access_token as string);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'permissions', 'scope', 'sub']);
    expect(claims).toMatchObject({ client_id: 'caller', sub: 'caller@clients', scope: 'read:things' });
    const again = decodeJwt((await token({}, RFC9068_API)).body.access_token as string);
    expect(again.jti).not.toBe(claims.jti);
  });

  it('issues default profile tokens without jti, as Auth0 default profile has none', async () => {
    const { body } = await token();
    expect(decodeProtectedHeader(body.access_token as string).typ).toBe('JWT');
    expect(decodeJwt(body.access_token as string)).not.toHaveProperty('jti');
  });
});

describe('Auth0 organizations for client credentials', () => {
  it('puts org_id in the token of an organization the client grant is associated with', async () => {
    const { status, body } = await token({ organization: 'org_acme123' });
    expect(status).toBe(200);
    const claims = decodeJwt(body.access_token as string);
    expect(claims.org_id).toBe('org_acme123');
    expect(claims).not.toHaveProperty('org_name');
  });

  it('refuses an unknown organization, and a name unless the tenant allows names', async () => {
    for (const organization of ['org_nobody', 'acme']) {
      const { status, body } = await token({ organization });
      expect(status, organization).toBe(403);
      expect(body).toEqual({ error: 'access_denied', error_description: `Organization not found: ${organization}` });
    }
  });

  it('refuses an organization the client grant is not associated with, unless the grant allows any', async () => {
    const refused = await token({ organization: 'org_other456' });
    expect(refused.status).toBe(403);
    expect(refused.body.error_description).toBe(
      `Client is not authorized to access "${DOCUMENTS_API_AUDIENCE}" for organization "org_other456"`,
    );
    const anyOrg = await token({ organization: 'org_other456' }, AUDIT_API_AUDIENCE);
    expect(anyOrg.status).toBe(200);
    expect(decodeJwt(anyOrg.body.access_token as string).org_id).toBe('org_other456');
  });

  it('follows the grant organization_usage: deny refuses an organization, require refuses its absence', async () => {
    const denied = await token({ organization: 'org_acme123' }, RFC9068_API);
    expect(denied.status).toBe(403);
    expect(denied.body.error_description).toBe(`Organizations are not allowed for the client grant to "${RFC9068_API}"`);
    const missing = await token({}, AUDIT_API_AUDIENCE);
    expect(missing.status).toBe(403);
    expect(missing.body.error_description).toBe(`An organization is required to access "${AUDIT_API_AUDIENCE}"`);
  });

  it('takes an organization name and adds org_name when the tenant allows names in the Authentication API', async () => {
    const named = await startDevIssuer({ config: { ...config, tenant: { allowOrganizationNameInAuthenticationApi: true } } });
    try {
      const { status, body } = await postToken(named, { ...credentials(named, 'caller', DOCUMENTS_API_AUDIENCE), organization: 'acme' });
      expect(status).toBe(200);
      expect(decodeJwt(body.access_token as string)).toMatchObject({ org_id: 'org_acme123', org_name: 'acme' });
    } finally {
      await named.close();
    }
  });

  it('refuses a config whose organization names a client grant that does not exist', async () => {
    const bad = {
      ...config,
      organizations: [{ id: 'org_x', name: 'x', clientGrants: [{ clientId: 'caller', audience: 'https://nowhere.local' }] }],
    };
    await expect(startDevIssuer({ config: bad })).rejects.toThrow(
      'organizations[0].clientGrants[0]: client "caller" has no grant for "https://nowhere.local"',
    );
  });
});

describe('Auth0 Resource Parameter Compatibility Profile', () => {
  it('ignores resource by default, as Auth0 does without the profile', async () => {
    const { status, body } = await postToken(
      issuer,
      { ...credentials(issuer, 'caller'), resource: DOCUMENTS_API_AUDIENCE },
      { form: true },
    );
    expect(status).toBe(403);
    expect(body.error_description).toBe('No audience parameter was provided, and no default audience has been configured');
  });

  describe('with tenant.resourceParameterProfile compatibility', () => {
    let compat: DevIssuer;
    beforeAll(async () => {
      compat = await startDevIssuer({ config: { ...config, tenant: { resourceParameterProfile: 'compatibility' } } });
    });
    afterAll(() => compat.close());
    const compatToken = (params: Record<string, string | string[]>) =>
      postToken(compat, { ...credentials(compat, 'caller'), ...params }, { form: true });

    it('takes resource in place of audience', async () => {
      const { status, body } = await compatToken({ resource: DOCUMENTS_API_AUDIENCE });
      expect(status).toBe(200);
      expect(decodeJwt(body.access_token as string).aud).toBe(DOCUMENTS_API_AUDIENCE);
    });

    it('uses audience when both are sent, as Auth0 does', async () => {
      const { status, body } = await compatToken({ audience: DOCUMENTS_API_AUDIENCE, resource: RFC9068_API });
      expect(status).toBe(200);
      expect(decodeJwt(body.access_token as string).aud).toBe(DOCUMENTS_API_AUDIENCE);
    });

    it('refuses several resources or a relative one with invalid_target (RFC 8707)', async () => {
      for (const resource of [[DOCUMENTS_API_AUDIENCE, RFC9068_API], 'documents']) {
        const { status, body } = await compatToken({ resource });
        expect(status).toBe(400);
        expect(body.error).toBe('invalid_target');
      }
    });
  });
});

describe('Auth0 token response scope', () => {
  it('omits scope when the requested scopes are the granted ones, in any order', async () => {
    const { status, body } = await token({ scope: 'delete:documents read:documents' });
    expect(status).toBe(200);
    expect(body).not.toHaveProperty('scope');
    expect(decodeJwt(body.access_token as string).scope).toBe('read:documents delete:documents');
  });

  it('names the granted scopes when no scope was requested', async () => {
    expect((await token()).body.scope).toBe('read:documents delete:documents');
  });
});

describe('Auth0 rate limit headers', () => {
  it('sends X-RateLimit-Limit, -Remaining and -Reset on successful token responses', async () => {
    const before = Date.now() / 1000;
    const { status, headers } = await token();
    expect(status).toBe(200);
    expect(headers.get('x-ratelimit-limit')).toBe('100');
    expect(Number(headers.get('x-ratelimit-remaining'))).toBeLessThan(100);
    expect(Number(headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(Math.floor(before));
  });

  it('refuses past the limit with 429, Auth0 message, its headers and Retry-After', async () => {
    const limited = await startDevIssuer({ config, rateLimit: { limit: 2, windowSeconds: 3600 } });
    try {
      const send = () => postToken(limited, credentials(limited, 'caller', DOCUMENTS_API_AUDIENCE));
      expect((await send()).headers.get('x-ratelimit-remaining')).toBe('1');
      expect((await send()).headers.get('x-ratelimit-remaining')).toBe('0');
      const refused = await send();
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({ error: 'too_many_requests', error_description: RATE_LIMIT_MESSAGE });
      expect(refused.headers.get('x-ratelimit-limit')).toBe('2');
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(1000);
      expect(refused.headers.get('cache-control')).toBe('no-store');
    } finally {
      await limited.close();
    }
  });

  it('refills the bucket at limit per window (token bucket)', () => {
    const limiter = new RateLimiter({ limit: 2, windowSeconds: 10 });
    limiter.take(1000);
    limiter.take(1000);
    expect(() => limiter.take(1000)).toThrow(RATE_LIMIT_MESSAGE);
    expect(limiter.take(1005)['X-RateLimit-Remaining']).toBe('0');
    expect(limiter.take(1010)).toEqual({ 'X-RateLimit-Limit': '2', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1020' });
  });

  it('sends no rate limit headers with rateLimit: false', async () => {
    const unlimited = await startDevIssuer({ config, rateLimit: false });
    try {
      const { headers } = await postToken(unlimited, credentials(unlimited, 'caller', DOCUMENTS_API_AUDIENCE));
      expect(headers.get('x-ratelimit-limit')).toBeNull();
    } finally {
      await unlimited.close();
    }
  });
});

describe('Auth0 client quotas: UTC hour and day buckets', () => {
  const at = (iso: string) => Date.parse(iso) / 1000;

  it('starts a new hourly bucket at the full UTC hour, not an hour after the first token', () => {
    const quotas = new Quotas(new Map([['c', { perHour: 1 }]]));
    expect(quotas.consume('c', at('2026-01-01T10:59:30Z'))).toEqual({ 'Auth0-Client-Quota-Limit': 'b=per_hour;q=1;r=0;t=30' });
    expect(quotas.check('c', at('2026-01-01T10:59:50Z')).exceeded).toBe(true);
    expect(quotas.check('c', at('2026-01-01T11:00:05Z'))).toEqual({
      exceeded: false,
      headers: { 'Auth0-Client-Quota-Limit': 'b=per_hour;q=1;r=1;t=3595' },
    });
  });

  it('keeps a daily bucket per UTC day beside the hourly one, in one comma-separated header', () => {
    const quotas = new Quotas(new Map([['c', { perHour: 5, perDay: 2 }]]));
    quotas.consume('c', at('2026-01-01T08:00:00Z'));
    expect(quotas.consume('c', at('2026-01-01T20:00:00Z'))).toEqual({
      'Auth0-Client-Quota-Limit': 'b=per_hour;q=5;r=4;t=3600,b=per_day;q=2;r=0;t=14400',
    });
    const refused = quotas.check('c', at('2026-01-01T23:00:00Z'));
    expect(refused.exceeded).toBe(true);
    expect(refused.headers['Retry-After']).toBe('3600');
    expect(quotas.check('c', at('2026-01-02T00:00:01Z')).exceeded).toBe(false);
  });

  it('applies quotaPerDay from the config over HTTP', async () => {
    const daily = await startDevIssuer({
      config: { ...config, clients: config.clients.map((c) => (c.clientId === 'caller' ? { ...c, quotaPerDay: 1 } : c)) },
    });
    try {
      const send = () => postToken(daily, credentials(daily, 'caller', DOCUMENTS_API_AUDIENCE));
      expect((await send()).headers.get('auth0-client-quota-limit')).toMatch(/^b=per_day;q=1;r=0;t=\d+$/);
      const refused = await send();
      expect(refused.status).toBe(429);
      expect(refused.body.error).toBe('too_many_requests');
    } finally {
      await daily.close();
    }
  });
});

describe('Auth0 client grant types', () => {
  it('refuses a client without client_credentials in its grant types with unauthorized_client and error_uri', async () => {
    const { status, body } = await postToken(issuer, credentials(issuer, 'no-client-credentials', DOCUMENTS_API_AUDIENCE));
    expect(status).toBe(403);
    expect(body).toEqual({
      error: 'unauthorized_client',
      error_description: "Grant type 'client_credentials' not allowed for the client.",
      error_uri: 'https://auth0.com/docs/clients/client-grant-types',
    });
  });
});

describe('Auth0 JWKS and discovery', () => {
  it('publishes x5c, a certificate of the same public key, and x5t, its SHA-1 thumbprint', async () => {
    const response = await fetch(issuer.jwksUri);
    const [key] = ((await response.json()) as { keys: Array<Record<string, unknown>> }).keys;
    const der = Buffer.from((key!.x5c as string[])[0]!, 'base64');
    const certificate = new X509Certificate(der);
    expect(certificate.publicKey.export({ format: 'jwk' })).toMatchObject({ kty: 'RSA', n: key!.n, e: key!.e });
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(key!.x5t).toBe(createHash('sha1').update(der).digest('base64url'));
  });

  it('answers JWKS with our own documented Cache-Control', async () => {
    const response = await fetch(issuer.jwksUri);
    expect(response.headers.get('cache-control')).toBe('public, max-age=15, stale-while-revalidate=15, stale-if-error=86400');
  });
});

describe('TLS mode', () => {
  let secure: DevIssuer;
  beforeAll(async () => {
    secure = await startDevIssuer({ config, tls: true });
  });
  afterAll(() => secure.close());

  function getOverTls(url: string, ca: string | undefined): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      httpsRequest(url, { ca }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });
  }

  it('serves https with an https issuer, and the written CA file is what clients must trust', async () => {
    expect(secure.issuer).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect(secure.ca?.pem).toContain('-----BEGIN CERTIFICATE-----');
    expect(await readFile(secure.ca!.file, 'utf8')).toBe(secure.ca!.pem);
    const discovery = await getOverTls(`${secure.url}/.well-known/openid-configuration`, secure.ca!.pem);
    expect(discovery.status).toBe(200);
    expect(JSON.parse(discovery.body)).toMatchObject({ issuer: secure.issuer, token_endpoint: `${secure.url}/oauth/token` });
    await expect(getOverTls(`${secure.url}/.well-known/jwks.json`, undefined)).rejects.toThrow(
      /self[- ]signed|unable to verify|local issuer/i,
    );
  });

  it('gets a token over TLS with getToken', async () => {
    const accessToken = await secure.getToken({ clientId: 'caller', audience: DOCUMENTS_API_AUDIENCE });
    expect(decodeJwt(accessToken).iss).toBe(secure.issuer);
  });

  it('writes the CA to a chosen file and keeps it, and removes a temporary one on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dev-issuer-ca-'));
    try {
      const chosen = await startDevIssuer({ config, tls: { caFile: join(dir, 'nested', 'ca.pem') } });
      await chosen.close();
      expect(await readFile(join(dir, 'nested', 'ca.pem'), 'utf8')).toBe(chosen.ca!.pem);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const temporary = await startDevIssuer({ config, tls: true });
    await temporary.close();
    await expect(stat(temporary.ca!.file)).rejects.toThrow(/ENOENT/);
  });
});
