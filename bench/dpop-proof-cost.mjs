// Instruction cost of one DPoP proof check (RFC 9449 §4.3 + replay claim in memory), or with
// 'verify' of one bare jose ES256 compactVerify, for callgrind (after npm run build):
//   valgrind --tool=callgrind --callgrind-out-file=out.100 node bench/dpop-proof-cost.mjs 100 [verify]
//   valgrind --tool=callgrind --callgrind-out-file=out.300 node bench/dpop-proof-cost.mjs 300 [verify]
// (Ir(300) - Ir(100)) / 200 is the per-proof figure; start-up and signing cancel out.
import { randomUUID, createHash } from 'node:crypto';
import { SignJWT, generateKeyPair, exportJWK, calculateJwkThumbprint, compactVerify, importJWK } from 'jose';
import { DpopProofChecker } from '../libs/auth/dist/dpop/dpop-proof.js';
import { MemoryDpopReplayStore, replayId } from '../libs/auth/dist/dpop/dpop-replay.store.js';
const N = Number(process.argv[2]);
const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwk = await exportJWK(publicKey);
const jkt = await calculateJwkThumbprint(jwk);
const token = 'a'.repeat(700);
const ath = createHash('sha256').update(token).digest('base64url');
const htu = 'http://api.local/guarded';
const proofs = [];
for (let i = 0; i < 3 * 100; i++)
  proofs.push(
    await new SignJWT({ jti: randomUUID(), htm: 'GET', htu, iat: Math.floor(Date.now() / 1000), ath })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
      .sign(privateKey),
  );
const checker = new DpopProofChecker({
  algorithms: ['ES256'],
  maxAgeSeconds: 3600,
  clockToleranceSeconds: 5,
  trustForwardedHeaders: false,
  maxProofLength: 8192,
  clock: { now: () => Date.now() },
});
const store = new MemoryDpopReplayStore();
const key = await importJWK(jwk, 'ES256');
for (let i = 0; i < N; i++) {
  const dpop = proofs[i];
  const req = {
    method: 'GET',
    originalUrl: '/guarded',
    headers: { host: 'api.local', dpop },
    rawHeaders: ['Host', 'api.local', 'DPoP', dpop],
    socket: {},
  };
  if (process.argv[3] === 'verify') {
    await compactVerify(dpop, key);
    continue;
  }
  const p = await checker.check(req, token, jkt);
  if (!(await store.claim(replayId(p.jkt, p.jti), 60000))) throw new Error('replay');
}
console.log('checked', N);
