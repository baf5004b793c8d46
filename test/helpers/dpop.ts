/**
 * DPoP proofs (RFC 9449 §4.2) for specs: real keys through `jose`, and hand-made proofs for what a
 * hostile client would send (any header, any claims, no signature).
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK, SignJWT } from 'jose';

export interface DpopTestKey {
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
  /** RFC 7638 thumbprint: the `cnf.jkt` of tokens bound to this key. */
  jkt: string;
}

export async function dpopTestKey(alg = 'ES256'): Promise<DpopTestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { alg, privateKey, publicJwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

export const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

export interface ProofInput {
  htm: string;
  htu: string;
  /** The access token for `ath`; `ath` is left out without one. */
  token?: string;
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

/** A valid proof by `key` (override any claim or header member; `undefined` removes it). */
export async function proof(key: DpopTestKey, input: ProofInput): Promise<string> {
  const claims = clean({
    jti: randomUUID(),
    htm: input.htm,
    htu: input.htu,
    iat: Math.floor(Date.now() / 1000),
    ath: input.token === undefined ? undefined : ath(input.token),
    ...input.claims,
  });
  const header = clean({ alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk, ...input.header });
  return new SignJWT(claims).setProtectedHeader(header as never).sign(key.privateKey);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A proof with the given header and claims and a signature of the caller's making (none, HMAC…). */
export function handMadeProof(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  sign: (input: string) => string = () => '',
): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign(input)}`;
}

export const hmacSigner = (secret: string) => (input: string) => createHmac('sha256', secret).update(input).digest('base64url');

function clean(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
