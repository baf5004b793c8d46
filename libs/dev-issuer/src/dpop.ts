import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { OAuthError } from './errors.js';
import type { DevIssuerClock } from './types.js';

/** Proof algorithms the token endpoint accepts (Auth0 documents ES256 for DPoP). */
export const DPOP_SIGNING_ALGORITHMS = ['ES256'] as const;

/** How old a proof's `iat` may be (and how far ahead), in seconds. */
const PROOF_WINDOW_SECONDS = 60;
const NONCE_PERIOD_MS = 5 * 60_000;

const invalidProof = (description: string) => new OAuthError(400, 'invalid_dpop_proof', description);

/**
 * DPoP at the token endpoint (RFC 9449 §5): checks the request's `DPoP` proof (§4.3, with `jose`)
 * and answers the thumbprint of its key, which the token then carries as `cnf.jkt` and which makes
 * the answer's `token_type` `DPoP`. Replayed proofs are refused while they are fresh; with nonces
 * on, a proof without the current nonce gets `400 use_dpop_nonce` and a `DPoP-Nonce` header (§8).
 */
export class DpopTokenEndpoint {
  private readonly seen = new Map<string, number>();
  private readonly secret = randomBytes(32);

  constructor(
    private readonly tokenEndpoint: string,
    private readonly requireNonce: boolean,
    private readonly clock: DevIssuerClock,
  ) {}

  /** The proof key's thumbprint, or undefined for a request without a `DPoP` header. */
  async check(req: IncomingMessage): Promise<string | undefined> {
    const values = req.headersDistinct.dpop;
    if (values === undefined) return undefined;
    const proof = values.length === 1 ? values[0] : undefined;
    if (proof === undefined || proof.includes(',')) throw invalidProof('Only one DPoP proof is allowed');
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(proof) as Record<string, unknown>;
    } catch {
      throw invalidProof('Malformed DPoP proof');
    }
    if (header.typ !== 'dpop+jwt') throw invalidProof('Invalid DPoP proof typ');
    if (!DPOP_SIGNING_ALGORITHMS.includes(header.alg as never)) throw invalidProof('Unsupported DPoP proof algorithm');
    const jwk = header.jwk as JWK | undefined;
    if (typeof jwk !== 'object' || jwk === null || 'd' in jwk) throw invalidProof('DPoP proof jwk must be a public key');
    let claims: Record<string, unknown>;
    try {
      const { payload } = await compactVerify(proof, await importJWK(jwk, header.alg as string), {
        algorithms: [...DPOP_SIGNING_ALGORITHMS],
      });
      claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
    } catch {
      throw invalidProof('Invalid DPoP proof signature');
    }
    const htu = typeof claims.htu === 'string' && URL.canParse(claims.htu) ? new URL(claims.htu) : undefined;
    if (claims.htm !== 'POST' || !htu || `${htu.origin}${htu.pathname}` !== this.tokenEndpoint)
      throw invalidProof('DPoP proof htm or htu mismatch');
    const now = this.clock.now() / 1000;
    if (typeof claims.iat !== 'number' || Math.abs(claims.iat - now) > PROOF_WINDOW_SECONDS)
      throw invalidProof('DPoP proof iat outside the accepted window');
    if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 256)
      throw invalidProof('DPoP proof jti missing or invalid');
    if (this.requireNonce && claims.nonce !== this.nonce(0) && claims.nonce !== this.nonce(-1)) {
      throw new OAuthError(400, 'use_dpop_nonce', 'Authorization server requires nonce in DPoP proof', { 'DPoP-Nonce': this.nonce(0) });
    }
    const jkt = await calculateJwkThumbprint(jwk);
    this.remember(`${jkt}.${claims.jti}`, now);
    return jkt;
  }

  private remember(id: string, now: number): void {
    for (const [seen, at] of this.seen) if (at < now - 2 * PROOF_WINDOW_SECONDS) this.seen.delete(seen);
    if (this.seen.has(id)) throw invalidProof('DPoP proof replayed');
    this.seen.set(id, now);
  }

  private nonce(offset: number): string {
    const slot = Math.floor(this.clock.now() / NONCE_PERIOD_MS) + offset;
    return createHmac('sha256', this.secret).update(String(slot)).digest('base64url').slice(0, 22);
  }
}
