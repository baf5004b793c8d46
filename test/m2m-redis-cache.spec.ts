import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger, type LoggerService } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, startDevIssuer, type DevIssuer } from '@nest-m2m/dev-issuer';
import { M2MTokenService, type M2MModuleOptions } from '@nest-m2m/auth/m2m';

const SHARED_REDIS = 'redis://127.0.0.1:6379';
const SECRET = 'redis-spec-secret-0123456789abcdef';

function captureLogs(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const sink = (level: string) => (message: unknown) => lines.push(`${level} ${String(message)}`);
  Logger.overrideLogger({
    log: sink('log'),
    warn: sink('warn'),
    error: sink('error'),
    debug: sink('debug'),
    verbose: sink('verbose'),
  } as LoggerService);
  return { lines, restore: () => Logger.overrideLogger(['fatal']) };
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A private redis-server, so that killing it cannot disturb anyone else's tests. */
async function startPrivateRedis(): Promise<{ url: string; kill(): Promise<void> }> {
  const port = await freeLoopbackPort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch (error) {
      if (i > 100) throw error;
      await sleep(20);
    }
  }
  return {
    url,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('M2MTokenService with the Redis token cache', () => {
  let iss: DevIssuer;
  let redis: Redis;
  let prefix: string;
  let services: M2MTokenService[] = [];
  let logs: ReturnType<typeof captureLogs>;

  const service = (options: Partial<M2MModuleOptions> = {}) => {
    const s = new M2MTokenService({
      dialect: 'auth0',
      tokenEndpoint: iss.tokenEndpoint,
      clientId: 'nest-m2m-service',
      clientSecret: SECRET,
      cacheUrl: SHARED_REDIS,
      cacheKeyPrefix: prefix,
      ...options,
    });
    services.push(s);
    return s;
  };
  const tokenRequests = () => iss.controls.counters().tokenRequests;
  const ourKeys = async () => (await redis.keys(`${prefix}*`)).sort();

  beforeAll(async () => {
    iss = await startDevIssuer({
      enableTestControls: true,
      config: {
        apis: [
          // RFC 9068 profile: tokens carry a jti, so a replacement issued within the same second differs.
          { identifier: AUDIT_API_AUDIENCE, scopes: ['write:audit'], tokenLifetimeSeconds: 600, accessTokenProfile: 'rfc9068' },
          { identifier: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents'] },
        ],
        clients: [
          {
            clientId: 'nest-m2m-service',
            clientSecret: SECRET,
            grants: [
              { audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] },
              { audience: DOCUMENTS_API_AUDIENCE, scopes: ['read:documents'] },
            ],
          },
        ],
      },
    });
    redis = new Redis(SHARED_REDIS);
  });
  afterAll(async () => {
    await iss.close();
    redis.disconnect();
  });
  beforeEach(() => {
    iss.controls.reset();
    prefix = `nest-m2m-test:${randomBytes(6).toString('hex')}:`;
    logs = captureLogs();
  });
  afterEach(async () => {
    await Promise.all(services.map((s) => s.onModuleDestroy()));
    services = [];
    const keys = await ourKeys();
    if (keys.length > 0) await redis.del(...keys);
    logs.restore();
  });

  it('a fleet of five replicas cold-starting together makes exactly one token request', async () => {
    const fleet = Array.from({ length: 5 }, () => service());
    const calls = fleet.flatMap((s) =>
      Array.from({ length: 30 }, () => s.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] })),
    );
    const tokens = await Promise.all(calls);
    expect(tokenRequests()).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    // A replica started later finds the shared token too.
    await service().getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] });
    expect(tokenRequests()).toBe(1);
  });

  it('entries are namespaced, keyed by a hash, hold no secret and expire with the token', async () => {
    const s = service();
    const token = await s.getToken({ audience: AUDIT_API_AUDIENCE });
    const keys = await ourKeys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[0-9a-f]{64}$`));
    const value = (await redis.get(keys[0]!))!;
    expect(value).not.toContain(SECRET);
    expect(keys[0]).not.toContain('nest-m2m-service');
    const ttl = await redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(token.expiresAt.getTime() - Date.now() + 50);
  });

  it('with an encryption key the cached token is unreadable in Redis, and a replica with another key fetches its own', async () => {
    const key = randomBytes(32).toString('base64');
    const s = service({ cacheEncryptionKey: key });
    const token = await s.getToken({ audience: AUDIT_API_AUDIENCE });
    const [entry] = await ourKeys();
    expect(await redis.get(entry!)).not.toContain(token.accessToken.split('.')[1]!);
    expect((await service({ cacheEncryptionKey: key }).getToken({ audience: AUDIT_API_AUDIENCE })).accessToken).toBe(token.accessToken);
    expect(tokenRequests()).toBe(1);
    await service({ cacheEncryptionKey: randomBytes(32).toString('hex') }).getToken({ audience: AUDIT_API_AUDIENCE });
    expect(tokenRequests()).toBe(2);
  });

  it('a token invalidated by one replica is replaced once for the whole fleet', async () => {
    const [a, b] = [service(), service()];
    const first = await a.getToken({ audience: AUDIT_API_AUDIENCE });
    await a.invalidate({ audience: AUDIT_API_AUDIENCE, accessToken: first.accessToken });
    const second = await a.getToken({ audience: AUDIT_API_AUDIENCE });
    // b learns about the same rejected token later: it must not evict a's new token.
    await b.invalidate({ audience: AUDIT_API_AUDIENCE, accessToken: first.accessToken });
    expect((await b.getToken({ audience: AUDIT_API_AUDIENCE })).accessToken).toBe(second.accessToken);
    expect(tokenRequests()).toBe(2);
  });

  it('when Redis dies mid-run, calls keep succeeding from the in-process cache and one warning is logged', async () => {
    const privateRedis = await startPrivateRedis();
    try {
      const s = service({ cacheUrl: privateRedis.url });
      const warm = await s.getToken({ audience: AUDIT_API_AUDIENCE });
      await privateRedis.kill();
      const during = await Promise.all(Array.from({ length: 50 }, () => s.getToken({ audience: AUDIT_API_AUDIENCE })));
      expect(during.every((t) => t.accessToken === warm.accessToken)).toBe(true);
      for (let i = 0; i < 20; i++) await s.getToken({ audience: AUDIT_API_AUDIENCE });
      // A token never cached before is fetched directly.
      await s.getToken({ audience: DOCUMENTS_API_AUDIENCE });
      expect(tokenRequests()).toBe(2);
      const warnings = logs.lines.filter((l) => l.startsWith('warn') && l.includes('Redis token cache unavailable'));
      expect(warnings).toHaveLength(1);
    } finally {
      await privateRedis.kill();
    }
  });

  it('when Redis is unreachable from the start, calls still succeed', async () => {
    const port = await freeLoopbackPort();
    const s = service({ cacheUrl: `redis://127.0.0.1:${port}` });
    await s.getToken({ audience: AUDIT_API_AUDIENCE });
    await s.getToken({ audience: AUDIT_API_AUDIENCE });
    expect(tokenRequests()).toBe(1);
    expect(logs.lines.filter((l) => l.startsWith('warn') && l.includes('Redis token cache unavailable'))).toHaveLength(1);
  });
});
