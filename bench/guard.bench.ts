/**
 * The guard's own cost per request, without HTTP: the product's global guards (JwtAuthGuard +
 * ScopesGuard) on a verified-token cache hit, and a first verification (cache miss: header checks,
 * RSA verify, claims), next to the textbook cost the issue names (PEM parse + verify per request).
 * HTTP figures on this VM swing by ±30 % between runs; these are steadier.
 *
 *   npm run bench:guard
 */
import 'reflect-metadata';
import { createPublicKey, createVerify } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { JwtAuthGuard, KeySource, ScopesGuard, VerifiedTokenCache } from '@nest-m2m/auth';
import { DOCUMENTS_API_AUDIENCE, startDevIssuer } from '@nest-m2m/dev-issuer';
import { distinctTokens } from './tokens.js';
import { BenchController, BenchModule } from './apps/bench.module.js';

const ITERATIONS = Number(process.argv.find((a) => a.startsWith('--iterations='))?.split('=')[1] ?? 200_000);

const issuer = await startDevIssuer({ enableTestControls: true });
const moduleRef = await Test.createTestingModule({
  imports: [BenchModule.forRoot({ issuer: issuer.issuer, audience: DOCUMENTS_API_AUDIENCE, jwksUri: issuer.jwksUri })],
})
  .setLogger(false as never)
  .compile();
await moduleRef.get(KeySource).warm();
const jwt = moduleRef.get(JwtAuthGuard);
const scopes = moduleRef.get(ScopesGuard);
const cache = moduleRef.get(VerifiedTokenCache);
// eslint-disable-next-line @typescript-eslint/unbound-method -- only its identity is used (metadata lookup); never called
const handler = BenchController.prototype.guarded;

function context(req: object): ExecutionContext {
  return {
    getHandler: () => handler,
    getClass: () => BenchController,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}), getNext: () => undefined }),
    getType: () => 'http',
    getArgs: () => [req, {}],
  } as unknown as ExecutionContext;
}

async function guarded(token: string): Promise<void> {
  const req = { headers: { authorization: `Bearer ${token}` }, rawHeaders: ['Authorization', `Bearer ${token}`], query: {} };
  const ctx = context(req);
  if (!(await jwt.canActivate(ctx)) || !scopes.canActivate(ctx)) throw new Error('refused');
}

async function perCall(label: string, n: number, fn: (i: number) => Promise<void> | void): Promise<number> {
  for (let i = 0; i < Math.min(n, 2000); i++) await fn(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  console.log(`${label.padEnd(58)} ${us.toFixed(2).padStart(9)} µs/call`);
  return us;
}

console.log(`node ${process.version}; ${ITERATIONS} iterations per cache-hit figure\n`);
const token = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
const hit = await perCall('global guards, verified-token cache hit', ITERATIONS, () => guarded(token));

const fresh = await distinctTokens(issuer, 2000);
cache.clear();
// Each call a token never seen before: perCall's warm-up uses the same list, so clear the cache first.
const miss = await perCall('global guards, first verification (cache miss, RSA verify)', fresh.length, (i) => {
  if (i === 0) cache.clear();
  return guarded(fresh[i]!); // i < fresh.length
});

// What the textbook stack does on every request: jwks-rsa hands passport-jwt a PEM string, and
// jsonwebtoken parses it before the RSA verify.
const jwks = issuer.controls.jwks() as { keys: Array<Record<string, unknown>> };
const pem = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).export({ format: 'pem', type: 'spki' }) as string;
const [h, p, s] = token.split('.');
if (s === undefined) throw new Error('The dev issuer answered a token that is not a compact JWS');
const sig = Buffer.from(s, 'base64url');
const parsedKey = createPublicKey(pem);
const rsa = await perCall('RSA-2048 verify with a parsed KeyObject', 20_000, () => {
  createVerify('RSA-SHA256').update(`${h}.${p}`).verify(parsedKey, sig);
});
const textbook = await perCall('PEM parse + RSA-2048 verify (the textbook path)', 20_000, () => {
  createVerify('RSA-SHA256').update(`${h}.${p}`).verify(createPublicKey(pem), sig);
});

console.log(
  `\ncache hit vs textbook key work: ${(textbook / hit).toFixed(0)}x cheaper; a miss costs ${(miss / rsa).toFixed(1)}x one RSA verify`,
);
await moduleRef.close();
await issuer.close();
