import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, type CryptoKey, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { InvalidTokenError } from '../bearer.errors.js';
import { InvalidDpopProofError, UseDpopNonceError } from './dpop.errors.js';
import type { DpopNonces } from './dpop-nonce.js';
import { requestUri, normaliseHtu } from './request-url.js';

interface RequestLike {
  method?: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders?: string[];
  raw?: { rawHeaders?: string[]; method?: string };
}

/** What a proof that passed every stateless check leaves for the replay check. */
export interface CheckedProof {
  jti: string;
  jkt: string;
}

export interface DpopProofCheckerOptions {
  algorithms: readonly string[];
  maxAgeSeconds: number;
  clockToleranceSeconds: number;
  trustForwardedHeaders: boolean;
  maxProofLength: number;
  nonces?: DpopNonces;
  clock: Clock;
}

// RFC 7517 §§6.2.2, 6.3.2, 6.4: members that only a private (or symmetric) key has.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];
const ASYMMETRIC_KTY = new Set(['EC', 'RSA', 'OKP', 'AKP']);
const MAX_JTI_LENGTH = 256;

function dpopHeader(req: RequestLike): string {
  const raw = (req as { rawHeaders?: string[] }).rawHeaders ?? req.raw?.rawHeaders ?? [];
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'dpop') count++;
  const value = req.headers.dpop;
  // RFC 9449 §4.3 step 1: exactly one DPoP header (Node joins repeated ones with ", ").
  if (count > 1 || Array.isArray(value) || (typeof value === 'string' && value.includes(',')))
    throw new InvalidDpopProofError('More than one DPoP proof');
  if (value === undefined || value === '') throw new InvalidDpopProofError('Missing DPoP proof');
  return value;
}

/** RFC 9449 §4.2 `ath`: base64url of the SHA-256 of the access token's ASCII. */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

/**
 * The stateless checks of RFC 9449 §4.3 on the request's `DPoP` proof, in the RFC's order, each
 * failure its own description; `jose` verifies the signature with the embedded public key. The
 * replay check (§11.1) is the caller's, after every other check passed.
 */
export class DpopProofChecker {
  /**
   * A client signs every proof with the same key: importing it and hashing its thumbprint once, not
   * per request, halves the cost of a proof. Keyed by the exact `jwk` JSON and `alg`, so a key is
   * never used under another algorithm; bounded, so keys sent by strangers only evict each other.
   */
  private readonly keys = new LRUCache<string, { key: CryptoKey | Uint8Array; jkt: string }>({ max: 1000 });

  constructor(private readonly o: DpopProofCheckerOptions) {}

  private async importKey(jwk: JWK, alg: string): Promise<{ key: CryptoKey | Uint8Array; jkt: string }> {
    const id = `${alg}.${JSON.stringify(jwk)}`;
    let entry = this.keys.get(id);
    if (entry === undefined) {
      entry = { key: await importJWK({ ...jwk, ext: true }, alg), jkt: await calculateJwkThumbprint(jwk, 'sha256') };
      this.keys.set(id, entry);
    }
    return entry;
  }

  async check(req: RequestLike, accessToken: string, boundJkt: string): Promise<CheckedProof> {
    const proof = dpopHeader(req);
    if (proof.length > this.o.maxProofLength) throw new InvalidDpopProofError('DPoP proof too large');
    // Step 2: a well-formed JWS (compact, three segments).
    if (proof.split('.').length !== 3) throw new InvalidDpopProofError('Malformed DPoP proof');
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(proof) as Record<string, unknown>;
    } catch {
      throw new InvalidDpopProofError('Malformed DPoP proof');
    }
    // Steps 4-6: typ, an asymmetric alg from the allow-list, a public key in `jwk`.
    if (header.typ !== 'dpop+jwt') throw new InvalidDpopProofError('Invalid DPoP proof typ');
    if (typeof header.alg !== 'string' || !this.o.algorithms.includes(header.alg))
      throw new InvalidDpopProofError('Unsupported DPoP proof algorithm');
    const jwk = header.jwk;
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new InvalidDpopProofError('DPoP proof has no jwk');
    if (PRIVATE_MEMBERS.some((m) => Object.prototype.hasOwnProperty.call(jwk, m)) || !ASYMMETRIC_KTY.has((jwk as JWK).kty as string)) {
      throw new InvalidDpopProofError('DPoP proof jwk must be a public key');
    }
    if (Array.isArray(header.crit)) throw new InvalidDpopProofError('Unsupported critical header in DPoP proof');
    // Step 7: the signature, with the embedded key (jose checks that the key suits the alg).
    let payloadBytes: Uint8Array;
    let jkt: string;
    try {
      const imported = await this.importKey(jwk as JWK, header.alg);
      jkt = imported.jkt;
      ({ payload: payloadBytes } = await compactVerify(proof, imported.key, { algorithms: [header.alg] }));
    } catch {
      throw new InvalidDpopProofError('Invalid DPoP proof signature');
    }
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(payloadBytes).toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new InvalidDpopProofError('Malformed DPoP proof claims');
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
      throw new InvalidDpopProofError('Malformed DPoP proof claims');
    const { jti, htm, htu, iat } = claims;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH)
      throw new InvalidDpopProofError('DPoP proof jti missing or invalid');
    // Step 8: htm, the request's method exactly (case-sensitive, RFC 9110 §9.1).
    const method = req.method ?? req.raw?.method;
    if (htm !== method) throw new InvalidDpopProofError('DPoP proof htm mismatch');
    // Step 9: htu, compared without query and fragment, both sides normalised.
    const expected = requestUri(req as never, this.o.trustForwardedHeaders);
    if (typeof htu !== 'string' || expected === undefined || normaliseHtu(htu) !== expected)
      throw new InvalidDpopProofError('DPoP proof htu mismatch');
    // Step 11: iat within the window (tolerance both ways for skewed clocks).
    const now = this.o.clock.now() / 1000;
    const tolerance = this.o.clockToleranceSeconds;
    if (typeof iat !== 'number' || !Number.isFinite(iat) || iat > now + tolerance || iat < now - this.o.maxAgeSeconds - tolerance) {
      throw new InvalidDpopProofError('DPoP proof iat outside the accepted window');
    }
    // Step 12: ath binds the proof to this access token.
    if (claims.ath !== accessTokenHash(accessToken)) throw new InvalidDpopProofError('DPoP proof ath mismatch');
    // Step 12: the token's cnf.jkt is the thumbprint of the proof's key (RFC 7638).
    if (jkt !== boundJkt) throw new InvalidTokenError('ERR_AUTH_DPOP_BINDING_INVALID', 'Invalid DPoP key binding');
    // Step 10: the server's nonce, when nonces are on.
    if (this.o.nonces && !this.o.nonces.isValid(claims.nonce)) {
      throw new UseDpopNonceError(this.o.nonces.current(), claims.nonce === undefined ? undefined : 'Stale DPoP nonce');
    }
    return { jti, jkt };
  }
}
