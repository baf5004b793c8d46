/**
 * The whole service with a certified standards issuer (`oidc-provider` 9) as its only issuer, as a
 * user would run it with `AUTH_ISSUER_URL`: discovery, incoming RFC 9068 `at+jwt` tokens, and the
 * DELETE → audit flow over HTTP with the service's own token (form body + RFC 8707 `resource`,
 * `client_secret_basic` and `private_key_jwt`) cached in Redis and shared by two replicas.
 *
 * A standards issuer grants only the scopes a client asks for (Auth0 grants every authorized one):
 * the service's audit token must ask for `write:audit`, or the audit sibling refuses it and every
 * DELETE is a 502 (issue 11).
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/bootstrap.js';
import { challenge } from './helpers/app.js';
import { freePort } from './helpers/built-app.js';
import { startOidcProvider, type StartedOidcProvider } from './helpers/oidc-provider.js';

const DOCUMENTS = 'https://documents.example.test';
const AUDIT = 'https://audit.example.test';
/** Another API at the same issuer, with a scope of the same name: its tokens must not open ours. */
const BILLING = 'https://billing.example.test';
const REDIS = 'redis://127.0.0.1:6379';

const CALLER = { clientId: 'documents-caller', clientSecret: 'caller-secret-0123456789abcdef' };
const AUDITOR = { clientId: 'auditor', clientSecret: 'auditor-secret-0123456789abcdef' };
const SERVICE_BASIC = { clientId: 'nest-m2m-service', clientSecret: 'service-secret-0123456789abcdef' };
const SERVICE_JWT = 'nest-m2m-service-jwt';

/** What the issuer saw of one successful token request (oidc-provider's `grant.success` event). */
interface Grant {
  clientId: string;
  contentType: string;
  basicAuth: boolean;
  clientAssertion: boolean;
  resource: unknown;
  scope: unknown;
}

let op: StartedOidcProvider;
let grants: Grant[];
let keyDir: string;
let serviceKeyFile: string;

async function formToken(client: { clientId: string; clientSecret: string }, resource: string, scope: string): Promise<string> {
  const res = await fetch(op.tokenEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }).toString(),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const decode = (segment: string | undefined) => {
  if (segment === undefined) throw new Error('The token is not a compact JWS');
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
};
const grantsOf = (clientId: string) => grants.filter((g) => g.clientId === clientId);

beforeAll(async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'nest-m2m-standards-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  serviceKeyFile = join(keyDir, 'service-key.pem');
  writeFileSync(serviceKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'service-2026', alg: 'RS256', use: 'sig' };

  op = await startOidcProvider({
    clients: [
      { ...CALLER, scopes: ['read:documents', 'delete:documents'] },
      { ...AUDITOR, scopes: ['read:audit'] },
      { ...SERVICE_BASIC, tokenEndpointAuthMethod: 'client_secret_basic', scopes: ['write:audit'] },
      { clientId: SERVICE_JWT, jwks: { keys: [publicJwk] }, tokenEndpointAuthMethod: 'private_key_jwt', scopes: ['write:audit'] },
    ],
    resources: [
      { identifier: DOCUMENTS, scopes: ['read:documents', 'delete:documents'] },
      { identifier: AUDIT, scopes: ['write:audit', 'read:audit'] },
      { identifier: BILLING, scopes: ['read:documents'] },
    ],
  });
  grants = [];
  op.provider.on('grant.success', (ctx) => {
    grants.push({
      clientId: ctx.oidc.client!.clientId,
      contentType: ctx.get('content-type'),
      basicAuth: /^Basic /.test(ctx.get('authorization')),
      clientAssertion: typeof ctx.oidc.params?.client_assertion === 'string',
      resource: ctx.oidc.params?.resource,
      scope: ctx.oidc.params?.scope,
    });
  });
});
afterAll(async () => {
  await op?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

/** The service on `port` with its own identity at oidc-provider, reporting deletions to `auditUrl`. */
async function boot(
  port: number,
  auditUrl: string,
  identity: Record<string, string>,
  cache: Record<string, string>,
): Promise<INestApplication> {
  const app = await createApp(
    {
      env: {
        NODE_ENV: 'test',
        AUTH_ISSUER_URL: op.issuer,
        AUTH0_AUDIENCE: `${DOCUMENTS},${AUDIT}`,
        AUTH_STRICT_RFC9068: 'true',
        AUTH_M2M_ONLY: 'true',
        AUDIT_SERVICE_URL: auditUrl,
        AUDIT_SERVICE_AUDIENCE: AUDIT,
        TOKEN_REQUEST_TIMEOUT_MS: '2000',
        ...identity,
        ...cache,
      },
    },
    false,
  );
  await app.listen(port, '127.0.0.1');
  return app;
}

describe('incoming RFC 9068 tokens from oidc-provider, found by discovery', () => {
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    const port = await freePort();
    app = await boot(
      port,
      `http://127.0.0.1:${port}`,
      { AUTH0_CLIENT_ID: SERVICE_BASIC.clientId, AUTH0_CLIENT_SECRET: SERVICE_BASIC.clientSecret },
      {},
    );
  });
  afterAll(async () => app?.close());

  it('an_at_jwt_token_with_the_scope_is_accepted', async () => {
    const token = await formToken(CALLER, DOCUMENTS, 'read:documents');
    expect(decode(token.split('.')[0]).typ).toBe('at+jwt');
    expect(decode(token.split('.')[1])).toMatchObject({ iss: op.issuer, aud: DOCUMENTS, client_id: CALLER.clientId, sub: CALLER.clientId });
    const res = await http().get('/internal/documents/1').set('Authorization', `Bearer ${token}`).expect(200);
    expect(res.body).toMatchObject({ id: '1' });
  });

  it('an_at_jwt_token_without_the_scope_is_a_403_insufficient_scope', async () => {
    const token = await formToken(CALLER, DOCUMENTS, 'delete:documents');
    const res = await http().get('/internal/documents/1').set('Authorization', `Bearer ${token}`).expect(403);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'insufficient_scope', description: 'Insufficient scope', scope: 'read:documents' }),
    );
    expect(res.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'Insufficient scope' });
  });

  it('a_token_issued_for_another_resource_is_a_401_invalid_token', async () => {
    const token = await formToken(CALLER, BILLING, 'read:documents');
    expect(decode(token.split('.')[1]).aud).toBe(BILLING);
    const res = await http().get('/internal/documents/1').set('Authorization', `Bearer ${token}`).expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="nest-m2m", error="invalid_token", error_description="[^"]*audience/i);
  });
});

