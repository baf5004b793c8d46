import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createPublicKey } from 'node:crypto';
import { accessTokenHash } from '../dpop/dpop-proof.js';
import { systemClock, type Clock } from '../clock.js';

/** The DPoP key of this client identity (option `dpop` of the M2MModule). */
export interface DpopClientOptions {
  /**
   * Private key as PEM (PKCS#8) or JWK JSON. Without one a key pair is generated at start, which
   * only works for a single process: replicas sharing tokens (`cacheUrl`, `cache`) must present the
   * same key, so a generated key with a shared cache is a start-up error.
   */
  privateKey?: string;
  /** Proof algorithm. Default: the JWK's `alg`, else `ES256`. */
  alg?: string;
}

export interface ProofInput {
  htm: string;
  /** The request URL; query and fragment are removed (RFC 9449 §4.2). */
  htu: string;
  /** The access token the proof goes with (`ath`), for resource requests. */
  accessToken?: string;
  nonce?: string;
}

/**
 * One DPoP key pair and its proofs (RFC 9449 §4.2): a new `jti` and `iat` for every proof, `ath`
 * for resource requests, and the last `DPoP-Nonce` each server handed out, per origin (§8, §9).
 */
export class DpopClientKey {
  private readonly nonces = new Map<string, string>();

  private constructor(
    private readonly key: CryptoKey,
    readonly alg: string,
    readonly publicJwk: JWK,
    /** RFC 7638 thumbprint: the `cnf.jkt` of the tokens bound to this key. */
    readonly jkt: string,
    private readonly clock: Clock,
  ) {}

  /** `clock` sets the proofs' `iat`: the M2M module passes its own `clock` option. */
  static async create(options: DpopClientOptions, clock: Clock = systemClock): Promise<DpopClientKey> {
    const text = options.privateKey?.trim();
    if (!text) {
      const alg = options.alg ?? 'ES256';
      const { privateKey, publicKey } = await generateKeyPair(alg);
      const jwk = await exportJWK(publicKey);
      return new DpopClientKey(privateKey, alg, jwk, await calculateJwkThumbprint(jwk), clock);
    }
    let jwk: JWK;
    let alg: string;
    let key: CryptoKey;
    if (text.startsWith('{')) {
      const privateJwk = JSON.parse(text) as JWK;
      alg = options.alg ?? privateJwk.alg ?? 'ES256';
      key = (await importJWK(privateJwk, alg)) as CryptoKey;
      // The public members only (never d, p, q, dp, dq, qi).
      jwk = { kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x, y: privateJwk.y, n: privateJwk.n, e: privateJwk.e };
    } else {
      alg = options.alg ?? 'ES256';
      key = await importPKCS8(text, alg);
      jwk = createPublicKey(text).export({ format: 'jwk' }) as JWK;
    }
    jwk = Object.fromEntries(Object.entries(jwk).filter(([, v]) => v !== undefined)) as JWK;
    return new DpopClientKey(key, alg, jwk, await calculateJwkThumbprint(jwk), clock);
  }

  /** A proof for one request; the origin's last nonce is included unless `nonce` is given. */
  proof(input: ProofInput): Promise<string> {
    const url = new URL(input.htu);
    const nonce = input.nonce ?? this.nonces.get(url.origin);
    const claims: Record<string, unknown> = {
      htm: input.htm,
      htu: `${url.origin}${url.pathname}`,
      jti: randomUUID(),
      iat: Math.floor(this.clock.now() / 1000),
    };
    if (input.accessToken !== undefined) claims.ath = accessTokenHash(input.accessToken);
    if (nonce !== undefined) claims.nonce = nonce;
    return new SignJWT(claims).setProtectedHeader({ alg: this.alg, typ: 'dpop+jwt', jwk: this.publicJwk }).sign(this.key);
  }

  /** Keeps a server's `DPoP-Nonce` for the next proofs to that origin; true when it is new. */
  rememberNonce(url: string, nonce: string | null | undefined): boolean {
    if (!nonce) return false;
    const origin = new URL(url).origin;
    if (this.nonces.get(origin) === nonce) return false;
    this.nonces.set(origin, nonce);
    return true;
  }
}
