import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, startDevIssuer, type DevIssuer } from '../src/index.js';
import { credentials, postToken } from './helpers.js';

let issuer: DevIssuer;
beforeAll(async () => {
  issuer = await startDevIssuer();
});
afterAll(() => issuer.close());

async function getJson(url: string) {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

async function tokenFor(target: DevIssuer, clientId = 'documents-caller', audience = DOCUMENTS_API_AUDIENCE): Promise<string> {
  const { status, body } = await postToken(target, credentials(target, clientId, audience));
  expect(status).toBe(200);
  return body.access_token as string;
}

async function publishedKids(target: DevIssuer): Promise<string[]> {
  const { body } = await getJson(target.jwksUri);
  return (body.keys as Array<{ kid: string }>).map((key) => key.kid);
}

describe('dev issuer discovery and JWKS', () => {
  it('publishes only public RSA signing keys with kid, use and alg', async () => {
    const { status, body, headers } = await getJson(issuer.jwksUri);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('application/json; charset=utf-8');
    const keys = body.keys as Array<Record<string, unknown>>;
    expect(keys).toHaveLength(1);
    expect(Object.keys(keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use', 'x5c', 'x5t']);
    expect(keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256', kid: issuer.controls.currentKid() });
    expect(Buffer.from(keys[0]!.n as string, 'base64url').length).toBe(256);
  });

  it.each(['openid-configuration', 'oauth-authorization-server'])('serves the metadata document at /.well-known/%s', async (name) => {
    const { status, body } = await getJson(`${issuer.url}/.well-known/${name}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      issuer: issuer.issuer,
      jwks_uri: issuer.jwksUri,
      token_endpoint: issuer.tokenEndpoint,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'PS256'],
      id_token_signing_alg_values_supported: ['HS256', 'RS256', 'PS256'],
    });
    expect(body.scopes_supported).toEqual(['read:documents', 'write:documents', 'delete:documents', 'write:audit', 'read:audit']);
  });

  it('answers unknown paths with a JSON 404 and wrong methods with 405 and Allow', async () => {
    const missing = await getJson(`${issuer.url}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('not_found');
    const wrong = await fetch(issuer.tokenEndpoint);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toMatchObject({ error: 'method_not_allowed' });
    const post = await fetch(issuer.jwksUri, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('issues tokens that jose verifies against the remote JWKS with issuer and audience', async () => {
    const jwks = createRemoteJWKSet(new URL(issuer.jwksUri));
    const { payload, protectedHeader } = await jwtVerify(await tokenFor(issuer), jwks, {
      issuer: issuer.issuer,
      audience: DOCUMENTS_API_AUDIENCE,
      algorithms: ['RS256'],
    });
    expect(protectedHeader.kid).toBe(issuer.controls.currentKid());
    expect(payload.sub).toBe('documents-caller@clients');
    await expect(jwtVerify(await tokenFor(issuer), jwks, { issuer: issuer.issuer, audience: AUDIT_API_AUDIENCE })).rejects.toBeInstanceOf(
      errors.JWTClaimValidationFailed,
    );
  });

  it('issues tokens that the JWKS of another dev issuer does not verify', async () => {
    const other = await startDevIssuer();
    try {
      await expect(jwtVerify(await tokenFor(issuer), createRemoteJWKSet(new URL(other.jwksUri)))).rejects.toBeInstanceOf(
        errors.JWKSNoMatchingKey,
      );
    } finally {
      await other.close();
    }
  });
});

describe('dev issuer key rotation', () => {
  it('signs with the new key and keeps the old one published when keepOld is true', async () => {
    const local = await startDevIssuer();
    try {
      const oldKid = local.controls.currentKid();
      const oldToken = await tokenFor(local);
      const newKid = await local.controls.rotateKeys({ keepOld: true });
      expect(newKid).not.toBe(oldKid);
      expect(await publishedKids(local)).toEqual([newKid, oldKid]);
      const newToken = await tokenFor(local);
      expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
      const jwks = createRemoteJWKSet(new URL(local.jwksUri));
      await expect(jwtVerify(oldToken, jwks, { issuer: local.issuer })).resolves.toBeDefined();
      await expect(jwtVerify(newToken, jwks, { issuer: local.issuer })).resolves.toBeDefined();
    } finally {
      await local.close();
    }
  });

  it('drops the old key from the JWKS when keepOld is false, so old tokens stop verifying', async () => {
    const local = await startDevIssuer();
    try {
      const oldToken = await tokenFor(local);
      const newKid = await local.controls.rotateKeys({ keepOld: false });
      expect(await publishedKids(local)).toEqual([newKid]);
      const jwks = createRemoteJWKSet(new URL(local.jwksUri));
      await expect(jwtVerify(oldToken, jwks)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
      await expect(jwtVerify(await tokenFor(local), jwks, { issuer: local.issuer })).resolves.toBeDefined();
    } finally {
      await local.close();
    }
  });

  it('keeps keys across restarts with a keys file, written with mode 0600, including rotations', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dev-issuer-keys-'));
    const keysFile = join(dir, 'nested', 'keys.json');
    try {
      const first = await startDevIssuer({ keysFile });
      const kid = first.controls.currentKid();
      const token = await tokenFor(first);
      await first.close();
      expect((await stat(keysFile)).mode & 0o777).toBe(0o600);
      const saved = JSON.parse(await readFile(keysFile, 'utf8')) as { keys: Array<Record<string, unknown>> };
      expect(saved.keys[0]).toMatchObject({ kid, kty: 'RSA' });
      expect(saved.keys[0]).toHaveProperty('d');

      const second = await startDevIssuer({ keysFile });
      try {
        expect(second.controls.currentKid()).toBe(kid);
        await expect(jwtVerify(token, createRemoteJWKSet(new URL(second.jwksUri)))).resolves.toBeDefined();
        const rotated = await second.controls.rotateKeys({ keepOld: true });
        const reread = JSON.parse(await readFile(keysFile, 'utf8')) as { keys: Array<{ kid: string }> };
        expect(reread.keys.map((k) => k.kid)).toEqual([rotated, kid]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a keys file that holds no private RSA key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dev-issuer-keys-'));
    try {
      const keysFile = join(dir, 'keys.json');
      await writeFile(keysFile, JSON.stringify({ keys: [issuer.controls.jwks().keys[0]] }));
      await expect(startDevIssuer({ keysFile })).rejects.toThrow(/Cannot use keys file .*private RSA keys/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('dev issuer issueToken helper', () => {
  it('signs a token shaped like the token endpoint one, with the grant scopes', async () => {
    const token = await issuer.controls.issueToken({ clientId: 'auditor', audience: AUDIT_API_AUDIENCE });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      issuer: issuer.issuer,
      audience: AUDIT_API_AUDIENCE,
    });
    expect(payload).toMatchObject({
      sub: 'auditor@clients',
      azp: 'auditor',
      gty: 'client-credentials',
      scope: 'read:audit',
      permissions: ['read:audit'],
    });
    expect(payload.exp! - payload.iat!).toBe(86400);
  });

  it('applies claim overrides, claim removal, header overrides and expiresIn', async () => {
    const token = await issuer.controls.issueToken({
      clientId: 'anyone',
      audience: DOCUMENTS_API_AUDIENCE,
      claims: { scope: 'read:documents', permissions: undefined, custom: 42 },
      header: { kid: 'unknown-kid', typ: 'at+jwt' },
      expiresIn: -60,
    });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ scope: 'read:documents', custom: 42, sub: 'anyone@clients' });
    expect(claims).not.toHaveProperty('permissions');
    expect(claims.exp).toBeLessThan(Date.now() / 1000);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: 'unknown-kid' });
  });

  it('does not count helper-issued tokens as issued by the endpoint', async () => {
    const before = issuer.controls.counters().tokensIssued;
    await issuer.controls.issueToken({ clientId: 'auditor', audience: AUDIT_API_AUDIENCE });
    expect(issuer.controls.counters().tokensIssued).toBe(before);
  });
});
