/**
 * What DPoP (RFC 9449) adds to the guard's cost per request, without HTTP: the product's global
 * guards on a verified-token cache hit with a Bearer token, then with a DPoP-bound token and a fresh
 * proof per request (proof checks + one EC P-256 verify + thumbprint + replay claim), with the
 * replay store in memory and in Redis (127.0.0.1:6379, one SET NX PX round trip), next to one bare
 * ES256 verify by jose.
 *
 *   npm run bench:dpop              (optionally -- --proofs=5000)
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Controller, Get, type ExecutionContext, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { calculateJwkThumbprint, compactVerify, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import { AuthModule, type AuthModuleOptions, JwtAuthGuard, KeySource, Scopes, ScopesGuard } from '@nest-m2m/auth';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';
import { createHash } from 'node:crypto';

const PROOFS = Number(process.argv.find((a) => a.startsWith('--proofs='))?.split('=')[1] ?? 5000);
const HOST = 'api.bench.local';

@Controller()
class DpopBenchController {
  @Scopes('read:documents')
  @Get('guarded')
  guarded() {
    return { ok: true };
  }
}

async function guardsWith(issuer: TestIssuer, dpopProof: AuthModuleOptions['dpopProof']) {
  @Module({
    imports: [AuthModule.forRoot({ issuer: issuer.issuer, audience: issuer.audience, globalGuards: true, dpopProof })],
    controllers: [DpopBenchController],
  })
  class DpopBenchModule {}
  const moduleRef = await Test.createTestingModule({ imports: [DpopBenchModule] })
    .setLogger(false as never)
    .compile();
  await moduleRef.get(KeySource).warm();
  return { moduleRef, jwt: moduleRef.get(JwtAuthGuard), scopes: moduleRef.get(ScopesGuard) };
}

function context(req: object): ExecutionContext {
  return {
    getHandler: () => Reflect.get(DpopBenchController.prototype, 'guarded') as (...args: unknown[]) => unknown,
    getClass: () => DpopBenchController,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}), getNext: () => undefined }),
    getType: () => 'http',
    getArgs: () => [req, {}],
  } as unknown as ExecutionContext;
}

async function perCall(label: string, n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  console.log(`${label.padEnd(62)} ${us.toFixed(2).padStart(9)} µs/call`);
  return us;
}

const issuer = await new TestIssuer().start();
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = await exportJWK(publicKey);
const jkt = await calculateJwkThumbprint(jwk);
const bearerToken = issuer.sign();
const boundToken = issuer.sign(issuer.claims({ cnf: { jkt } }));
const ath = createHash('sha256').update(boundToken).digest('base64url');
const htu = `http://${HOST}/guarded`;
// Signing is the caller's cost, not the server's: every proof is made before the clock starts.
const makeProofs = () =>
  Promise.all(
    Array.from({ length: PROOFS }, () =>
      new SignJWT({ jti: randomUUID(), htm: 'GET', htu, iat: Math.floor(Date.now() / 1000), ath })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(privateKey),
    ),
  );

const request = (authorization: string, dpop?: string) => ({
  method: 'GET',
  originalUrl: '/guarded',
  headers: { host: HOST, authorization, ...(dpop ? { dpop } : {}) },
  rawHeaders: ['Host', HOST, 'Authorization', authorization, ...(dpop ? ['DPoP', dpop] : [])],
  query: {},
  socket: {},
});

async function run(guards: Awaited<ReturnType<typeof guardsWith>>, req: object): Promise<void> {
  const ctx = context(req);
  if (!(await guards.jwt.canActivate(ctx)) || !guards.scopes.canActivate(ctx)) throw new Error('refused');
}

console.log(`node ${process.version}; ${PROOFS} requests per DPoP figure (each with its own proof)\n`);
const memory = await guardsWith(issuer, undefined);
await run(memory, request(`Bearer ${bearerToken}`));
for (let i = 0; i < 2000; i++) await run(memory, request(`Bearer ${bearerToken}`));
const bearer = await perCall('Bearer token, verified-token cache hit', 100_000, () => run(memory, request(`Bearer ${bearerToken}`)));

let proofs = await makeProofs();
await run(memory, request(`DPoP ${boundToken}`, proofs[0])); // token into the cache; warm-up
proofs = await makeProofs();
const dpopMemory = await perCall('DPoP token (cache hit) + proof, replay store in memory', PROOFS, (i) =>
  run(memory, request(`DPoP ${boundToken}`, proofs[i])),
);
await memory.moduleRef.close();

const redis = await guardsWith(issuer, { replayStore: 'redis://127.0.0.1:6379', replayKeyPrefix: `bench:dpop:${randomUUID()}:` });
proofs = await makeProofs();
await run(redis, request(`DPoP ${boundToken}`, proofs[0]));
const dpopRedis = await perCall('DPoP token (cache hit) + proof, replay store in Redis', PROOFS - 1, (i) =>
  run(redis, request(`DPoP ${boundToken}`, proofs[i + 1])),
);
await redis.moduleRef.close();

proofs = await makeProofs();
await perCall('jose: import jwk + ES256 compactVerify of one proof', PROOFS, async (i) => {
  await compactVerify(proofs[i]!, await importJWK(jwk, 'ES256')); // i < PROOFS, the length of proofs
});

const imported = await importJWK(jwk, 'ES256');
proofs = await makeProofs();
const bareVerify = await perCall(
  'jose: ES256 compactVerify of one proof, key imported once',
  PROOFS,
  (i) => compactVerify(proofs[i]!, imported), // i < PROOFS, the length of proofs
);

console.log(
  `\nDPoP adds ${(dpopMemory - bearer).toFixed(1)} µs per request in memory (${((dpopMemory - bearer) / bareVerify).toFixed(2)}x one bare ES256 verify), ${(dpopRedis - bearer).toFixed(1)} µs with the Redis replay store`,
);
await issuer.close();
