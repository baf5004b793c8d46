/**
 * Cost of a cache hit in `M2MTokenService.getToken` (memory and Redis caches) and token requests
 * per burst of concurrent cold calls, counted at the dev issuer.
 *
 *   npx tsx bench/token-cache.bench.ts            (needs Redis at 127.0.0.1:6379 for the Redis rows)
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { M2MTokenService, type M2MModuleOptions } from '@nest-m2m/auth/m2m';
import { AUDIT_API_AUDIENCE, startDevIssuer } from '@nest-m2m/dev-issuer';

const HIT_CALLS = 20_000;
const BURST = 500;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function hitCostMicros(service: M2MTokenService, calls: number): Promise<{ median: number; p99: number }> {
  await service.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] });
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    await service.getToken({ audience: AUDIT_API_AUDIENCE, scopes: ['write:audit'] });
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  return { median: median(samples), p99: samples[Math.floor(samples.length * 0.99)]! };
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const issuer = await startDevIssuer({ enableTestControls: true });
  const secret = issuer.config.clients.find((c) => c.clientId === 'nest-m2m-service')!.clientSecret!;
  const prefix = `nest-m2m-bench:${randomBytes(4).toString('hex')}:`;
  const base: M2MModuleOptions = {
    dialect: 'auth0',
    tokenEndpoint: issuer.tokenEndpoint,
    clientId: 'nest-m2m-service',
    clientSecret: secret,
  };
  const redisOptions = { cacheUrl: REDIS_URL, cacheKeyPrefix: prefix };
  const rows: string[] = [];

  for (const [name, extra] of [
    ['memory', {}],
    ['redis', redisOptions],
    ['redis, encrypted', { ...redisOptions, cacheKeyPrefix: `${prefix}enc:`, cacheEncryptionKey: randomBytes(32).toString('base64') }],
  ] as const) {
    const service = new M2MTokenService({ ...base, ...extra });
    const { median: med, p99 } = await hitCostMicros(service, name === 'memory' ? HIT_CALLS * 5 : HIT_CALLS);
    rows.push(`cache hit, ${name.padEnd(16)} median ${med.toFixed(2)} µs   p99 ${p99.toFixed(2)} µs`);
    await service.onModuleDestroy();
  }

  issuer.controls.resetCounters();
  const memory = new M2MTokenService(base);
  await Promise.all(Array.from({ length: BURST }, () => memory.getToken({ audience: AUDIT_API_AUDIENCE })));
  rows.push(
    `cold burst of ${BURST} concurrent calls, one memory-cache process: ${issuer.controls.counters().tokenRequests} token request(s)`,
  );
  await memory.onModuleDestroy();

  issuer.controls.resetCounters();
  const fleet = Array.from({ length: 10 }, () => new M2MTokenService({ ...base, cacheUrl: REDIS_URL, cacheKeyPrefix: `${prefix}fleet:` }));
  await Promise.all(fleet.flatMap((s) => Array.from({ length: BURST / 10 }, () => s.getToken({ audience: AUDIT_API_AUDIENCE }))));
  rows.push(
    `cold burst of ${BURST} concurrent calls over 10 Redis-sharing instances: ${issuer.controls.counters().tokenRequests} token request(s)`,
  );
  await Promise.all(fleet.map((s) => s.onModuleDestroy()));

  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await issuer.close();
  console.log(`node ${process.version}, ${HIT_CALLS} sequential hits per Redis row, ${HIT_CALLS * 5} for memory`);
  for (const row of rows) console.log(row);
}

await main();
