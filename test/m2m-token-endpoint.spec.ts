import { exportPKCS8, generateKeyPair, exportJWK, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, startDevIssuer, type DevIssuer } from '@nest-m2m/dev-issuer';
import { TokenEndpointClient, TokenEndpointError, type M2MModuleOptions } from '@nest-m2m/auth/m2m';
import { generateRs256Jwk, startOidcProvider, type StartedOidcProvider } from './helpers/oidc-provider.js';

const API = 'https://api.example.test/orders';
const SECRET = 'se:cr%et+with/odd=chars-0123456789';

describe('token endpoint client, standards dialect, against oidc-provider', () => {
  let op: StartedOidcProvider;
  let keyPem: string;
  let keyJwk: string;

  beforeAll(async () => {
    const rsa = await generateRs256Jwk('client-key');
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    keyPem = await exportPKCS8(privateKey);
    keyJwk = JSON.stringify(rsa.privateJwk);
    op = await startOidcProvider({
      resources: [{ identifier: API, scopes: ['read:orders', 'write:orders'], accessTokenTtlSeconds: 120 }],
      clients: [
        { clientId: 'basic:client', clientSecret: SECRET, scopes: ['read:orders'] },
        { clientId: 'post-client', clientSecret: SECRET, tokenEndpointAuthMethod: 'client_secret_post' },
        { clientId: 'jwt-client', jwks: { keys: [rsa.publicJwk] } },
        { clientId: 'ec-client', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'ec-1', alg: 'ES256' }] } },
      ],
    });
  });
  afterAll(() => op.close());

  const client = (options: Partial<M2MModuleOptions>) =>
    new TokenEndpointClient({ tokenEndpoint: op.tokenEndpoint, clientId: 'basic:client', clientSecret: SECRET, ...options });

  it('client_secret_basic form-encodes an id and a secret with reserved characters and gets an RFC 9068 token for the resource', async () => {
    const response = await client({}).requestToken({ audience: API, scopes: ['read:orders'] });
    const claims = decodeJwt(response.accessToken);
    expect(decodeProtectedHeader(response.accessToken).typ).toBe('at+jwt');
    expect(claims).toMatchObject({ aud: API, client_id: 'basic:client', scope: 'read:orders' });
    expect(response).toMatchObject({ tokenType: 'Bearer', expiresIn: 120, scope: 'read:orders' });
  });

  it('client_secret_post sends the credentials in the form body', async () => {
    const response = await client({ clientId: 'post-client', clientAuth: 'client_secret_post' }).requestToken({ audience: API });
    expect(decodeJwt(response.accessToken).client_id).toBe('post-client');
  });

  it('private_key_jwt signs a fresh assertion per request with an RSA JWK, so repeated requests are not replays', async () => {
    const c = client({ clientId: 'jwt-client', clientSecret: undefined, clientAuth: 'private_key_jwt', privateKey: keyJwk });
    const first = await c.requestToken({ audience: API, scopes: ['write:orders'] });
    const second = await c.requestToken({ audience: API, scopes: ['write:orders'] });
    expect(decodeJwt(first.accessToken).client_id).toBe('jwt-client');
    expect(decodeJwt(second.accessToken).jti).not.toBe(decodeJwt(first.accessToken).jti);
  });

  it('private_key_jwt accepts a PKCS#8 PEM key with an explicit algorithm and kid', async () => {
    const c = client({
      clientId: 'ec-client',
      clientSecret: undefined,
      clientAuth: 'private_key_jwt',
      privateKey: keyPem,
      privateKeyAlg: 'ES256',
      privateKeyKid: 'ec-1',
    });
    expect(decodeJwt((await c.requestToken({ audience: API })).accessToken).client_id).toBe('ec-client');
  });

  it('a wrong secret is a typed invalid_client error that never contains the secret', async () => {
    const wrong = 'wrong-secret-that-must-not-leak';
    const error = await client({ clientSecret: wrong })
      .requestToken({ audience: API })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({ code: 'ERR_M2M_TOKEN_ENDPOINT', status: 401, error: 'invalid_client', retryable: false });
    expect(`${String(error)} ${JSON.stringify(error)} ${(error as Error).stack}`).not.toContain(wrong);
  });

  it('a scope the client may not have is a typed invalid_scope error', async () => {
    await expect(client({}).requestToken({ audience: API, scopes: ['write:orders'] })).rejects.toMatchObject({
      status: 400,
      error: 'invalid_scope',
    });
  });

  it('an unknown resource is a typed invalid_target error', async () => {
    await expect(client({}).requestToken({ audience: 'https://unknown.example.test' })).rejects.toMatchObject({
      error: 'invalid_target',
    });
  });

  it('a lazily resolved token endpoint is resolved once and resolved again after a failure', async () => {
    let calls = 0;
    const c = new TokenEndpointClient({
      clientId: 'basic:client',
      clientSecret: SECRET,
      resolveTokenEndpoint: async () => {
        calls++;
        if (calls === 1) throw new Error('discovery down');
        return op.tokenEndpoint;
      },
    });
    await expect(c.requestToken({ audience: API })).rejects.toMatchObject({ code: 'ERR_M2M_TOKEN_ENDPOINT_UNREACHABLE' });
    await c.requestToken({ audience: API });
    await c.requestToken({ audience: API });
    expect(calls).toBe(2);
  });
});

