import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, startDevIssuer, type DevIssuer, type DevIssuerConfig } from '../src/index.js';
import { basicHeader, credentials, postToken, secretOf } from './helpers.js';

const REPORTS_API = 'https://reports.nest-m2m.local';
const ODD_CLIENT_ID = 'odd client:id/ü';
const ODD_SECRET = 'p@ss:word+with/special chars%é';

const config: DevIssuerConfig = {
  apis: [
    { identifier: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents', 'delete:documents'], rbac: true },
    { identifier: AUDIT_API_AUDIENCE, scopes: ['write:audit', 'read:audit'], rbac: true, tokenLifetimeSeconds: 300 },
    { identifier: REPORTS_API, scopes: ['read:reports'], rbac: false },
    { identifier: 'https://unused.nest-m2m.local', scopes: [] },
  ],
  clients: [
    {
      clientId: 'documents-caller',
      tokenEndpointAuthMethod: 'client_secret_post',
      grants: [
        { audience: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents', 'delete:documents'] },
        { audience: REPORTS_API, scopes: ['read:reports'] },
      ],
    },
    {
      clientId: 'basic-only',
      tokenEndpointAuthMethod: 'client_secret_basic',
      grants: [{ audience: AUDIT_API_AUDIENCE, scopes: ['read:audit'] }],
    },
    {
      clientId: ODD_CLIENT_ID,
      clientSecret: ODD_SECRET,
      tokenEndpointAuthMethod: 'any',
      grants: [{ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] }],
    },
    { clientId: 'no-grants', grants: [] },
  ],
};

let issuer: DevIssuer;
beforeAll(async () => {
  issuer = await startDevIssuer({ config, tokenLifetimeSeconds: 7200 });
});
afterAll(() => issuer.close());

describe('dev issuer token endpoint: client authentication', () => {
  it('issues a token to a client_secret_post client with a JSON body', async () => {
    const { status, body } = await postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE));
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 7200, scope: 'read:documents delete:documents' });
    expect(typeof body.access_token).toBe('string');
  });

  it('issues a token to a client_secret_post client with a form body', async () => {
    const { status, body } = await postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE), { form: true });
    expect(status).toBe(200);
    expect(body.token_type).toBe('Bearer');
  });

  it('accepts a content type with a charset parameter', async () => {
    const { status } = await postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE), {
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    expect(status).toBe(200);
  });

  it('issues a token to a client_secret_basic client', async () => {
    const { status, body } = await postToken(
      issuer,
      { grant_type: 'client_credentials', audience: AUDIT_API_AUDIENCE },
      { form: true, headers: { Authorization: basicHeader('basic-only', secretOf(issuer, 'basic-only')) } },
    );
    expect(status).toBe(200);
    expect(body.scope).toBe('read:audit');
  });

  it('url-decodes basic credentials as RFC 6749 section 2.3.1 requires', async () => {
    const { status, body } = await postToken(
      issuer,
      { grant_type: 'client_credentials', audience: AUDIT_API_AUDIENCE },
      { headers: { Authorization: basicHeader(ODD_CLIENT_ID, ODD_SECRET) } },
    );
    expect(status).toBe(200);
    expect(decodeJwt(body.access_token as string).azp).toBe(ODD_CLIENT_ID);
  });

  it('accepts a body client_id that repeats the basic client id', async () => {
    const { status } = await postToken(
      issuer,
      { grant_type: 'client_credentials', client_id: 'basic-only', audience: AUDIT_API_AUDIENCE },
      { headers: { Authorization: basicHeader('basic-only', secretOf(issuer, 'basic-only')) } },
    );
    expect(status).toBe(200);
  });

  it('refuses a body client_id that differs from the basic client id with invalid_request', async () => {
    const { status, body } = await postToken(
      issuer,
      { grant_type: 'client_credentials', client_id: 'documents-caller', audience: AUDIT_API_AUDIENCE },
      { headers: { Authorization: basicHeader('basic-only', secretOf(issuer, 'basic-only')) } },
    );
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_request');
  });

  it('lets an any-method client authenticate by post too', async () => {
    const { status } = await postToken(issuer, {
      grant_type: 'client_credentials',
      client_id: ODD_CLIENT_ID,
      client_secret: ODD_SECRET,
      audience: AUDIT_API_AUDIENCE,
    });
    expect(status).toBe(200);
  });

  it('answers a wrong secret of a known client with 401 access_denied Unauthorized, like Auth0', async () => {
    const { status, body, headers } = await postToken(issuer, {
      ...credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE),
      client_secret: 'wrong-secret',
    });
    expect(status).toBe(401);
    expect(body).toEqual({ error: 'access_denied', error_description: 'Unauthorized' });
    expect(headers.get('www-authenticate')).toBeNull();
  });

  it('answers a wrong basic secret with a Basic challenge, as RFC 6749 section 5.2 requires', async () => {
    const { status, body, headers } = await postToken(
      issuer,
      { grant_type: 'client_credentials', audience: AUDIT_API_AUDIENCE },
      { headers: { Authorization: basicHeader('basic-only', 'wrong-secret') } },
    );
    expect(status).toBe(401);
    expect(body.error).toBe('access_denied');
    expect(headers.get('www-authenticate')).toBe('Basic realm="dev-issuer"');
  });

  it('answers an unknown client with 401 invalid_client', async () => {
    const { status, body } = await postToken(issuer, {
      grant_type: 'client_credentials',
      client_id: 'nobody',
      client_secret: 'whatever-secret',
      audience: DOCUMENTS_API_AUDIENCE,
    });
    expect(status).toBe(401);
    expect(body).toEqual({ error: 'invalid_client', error_description: 'Unknown client' });
  });

  it('answers a client using a method it is not registered for with 401 invalid_client', async () => {
    const post = await postToken(issuer, credentials(issuer, 'basic-only', AUDIT_API_AUDIENCE));
    expect(post.status).toBe(401);
    expect(post.body).toEqual({
      error: 'invalid_client',
      error_description: 'Client is not allowed to authenticate with client_secret_post',
    });
    const basic = await postToken(
      issuer,
      { grant_type: 'client_credentials', audience: DOCUMENTS_API_AUDIENCE },
      { headers: { Authorization: basicHeader('documents-caller', secretOf(issuer, 'documents-caller')) } },
    );
    expect(basic.status).toBe(401);
    expect(basic.body.error).toBe('invalid_client');
  });

  it('refuses two authentication methods at once with 400 invalid_request', async () => {
    const { status, body } = await postToken(issuer, credentials(issuer, ODD_CLIENT_ID, AUDIT_API_AUDIENCE), {
      headers: { Authorization: basicHeader(ODD_CLIENT_ID, ODD_SECRET) },
    });
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_request');
    expect(body.error_description).toMatch(/Only one client authentication method/);
  });

  it('answers a known client without credentials with 401 invalid_client', async () => {
    const { status, body } = await postToken(issuer, {
      grant_type: 'client_credentials',
      client_id: 'documents-caller',
      audience: DOCUMENTS_API_AUDIENCE,
    });
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
  });

  it('refuses a malformed basic header with 400 invalid_request', async () => {
    const { status, body } = await postToken(
      issuer,
      { grant_type: 'client_credentials' },
      { headers: { Authorization: 'Basic !!!notbase64' } },
    );
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_request');
  });
});

