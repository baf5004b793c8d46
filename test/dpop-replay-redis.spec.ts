/**
 * DPoP replay protection across a fleet (RFC 9449 §11.1): two replicas of the real AppModule share
 * the replay store through TOKEN_CACHE_URL, so a proof accepted by one is refused by the other; and
 * when that store does not answer, `AUTH_DPOP=required` fails closed while `allowed` does not.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from './helpers/app.js';
import { type RunningApp, spawnApp, stopApp, waitForHealth } from './helpers/built-app.js';
import { dpopTestKey, type DpopTestKey, proof } from './helpers/dpop.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

const SHARED_REDIS = 'redis://127.0.0.1:6379';

const portOf = (app: INestApplication) => (app.getHttpServer().address() as { port: number }).port;

async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The same request (same token, same proof) to any replica: every replica sees the same host and path. */
async function dpopCall(issuer: TestIssuer, key: DpopTestKey, host: string) {
  const token = issuer.sign(issuer.claims({ cnf: { jkt: key.jkt } }));
  return { token, dpop: await proof(key, { htm: 'GET', htu: `http://${host}/internal/data`, token }) };
}

describe('two replicas (separate processes) sharing Redis through TOKEN_CACHE_URL', () => {
  let issuer: TestIssuer;
  let key: DpopTestKey;
  const replicas: RunningApp[] = [];
  const prefix = `dpop-spec-${randomBytes(4).toString('hex')}:`;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    key = await dpopTestKey();
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      AUTH_ISSUER_URL: issuer.issuer,
      AUTH0_AUDIENCE: issuer.audience,
      TOKEN_CACHE_URL: SHARED_REDIS,
      TOKEN_CACHE_KEY_PREFIX: prefix,
    };
    // Each replica is its own process, as in a fleet: nothing but Redis is shared.
    for (const platform of ['express', 'fastify']) replicas.push(await spawnApp({ ...env, HTTP_PLATFORM: platform }));
    await Promise.all(replicas.map((r) => waitForHealth(r)));
  }, 60_000);
  afterAll(async () => {
    for (const r of replicas) await stopApp(r);
    await issuer?.close();
    const redis = new Redis(SHARED_REDIS);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('a_proof_accepted_by_one_replica_is_refused_by_the_other', async () => {
    // Behind a load balancer both replicas answer for one host name; the proof names that one.
    const host = 'api.internal.test';
    const { token, dpop } = await dpopCall(issuer, key, host);
    const call = (r: RunningApp) =>
      request(r.url).get('/internal/data').set('Host', host).set('Authorization', `DPoP ${token}`).set('DPoP', dpop).timeout(5000);
    const [first, second] = replicas;
    assert(first && second, 'beforeAll started two replicas');
    expect((await call(first)).status).toBe(200);
    const replay = await call(second);
    expect(replay.status).toBe(401);
    expect(replay.headers['www-authenticate']).toContain('error="invalid_dpop_proof", error_description="DPoP proof replayed"');
  });

  it('the_replay_key_lands_in_redis_under_the_configured_prefix_with_a_ttl', async () => {
    const redis = new Redis(SHARED_REDIS);
    try {
      const keys = await redis.keys(`${prefix}dpop-jti:*`);
      expect(keys.length).toBeGreaterThan(0);
      expect(await redis.pttl(keys[0]!)).toBeGreaterThan(0); // keys is not empty (asserted above)
    } finally {
      redis.disconnect();
    }
  });
});

// One app alive at a time: passport keeps one 'jwt' strategy per process (the last app's).
describe.each([
  ['express', 'required'],
  ['fastify', 'required'],
  ['express', 'allowed'],
  ['fastify', 'allowed'],
])('the replay store does not answer, on %s with AUTH_DPOP=%s', (platform, mode) => {
  let issuer: TestIssuer;
  let key: DpopTestKey;
  let app: INestApplication;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    key = await dpopTestKey();
    const dead = `redis://127.0.0.1:${await closedLoopbackPort()}`;
    app = await startApp(issuer, { HTTP_PLATFORM: platform, TOKEN_CACHE_URL: dead, AUTH_DPOP: mode });
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  const call = async () => {
    const { token, dpop } = await dpopCall(issuer, key, `127.0.0.1:${portOf(app)}`);
    return request(app.getHttpServer()).get('/internal/data').set('Authorization', `DPoP ${token}`).set('DPoP', dpop).timeout(10_000);
  };

  if (mode === 'required') {
    it('fails_closed_with_503_and_retry_after', async () => {
      const res = await call();
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'DPoP replay protection is temporarily unavailable',
      });
    });
  } else {
    it('accepts_a_valid_proof_without_the_replay_check', async () => {
      expect((await call()).status).toBe(200);
    });
  }
});