describe('token endpoint client, Auth0 dialect, against the dev issuer', () => {
  let iss: DevIssuer;
  let jwk: string;

  beforeAll(async () => {
    const key = await generateRs256Jwk('auth0-client-key');
    jwk = JSON.stringify(key.privateJwk);
    iss = await startDevIssuer({
      config: {
        apis: [{ identifier: AUDIT_API_AUDIENCE, scopes: ['write:audit'], rbac: true }],
        clients: [
          {
            clientId: 'secret-client',
            clientSecret: SECRET,
            tokenEndpointAuthMethod: 'any',
            grants: [{ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] }],
          },
          {
            clientId: 'key-client',
            tokenEndpointAuthMethod: 'private_key_jwt',
            jwks: { keys: [key.publicJwk] },
            grants: [{ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] }],
          },
        ],
      },
    });
  });
  afterAll(() => iss.close());

  it('client_secret_post sends a JSON body with audience and gets an Auth0-style token', async () => {
    const c = new TokenEndpointClient({
      dialect: 'auth0',
      tokenEndpoint: iss.tokenEndpoint,
      clientId: 'secret-client',
      clientSecret: SECRET,
    });
    expect(c.clientAuth).toBe('client_secret_post');
    const claims = decodeJwt((await c.requestToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] })).accessToken);
    expect(claims).toMatchObject({ aud: AUDIT_API_AUDIENCE, sub: 'secret-client@clients', gty: 'client-credentials' });
  });

  it('client_secret_basic works with the Auth0 dialect too', async () => {
    const c = new TokenEndpointClient({
      dialect: 'auth0',
      clientAuth: 'client_secret_basic',
      tokenEndpoint: iss.tokenEndpoint,
      clientId: 'secret-client',
      clientSecret: SECRET,
    });
    expect(decodeJwt((await c.requestToken({ audience: AUDIT_API_AUDIENCE })).accessToken).azp).toBe('secret-client');
  });

  it('private_key_jwt addresses the assertion to the issuer with its trailing slash', async () => {
    const c = new TokenEndpointClient({
      dialect: 'auth0',
      clientAuth: 'private_key_jwt',
      issuer: iss.url,
      tokenEndpoint: iss.tokenEndpoint,
      clientId: 'key-client',
      privateKey: jwk,
    });
    expect(decodeJwt((await c.requestToken({ audience: AUDIT_API_AUDIENCE })).accessToken).azp).toBe('key-client');
  });

  it('an audience the client has no grant for is a typed access_denied error', async () => {
    const c = new TokenEndpointClient({
      dialect: 'auth0',
      tokenEndpoint: iss.tokenEndpoint,
      clientId: 'secret-client',
      clientSecret: SECRET,
    });
    await expect(c.requestToken({ audience: 'https://nothing.example.test' })).rejects.toMatchObject({
      error: 'access_denied',
      status: 403,
    });
  });
});
