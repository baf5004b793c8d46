import { createPublicKey, type KeyObject } from 'node:crypto';

export interface SigningKey {
  kid: string | undefined;
  /** The JWS algorithms this key verifies: its own `alg`, or without one, the accepted algorithms of its key type. */
  algorithms: readonly string[];
  /** Imported once per JWKS fetch: verifying with a KeyObject skips key parsing on every request. */
  key: KeyObject;
}

export interface ImportedJwkSet {
  /** Usable members, in the set's order. */
  keys: SigningKey[];
  /** Members left out, each with the reason (for the log). */
  skipped: string[];
}

/** The JWS algorithms a key type (and curve) can verify: RFC 7518 §3.1, RFC 8037 §3.1. */
function algorithmsOfKeyType(jwk: Record<string, unknown>): readonly string[] {
  switch (jwk.kty) {
    case 'RSA':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'EC':
      return ({ 'P-256': ['ES256'], 'P-384': ['ES384'], 'P-521': ['ES512'] } as Record<string, string[]>)[jwk.crv as string] ?? [];
    case 'OKP':
      return jwk.crv === 'Ed25519' || jwk.crv === 'Ed448' ? ['EdDSA'] : [];
    default:
      return [];
  }
}

/** Why a JWK Set member cannot verify tokens signed with one of the accepted algorithms, or its algorithms. */
function usableAlgorithms(jwk: Record<string, unknown>, accepted: readonly string[]): readonly string[] | string {
  // RFC 7517 §4.2/§4.3: a key published for encryption, or not for verification, does not verify signatures.
  if (jwk.use !== undefined && jwk.use !== 'sig') return `use ${JSON.stringify(jwk.use)}`;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return 'key_ops without verify';
  // A published private key is a leaked key, not one to trust.
  if ('d' in jwk) return 'private key material';
  const ofType = algorithmsOfKeyType(jwk);
  if (ofType.length === 0)
    return `unsupported key type ${JSON.stringify(jwk.kty)}${jwk.crv === undefined ? '' : ` ${JSON.stringify(jwk.crv)}`}`;
  // RFC 8725 §3.1: the algorithm comes from the key. A key that names its `alg` verifies that one only.
  const own = jwk.alg === undefined ? ofType : ofType.filter((a) => a === jwk.alg);
  if (own.length === 0) return `alg ${JSON.stringify(jwk.alg)} does not fit key type ${JSON.stringify(jwk.kty)}`;
  const usable = own.filter((a) => accepted.includes(a));
  return usable.length > 0 ? usable : `no accepted algorithm (key verifies ${own.join(', ')})`;
}

/**
 * The signing keys of a JWK Set's `keys` (RFC 7517 §5), imported with `crypto.createPublicKey`
 * straight from the JWK (no PEM detour). Members that cannot verify an accepted algorithm are
 * left out, never fail the set: encryption keys, unsupported key types, private keys, keys that
 * do not import. When two members share a `kid`, the first one serves it, as in jwks-rsa's
 * lookup: a token cannot choose between two keys under one name.
 */
export function importJwkSet(members: unknown, accepted: readonly string[]): ImportedJwkSet {
  if (!Array.isArray(members)) throw new Error('the JWKS has no "keys" array');
  const keys: SigningKey[] = [];
  const skipped: string[] = [];
  /** Kids already served (kid-less members do not collide). */
  const kids = new Set<string>();
  for (const [index, member] of members.entries()) {
    if (typeof member !== 'object' || member === null || Array.isArray(member)) {
      skipped.push(`member ${index}: not a JSON object`);
      continue;
    }
    const jwk = member as Record<string, unknown>;
    const kid = typeof jwk.kid === 'string' && jwk.kid ? jwk.kid : undefined;
    const name = kid === undefined ? `member ${index}` : `kid ${JSON.stringify(kid)}`;
    const algorithms = usableAlgorithms(jwk, accepted);
    if (typeof algorithms === 'string') {
      skipped.push(`${name}: ${algorithms}`);
      continue;
    }
    if (kid !== undefined && kids.has(kid)) {
      skipped.push(`${name}: duplicate kid, the first member with it is used`);
      continue;
    }
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as never, format: 'jwk' });
    } catch (err) {
      skipped.push(`${name}: does not import (${(err as Error).message})`);
      continue;
    }
    if (kid !== undefined) kids.add(kid);
    keys.push({ kid, algorithms, key });
  }
  return { keys, skipped };
}