const clientAuthentications = [
  {
    name: 'client_secret_basic',
    clientId: SERVICE_BASIC.clientId,
    identity: () => ({
      AUTH0_CLIENT_ID: SERVICE_BASIC.clientId,
      AUTH0_CLIENT_SECRET: SERVICE_BASIC.clientSecret,
      AUTH_CLIENT_AUTH: 'client_secret_basic',
    }),
    authenticatedBy: { basicAuth: true, clientAssertion: false },
  },
  {
    name: 'private_key_jwt',
    clientId: SERVICE_JWT,
    identity: () => ({ AUTH0_CLIENT_ID: SERVICE_JWT, AUTH_CLIENT_AUTH: 'private_key_jwt', AUTH_CLIENT_PRIVATE_KEY_FILE: serviceKeyFile }),
    authenticatedBy: { basicAuth: false, clientAssertion: true },
  },
];

describe.each(clientAuthentications)(
  'DELETE → audit over HTTP with the service token from oidc-provider ($name, Redis-shared cache)',
  (auth) => {
    const prefix = `nest-m2m-test:standards:${randomUUID()}:`;
    const cache = { TOKEN_CACHE_URL: REDIS, TOKEN_CACHE_KEY_PREFIX: prefix, TOKEN_CACHE_ENCRYPTION_KEY: randomBytes(32).toString('hex') };
    let replicaA: INestApplication;
    let replicaB: INestApplication;
    let redis: Redis;

    beforeAll(async () => {
      redis = new Redis(REDIS);
      // Replica A is the audit sibling of both (its own URL), as in embedded mode; B shares A's Redis.
      const portA = await freePort();
      const auditUrl = `http://127.0.0.1:${portA}`;
      replicaA = await boot(portA, auditUrl, auth.identity(), cache);
      replicaB = await boot(0, auditUrl, auth.identity(), cache);
    });
    afterAll(async () => {
      await replicaA?.close();
      await replicaB?.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    });

    const deleteAs = async (app: INestApplication, id: string) =>
      request(app.getHttpServer())
        .delete(`/internal/documents/${id}`)
        .set('Authorization', `Bearer ${await formToken(CALLER, DOCUMENTS, 'delete:documents')}`);

    it('a_delete_is_audited_with_a_token_asked_for_by_form_with_resource_and_write_audit', async () => {
      const res = await deleteAs(replicaA, '1');
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ deleted: '1', auditEventId: expect.any(String) });
      expect(grantsOf(auth.clientId)).toEqual([
        {
          clientId: auth.clientId,
          contentType: 'application/x-www-form-urlencoded',
          ...auth.authenticatedBy,
          resource: AUDIT,
          scope: 'write:audit',
        },
      ]);
      const events = await request(replicaA.getHttpServer())
        .get('/internal/audit-events')
        .set('Authorization', `Bearer ${await formToken(AUDITOR, AUDIT, 'read:audit')}`)
        .expect(200);
      expect(events.body.events).toContainEqual(
        expect.objectContaining({
          id: res.body.auditEventId,
          action: 'document.deleted',
          resource: 'documents/1',
          actor: CALLER.clientId,
          recordedBy: auth.clientId,
        }),
      );
    });

    it('a_second_delete_on_another_replica_reuses_the_token_cached_encrypted_in_redis', async () => {
      const res = await deleteAs(replicaB, '2');
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      // Still the one token request of the first deletion: replica B found the token in Redis.
      expect(grantsOf(auth.clientId)).toHaveLength(1);
      const tokenKeys = (await redis.keys(`${prefix}*`)).filter((k) => /^[0-9a-f]{64}$/.test(k.slice(prefix.length)));
      expect(tokenKeys).toHaveLength(1);
      expect(await redis.get(tokenKeys[0]!)).not.toMatch(/eyJ/); // one key (asserted above)
      const events = await request(replicaA.getHttpServer())
        .get('/internal/audit-events')
        .set('Authorization', `Bearer ${await formToken(AUDITOR, AUDIT, 'read:audit')}`)
        .expect(200);
      expect(events.body.events).toContainEqual(
        expect.objectContaining({ id: res.body.auditEventId, resource: 'documents/2', recordedBy: auth.clientId }),
      );
    });
  },
);
