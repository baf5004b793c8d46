import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENTS_API_AUDIENCE, startDevIssuer, type DevIssuer } from '../src/index.js';
import { assertionParams, basicHeader, clientAssertion, generateClientKey, postToken, type ClientKey } from './helpers.js';

let issuer: DevIssuer;
let rsa: ClientKey;
let ps: ClientKey;
let rs384: ClientKey;
let ec: ClientKey;
let stranger: ClientKey;

beforeAll(async () => {
  [rsa, ps, rs384, ec, stranger] = await Promise.all([
    generateClientKey('RS256'),
    generateClientKey('PS256'),
    generateClientKey('RS384'),
    generateClientKey('ES256'),
    generateClientKey('RS256'),
  ]);
  issuer = await startDevIssuer({
    config: {
      apis: [{ identifier: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents'], rbac: true }],
      clients: [
        {
          clientId: 'partner-batch',
          tokenEndpointAuthMethod: 'private_key_jwt',
          jwks: { keys: [rsa.publicJwk, ps.publicJwk, rs384.publicJwk] },
          grants: [{ audience: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents'] }],
        },
        {
          clientId: 'secret-only',
          tokenEndpointAuthMethod: 'client_secret_post',
          grants: [{ audience: DOCUMENTS_API_AUDIENCE, scopes: [] }],
        },
      ],
    },
  });
});
afterAll(() => issuer.close());

async function send(
  assertion: string,
  extra: Record<string, string> = {},
  options: { form?: boolean; headers?: Record<string, string> } = {},
) {
  return postToken(issuer, { ...assertionParams(assertion, DOCUMENTS_API_AUDIENCE), ...extra }, options);
}

describe('dev issuer private_key_jwt client authentication (RFC 7523)', () => {
  it.each(['RS256', 'RS384', 'PS256'] as const)('issues a token for an assertion signed with %s, as Auth0 accepts', async (alg) => {
    const key = { RS256: rsa, RS384: rs384, PS256: ps }[alg];
    const { status, body } = await send(await clientAssertion(key, 'partner-batch', issuer.issuer), {}, { form: true });
    expect(status).toBe(200);
    expect(decodeJwt(body.access_token as string)).toMatchObject({
      sub: 'partner-batch@clients',
      azp: 'partner-batch',
      scope: 'read:documents',
    });
  });

  it('refuses an EC key in the config, as Auth0 takes RSA credentials only', async () => {
    const start = startDevIssuer({
      config: {
        apis: [],
        clients: [{ clientId: 'ec', tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [ec.publicJwk] }, grants: [] }],
      },
    });
    await expect(start).rejects.toThrow('clients[0].jwks.keys[0].alg: "ES256" is not one of RS256, RS384, PS256');
  });

  it('accepts the https form of the issuer as assertion audience, as Auth0 SDKs sign it, over plain http too', async () => {
    expect(issuer.issuer.startsWith('http://')).toBe(true);
    const { status } = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer.replace('http://', 'https://')));
    expect(status).toBe(200);
  });

  it('refuses an assertion over 2048 bytes, as Auth0 does', async () => {
    // Padding in a claim the issuer does not read: only the size makes the difference.
    const base = await clientAssertion(rsa, 'partner-batch', issuer.issuer, { pad: '' });
    const fits = await clientAssertion(rsa, 'partner-batch', issuer.issuer, {
      pad: 'x'.repeat(Math.floor(((2048 - base.length) * 3) / 4) - 2),
    });
    expect(fits.length).toBeLessThanOrEqual(2048);
    expect((await send(fits)).status).toBe(200);
    const tooBig = await clientAssertion(rsa, 'partner-batch', issuer.issuer, {
      pad: 'x'.repeat(Math.floor(((2048 - base.length) * 3) / 4) + 8),
    });
    expect(tooBig.length).toBeGreaterThan(2048);
    const { status, body } = await send(tooBig);
    expect(status).toBe(401);
    expect(body).toEqual({ error: 'invalid_client', error_description: 'client_assertion must be at most 2048 bytes' });
  });

  it('refuses a jti over 64 characters, as Auth0 does', async () => {
    expect((await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer, { jti: 'j'.repeat(64) }))).status).toBe(200);
    const { status, body } = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer, { jti: 'k'.repeat(65) }));
    expect(status).toBe(401);
    expect(body).toEqual({ error: 'invalid_client', error_description: 'client_assertion jti must be at most 64 characters' });
  });

  it('allows 10 seconds of clock skew on iat and nbf, as Auth0 does, and no more', async () => {
    const now = Math.floor(Date.now() / 1000);
    // 8 s ahead: inside Auth0's 10 s (and outside the 5 s we used to allow); 30 s ahead: refused.
    for (const claim of ['iat', 'nbf'] as const) {
      const skewed = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer, { [claim]: now + 8, exp: now + 60 }));
      expect(skewed.status, claim).toBe(200);
      const future = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer, { [claim]: now + 30, exp: now + 90 }));
      expect(future.status, claim).toBe(401);
      expect(future.body.error_description).toContain(claim);
    }
  });

  it('accepts the token endpoint URL as the assertion audience', async () => {
    const { status } = await send(await clientAssertion(rsa, 'partner-batch', issuer.tokenEndpoint));
    expect(status).toBe(200);
  });

  it('accepts a client_id parameter that names the same client', async () => {
    const { status } = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer), { client_id: 'partner-batch' });
    expect(status).toBe(200);
  });

  it('refuses a replayed jti with 401 invalid_client', async () => {
    const assertion = await clientAssertion(rsa, 'partner-batch', issuer.issuer, { jti: randomUUID() });
    expect((await send(assertion)).status).toBe(200);
    const replay = await send(assertion);
    expect(replay.status).toBe(401);
    expect(replay.body).toEqual({ error: 'invalid_client', error_description: 'client_assertion jti has already been used' });
  });

  it('refuses an assertion for another audience with 401 invalid_client', async () => {
    const { status, body } = await send(await clientAssertion(rsa, 'partner-batch', 'https://other-issuer.example/'));
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
    expect(body.error_description).toMatch(/aud/);
  });

  it('refuses an assertion whose exp is more than five minutes away', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { status, body } = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer, { iat: now, exp: now + 600 }));
    expect(status).toBe(401);
    expect(body).toEqual({
      error: 'invalid_client',
      error_description: 'client_assertion exp must be at most 300 seconds after iat and now',
    });
  });

  it('refuses an assertion without exp or without jti', async () => {
    for (const missing of ['exp', 'jti']) {
      const { status, body } = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer, { [missing]: undefined }));
      expect(status).toBe(401);
      expect(body.error).toBe('invalid_client');
      expect(body.error_description).toContain(missing);
    }
  });

  it('refuses an expired assertion', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { status, body } = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer, { iat: now - 120, exp: now - 60 }));
    expect(status).toBe(401);
    expect(body).toEqual({ error: 'invalid_client', error_description: 'client_assertion has expired' });
  });

  it('refuses an assertion signed by a key the client did not register', async () => {
    const forged = await clientAssertion(
      { ...stranger, publicJwk: { ...stranger.publicJwk, kid: rsa.publicJwk.kid } },
      'partner-batch',
      issuer.issuer,
    );
    const { status, body } = await send(forged);
    expect(status).toBe(401);
    expect(body).toEqual({ error: 'invalid_client', error_description: 'client_assertion signature is invalid' });
  });

  it('refuses an assertion whose signature was tampered with', async () => {
    const assertion = await clientAssertion(rsa, 'partner-batch', issuer.issuer);
    const [h, p, s] = assertion.split('.');
    const tampered = `${h}.${p}.${s!.slice(0, -4)}${s!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const { status, body } = await send(tampered);
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
  });

  it('refuses an assertion whose iss and sub differ', async () => {
    const { status, body } = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer, { iss: 'someone-else' }));
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
  });

  it('refuses an assertion for an unknown client or a client without private_key_jwt', async () => {
    for (const clientId of ['unknown-client', 'secret-only']) {
      const { status, body } = await send(await clientAssertion(rsa, clientId, issuer.issuer));
      expect(status).toBe(401);
      expect(body.error).toBe('invalid_client');
    }
  });

  it('refuses a malformed assertion with 401 invalid_client', async () => {
    const { status, body } = await send('not.a.jwt');
    expect(status).toBe(401);
    expect(body).toEqual({ error: 'invalid_client', error_description: 'Malformed client_assertion' });
  });

  it('refuses a wrong or missing client_assertion_type with 400 invalid_request', async () => {
    const assertion = await clientAssertion(rsa, 'partner-batch', issuer.issuer);
    const wrong = await send(assertion, { client_assertion_type: 'urn:example:saml' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_request');
    const { client_assertion_type: _, ...withoutType } = assertionParams(assertion, DOCUMENTS_API_AUDIENCE);
    const missing = await postToken(issuer, withoutType);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
  });

  it('refuses an assertion together with a client secret or basic credentials with 400 invalid_request', async () => {
    const withSecret = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer), { client_secret: 'also-a-secret-value' });
    expect(withSecret.status).toBe(400);
    expect(withSecret.body.error).toBe('invalid_request');
    const withBasic = await send(
      await clientAssertion(rsa, 'partner-batch', issuer.issuer),
      {},
      { headers: { Authorization: basicHeader('partner-batch', 'x') } },
    );
    expect(withBasic.status).toBe(400);
    expect(withBasic.body.error).toBe('invalid_request');
  });

  it('refuses a client_id that differs from the assertion subject', async () => {
    const { status, body } = await send(await clientAssertion(rsa, 'partner-batch', issuer.issuer), { client_id: 'secret-only' });
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
  });

  it('gives a private_key_jwt client no secret in the resolved config', () => {
    expect(issuer.config.clients.find((c) => c.clientId === 'partner-batch')).not.toHaveProperty('clientSecret');
  });
});