describe('dev issuer token endpoint: request errors', () => {
  it('answers a missing grant_type with 400 invalid_request', async () => {
    const { grant_type: _, ...params } = credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE);
    const { status, body } = await postToken(issuer, params);
    expect(status).toBe(400);
    expect(body).toEqual({ error: 'invalid_request', error_description: 'Missing required parameter: grant_type' });
  });

  it('answers another grant type with 400 unsupported_grant_type', async () => {
    const { status, body } = await postToken(issuer, {
      ...credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE),
      grant_type: 'password',
    });
    expect(status).toBe(400);
    expect(body).toEqual({ error: 'unsupported_grant_type', error_description: 'Unsupported grant type: password' });
  });

  it('answers a missing client_id with 400 invalid_request', async () => {
    const { status, body } = await postToken(issuer, { grant_type: 'client_credentials', audience: DOCUMENTS_API_AUDIENCE });
    expect(status).toBe(400);
    expect(body).toEqual({ error: 'invalid_request', error_description: 'Missing required parameter: client_id' });
  });

  it('treats a parameter without a value as omitted (RFC 6749 section 3.2)', async () => {
    const { status, body } = await postToken(issuer, { grant_type: '', client_id: 'documents-caller' }, { form: true });
    expect(status).toBe(400);
    expect(body.error_description).toBe('Missing required parameter: grant_type');
  });

  it('refuses a repeated parameter with 400 invalid_request', async () => {
    const { status, body } = await postToken(
      issuer,
      { ...credentials(issuer, 'documents-caller'), audience: [DOCUMENTS_API_AUDIENCE, REPORTS_API] },
      { form: true },
    );
    expect(status).toBe(400);
    expect(body).toEqual({ error: 'invalid_request', error_description: 'Parameter audience must not be repeated' });
  });

  it('refuses malformed JSON and unsupported content types with 400 invalid_request', async () => {
    for (const [contentType, payload] of [
      ['application/json', '{"grant_type":'],
      ['application/json', '["client_credentials"]'],
      ['text/plain', 'grant_type=client_credentials'],
    ] as const) {
      const response = await fetch(issuer.tokenEndpoint, { method: 'POST', headers: { 'Content-Type': contentType }, body: payload });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_request' });
    }
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const response = await fetch(issuer.tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&pad=${'x'.repeat(70 * 1024)}`,
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('answers a missing audience with 403 access_denied and Auth0 message', async () => {
    const { status, body } = await postToken(issuer, credentials(issuer, 'documents-caller'));
    expect(status).toBe(403);
    expect(body).toEqual({
      error: 'access_denied',
      error_description: 'No audience parameter was provided, and no default audience has been configured',
    });
  });

  it('answers an unknown audience with 403 access_denied Service not found', async () => {
    const { status, body } = await postToken(issuer, credentials(issuer, 'documents-caller', 'https://nowhere.example'));
    expect(status).toBe(403);
    expect(body).toEqual({ error: 'access_denied', error_description: 'Service not found: https://nowhere.example' });
  });

  it('answers an API without a client grant with 403 access_denied and the client-grant message', async () => {
    const { status, body } = await postToken(issuer, credentials(issuer, 'documents-caller', AUDIT_API_AUDIENCE));
    expect(status).toBe(403);
    expect(body).toEqual({
      error: 'access_denied',
      error_description: `Client is not authorized to access "${AUDIT_API_AUDIENCE}". You might probably want to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`,
    });
  });

  it('answers every token response, success or error, with Cache-Control no-store and Pragma no-cache', async () => {
    const ok = await postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE));
    const denied = await postToken(issuer, credentials(issuer, 'documents-caller'));
    for (const { headers } of [ok, denied]) {
      expect(headers.get('cache-control')).toBe('no-store');
      expect(headers.get('pragma')).toBe('no-cache');
      expect(headers.get('content-type')).toBe('application/json; charset=utf-8');
    }
  });
});

describe('dev issuer token endpoint: audience, scopes and claims', () => {
  it('signs RS256 tokens with typ JWT and the kid published in the JWKS', async () => {
    const { body } = await postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE));
    const header = decodeProtectedHeader(body.access_token as string);
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: issuer.controls.currentKid() });
  });

  it('puts every claim of Auth0 default token profile in the token, and no jti', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { body } = await postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE));
    const claims = decodeJwt(body.access_token as string);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'azp', 'exp', 'gty', 'iat', 'iss', 'permissions', 'scope', 'sub']);
    expect(claims).toMatchObject({
      iss: issuer.issuer,
      sub: 'documents-caller@clients',
      aud: DOCUMENTS_API_AUDIENCE,
      azp: 'documents-caller',
      gty: 'client-credentials',
      scope: 'read:documents delete:documents',
      permissions: ['read:documents', 'delete:documents'],
    });
    expect(issuer.issuer.endsWith('/')).toBe(true);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp).toBe(claims.iat! + 7200);
  });

  it('uses the API lifetime when the API sets one and the issuer lifetime otherwise', async () => {
    const audit = await postToken(issuer, {
      grant_type: 'client_credentials',
      client_id: ODD_CLIENT_ID,
      client_secret: ODD_SECRET,
      audience: AUDIT_API_AUDIENCE,
    });
    expect(audit.body.expires_in).toBe(300);
    const claims = decodeJwt(audit.body.access_token as string);
    expect(claims.exp! - claims.iat!).toBe(300);
    const documents = await postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE));
    expect(documents.body.expires_in).toBe(7200);
  });

  it('leaves permissions out when the API has rbac off', async () => {
    const { status, body } = await postToken(issuer, credentials(issuer, 'documents-caller', REPORTS_API));
    expect(status).toBe(200);
    const claims = decodeJwt(body.access_token as string);
    expect(claims.scope).toBe('read:reports');
    expect(claims).not.toHaveProperty('permissions');
  });

  it('does not narrow the token to a requested scope, as Auth0 does not, and names the granted scopes in the response', async () => {
    const { body } = await postToken(issuer, {
      ...credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE),
      scope: 'read:documents',
    });
    expect(body.scope).toBe('read:documents delete:documents');
    expect(decodeJwt(body.access_token as string).permissions).toEqual(['read:documents', 'delete:documents']);
  });

  it('omits scope from token and response when the grant has no scopes', async () => {
    const local = await startDevIssuer({
      config: {
        apis: [{ identifier: 'https://empty.local', scopes: [], rbac: true }],
        clients: [{ clientId: 'empty', grants: [{ audience: 'https://empty.local', scopes: [] }] }],
      },
    });
    try {
      const { status, body } = await postToken(local, credentials(local, 'empty', 'https://empty.local'));
      expect(status).toBe(200);
      expect(body).not.toHaveProperty('scope');
      const claims = decodeJwt(body.access_token as string);
      expect(claims).not.toHaveProperty('scope');
      expect(claims.permissions).toEqual([]);
    } finally {
      await local.close();
    }
  });
});

describe('dev issuer defaults', () => {
  it('gives the default clients their documented grants and random secrets', async () => {
    const first = await startDevIssuer();
    const second = await startDevIssuer();
    try {
      const clients = Object.fromEntries(first.config.clients.map((c) => [c.clientId, c]));
      expect(Object.keys(clients)).toEqual(['documents-caller', 'nest-m2m-service', 'auditor']);
      expect(clients['documents-caller']!.grants).toEqual([
        { audience: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents', 'write:documents', 'delete:documents'] },
      ]);
      expect(clients['nest-m2m-service']!.grants).toEqual([{ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] }]);
      expect(clients['auditor']!.grants).toEqual([{ audience: AUDIT_API_AUDIENCE, scopes: ['read:audit'] }]);
      for (const client of first.config.clients) expect(client.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(secretOf(first, 'auditor')).not.toBe(secretOf(second, 'auditor'));
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(first.issuer).toBe(`${first.url}/`);
      expect(first.jwksUri).toBe(`${first.url}/.well-known/jwks.json`);
      expect(first.tokenEndpoint).toBe(`${first.url}/oauth/token`);

      const { status, body } = await postToken(first, credentials(first, 'nest-m2m-service', AUDIT_API_AUDIENCE));
      expect(status).toBe(200);
      expect(body.expires_in).toBe(86400);
      expect(decodeJwt(body.access_token as string).permissions).toEqual(['write:audit']);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
