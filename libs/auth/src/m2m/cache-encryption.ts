import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * AES-256-GCM for cached tokens at rest. The cache key is the additional authenticated data, so an
 * entry copied under another key (another audience) fails to decrypt instead of being served.
 */
export class CacheEncryption {
  constructor(private readonly key: Buffer) {
    // A wrong-length key would otherwise fail every write inside the Redis cache's outage handling,
    // silently leaving tokens in-process only: misuse is a TypeError at construction (jose's habit).
    if (!Buffer.isBuffer(key) || key.length !== 32) throw new TypeError('CacheEncryption needs a 32-byte key (AES-256-GCM)');
  }

  encrypt(plaintext: string, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url')}`;
  }

  /** Throws if the value was not produced by `encrypt` with this key and `aad`. */
  decrypt(value: string, aad: string): string {
    const [version, payload] = value.split('.');
    if (version !== VERSION || !payload) throw new Error('not an encrypted cache entry');
    const raw = Buffer.from(payload, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
