import { randomUUID } from 'node:crypto';
import { importJWK, importPKCS8, SignJWT, type CryptoKey, type JWK, type KeyObject } from 'jose';

/** Lifetime of a client assertion: just long enough to reach the token endpoint (RFC 7523 §3 item 4). */
const ASSERTION_LIFETIME_SECONDS = 60;

export interface ClientAssertionKey {
  privateKey: string;
  alg?: string;
  kid?: string;
}

/**
 * Signs `private_key_jwt` client assertions (RFC 7523 §2.2, OIDC Core §9). The key is imported once;
 * every assertion gets a new `jti`, because issuers refuse replays (oidc-provider does, Auth0 too).
 */
export class ClientAssertionSigner {
  private readonly key: Promise<{ key: CryptoKey | KeyObject | Uint8Array; alg: string; kid?: string }>;

  constructor(
    private readonly clientId: string,
    source: ClientAssertionKey,
  ) {
    this.key = importKey(source);
    // Surfaced on first use; an unhandled rejection at construction would crash the process instead.
    this.key.catch(() => {});
  }

  async sign(audience: string): Promise<string> {
    const { key, alg, kid } = await this.key;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader(kid ? { alg, kid, typ: 'JWT' } : { alg, typ: 'JWT' })
      .setIssuer(this.clientId)
      .setSubject(this.clientId)
      .setAudience(audience)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
      .sign(key);
  }
}

async function importKey(source: ClientAssertionKey) {
  const text = source.privateKey.trim();
  if (text.startsWith('{')) {
    const jwk = JSON.parse(text) as JWK;
    const alg = source.alg ?? jwk.alg ?? 'RS256';
    return { key: await importJWK(jwk, alg), alg, kid: source.kid ?? jwk.kid };
  }
  const alg = source.alg ?? 'RS256';
  return { key: await importPKCS8(text, alg), alg, kid: source.kid };
}
