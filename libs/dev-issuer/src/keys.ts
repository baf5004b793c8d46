import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { signingKeyCertificate } from './certificates.js';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

/** Access tokens are RS256, like Auth0's default; every verifier supports it. */
export const ACCESS_TOKEN_ALG = 'RS256';

// Members that make a JWK private (RFC 7518 §6.3.2); stripped before publishing.
const PRIVATE_RSA_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'] as const;

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  privateJwk: JWK;
  publicJwk: JWK;
}

function toPublic(jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  for (const member of PRIVATE_RSA_MEMBERS) delete copy[member];
  delete copy.key_ops;
  return copy as JWK;
}

/** Subject of the JWKS certificates; Auth0's name the tenant (`CN=<tenant>.auth0.com`). */
const CERTIFICATE_SUBJECT = 'CN=nest-m2m dev issuer';

async function fromPrivateJwk(jwk: JWK): Promise<SigningKey> {
  if (jwk.kty !== 'RSA' || !jwk.d) throw new Error('keys file must hold private RSA keys');
  // The thumbprint (RFC 7638) is a stable kid that needs no bookkeeping.
  const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk));
  const { x5c: _x5c, x5t: _x5t, ...stored } = jwk;
  const privateJwk: JWK = { ...stored, kid, alg: ACCESS_TOKEN_ALG, use: 'sig' };
  const privateKey = (await importJWK(privateJwk, ACCESS_TOKEN_ALG)) as CryptoKey;
  const publicJwk = toPublic(privateJwk);
  // Auth0's JWKS keys carry a self-signed certificate chain (`x5c`) and its thumbprint (`x5t`);
  // verifiers that read the certificate instead of `n`/`e` work here too. Made anew at each start.
  const publicKey = (await importJWK(publicJwk, ACCESS_TOKEN_ALG)) as CryptoKey;
  const certificate = await signingKeyCertificate({ publicKey, privateKey } as never, CERTIFICATE_SUBJECT);
  return { kid, privateKey, privateJwk, publicJwk: { ...publicJwk, ...certificate } };
}

async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { modulusLength: 2048, extractable: true });
  return fromPrivateJwk(await exportJWK(privateKey));
}

/**
 * The issuer's signing keys: the first signs, all are published. With a keys file the set
 * survives restarts (tokens issued before a restart keep verifying) and rotations are saved.
 */
export class SigningKeys {
  private constructor(
    private keys: SigningKey[],
    private readonly file: string | undefined,
  ) {}

  static async create(file?: string): Promise<SigningKeys> {
    if (file) {
      const loaded = await SigningKeys.load(file);
      if (loaded) return new SigningKeys(loaded, file);
    }
    const store = new SigningKeys([await generateSigningKey()], file);
    await store.save();
    return store;
  }

  private static async load(file: string): Promise<SigningKey[] | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const jwks = JSON.parse(text) as JSONWebKeySet;
      if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error('no "keys" array');
      return await Promise.all(jwks.keys.map(fromPrivateJwk));
    } catch (error) {
      throw new Error(`Cannot use keys file ${file}: ${(error as Error).message}`, { cause: error });
    }
  }

  private async save(): Promise<void> {
    if (!this.file) return;
    await mkdir(dirname(this.file), { recursive: true });
    // 0600: these are private keys. writeFile's mode only applies on creation, hence the chmod.
    await writeFile(this.file, `${JSON.stringify({ keys: this.keys.map((k) => k.privateJwk) }, null, 2)}\n`, { mode: 0o600 });
    await chmod(this.file, 0o600);
  }

  get current(): { kid: string; privateKey: CryptoKey } {
    return this.keys[0]!;
  }

  jwks(): JSONWebKeySet {
    return { keys: this.keys.map((key) => ({ ...key.publicJwk })) };
  }

  /** New key signs from now on; `keepOld` keeps earlier keys published so tokens they signed still verify. */
  async rotate(keepOld: boolean): Promise<string> {
    const next = await generateSigningKey();
    this.keys = keepOld ? [next, ...this.keys] : [next];
    await this.save();
    return next.kid;
  }
}
