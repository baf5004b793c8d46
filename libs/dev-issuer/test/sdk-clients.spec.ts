/**
 * Auth0's own Node SDKs and openid-client 6 get tokens from the dev issuer unchanged: TLS mode,
 * trust through NODE_EXTRA_CA_CERTS (the CA file the issuer writes), and every client
 * authentication method each library offers. The libraries run in a child process because
 * NODE_EXTRA_CA_CERTS is read once, at process start.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeJwt, exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENTS_API_AUDIENCE, startDevIssuer, type DevIssuer } from '../src/index.js';

const CHILD = fileURLToPath(new URL('./fixtures/sdk-clients.child.mjs', import.meta.url));

let issuer: DevIssuer;
let results: Record<string, { accessToken?: string; error?: string }>;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  issuer = await startDevIssuer({
    tls: true,
    config: {
      apis: [{ identifier: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents'], rbac: true }],
      clients: [
        {
          clientId: 'sdk-post',
          tokenEndpointAuthMethod: 'client_secret_post',
          grants: [{ audience: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents'] }],
        },
        {
          clientId: 'sdk-basic',
          tokenEndpointAuthMethod: 'client_secret_basic',
          grants: [{ audience: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents'] }],
        },
        {
          clientId: 'sdk-jwt',
          tokenEndpointAuthMethod: 'private_key_jwt',
          jwks: { keys: [{ ...(await exportJWK(publicKey)), alg: 'RS256', kid: 'sdk-key' }] },
          grants: [{ audience: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents'] }],
        },
      ],
    },
  });
  const secret = (clientId: string) => issuer.config.clients.find((c) => c.clientId === clientId)!.clientSecret!;
  const scenario = {
    domain: new URL(issuer.url).host,
    audience: DOCUMENTS_API_AUDIENCE,
    post: { clientId: 'sdk-post', clientSecret: secret('sdk-post') },
    basic: { clientId: 'sdk-basic', clientSecret: secret('sdk-basic') },
    jwt: { clientId: 'sdk-jwt', privateKeyPem: await exportPKCS8(privateKey) },
  };
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [CHILD, JSON.stringify(scenario)],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: issuer.ca!.file }, timeout: 60_000 },
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    );
  });
  results = JSON.parse(stdout) as typeof results;
}, 90_000);
afterAll(() => issuer?.close());

describe('Auth0 SDKs and openid-client against the dev issuer in TLS mode', () => {
  it.each([
    ['auth0 AuthenticationClient, client_secret_post', 'sdk-post'],
    ['auth0 AuthenticationClient, private_key_jwt', 'sdk-jwt'],
    ['@auth0/auth0-auth-js AuthClient, client_secret_post', 'sdk-post'],
    ['@auth0/auth0-auth-js AuthClient, private_key_jwt', 'sdk-jwt'],
    ['openid-client, client_secret_post', 'sdk-post'],
    ['openid-client, client_secret_basic', 'sdk-basic'],
    ['openid-client, private_key_jwt', 'sdk-jwt'],
  ])('%s obtains a token', (name, clientId) => {
    const result = results[name];
    expect(result?.error).toBeUndefined();
    expect(decodeJwt(result!.accessToken!)).toMatchObject({
      iss: issuer.issuer,
      sub: `${clientId}@clients`,
      aud: DOCUMENTS_API_AUDIENCE,
      scope: 'read:documents',
    });
  });

  it('counts one issued token per scenario: no retries hid a refusal', () => {
    expect(issuer.controls.counters().tokensIssued).toBe(7);
  });
});
