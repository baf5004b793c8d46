import { createHmac, createSign, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface TestKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  alg: 'RS256' | 'RS512' | 'PS256' | 'ES256';
}

export type JwksBehaviour =
  | { kind: 'ok' }
  | { kind: 'status'; status: number }
  | { kind: 'hang' }
  | { kind: 'garbage' }
  | { kind: 'delay'; ms: number }
  /** A good answer once `open` settles: the test decides when, instead of guessing a delay. */
  | { kind: 'gate'; open: Promise<void> }
  /** Serves this document as the JWKS (hand-made members: `use: enc`, no `alg`, duplicate kids…). */
  | { kind: 'json'; body: unknown };

export function generateTestKey(kid: string = randomUUID(), alg: TestKey['alg'] = 'RS256'): TestKey {
  const { privateKey, publicKey } =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey, alg };
}

/**
 * RSA key material generated once per spec file (Vitest runs each file in its own process) and lent
 * to every TestIssuer of the file: RSA-2048 generation costs tens of milliseconds, per issuer and per
 * rotation. Within one issuer every key is distinct (rotation takes the next one); issuers of the same
 * file share material under their own kids, so a test that needs a key no other issuer has asks for
 * `freshKeys` (or uses generateTestKey()).
 */
const keyPool: TestKey[] = [];
function pooledKey(index: number, kid: string): TestKey {
  while (keyPool.length <= index) keyPool.push(generateTestKey());
  return { ...keyPool[index]!, kid }; // the loop above filled the pool up to index
}

/** Algorithms `signatureOf` can produce. */
const SIGNING_ALGS = /^(RS(256|384|512)|PS256|ES256)$/;

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/**
 * A minimal issuer for specs: real RSA keys, discovery and JWKS on 127.0.0.1:0, switchable
 * failures, and a signer that will also sign what a hostile party would (any header, any claims).
 */
export class TestIssuer {
  readonly keys: TestKey[] = [];
  jwksFetches = 0;
  behaviour: JwksBehaviour = { kind: 'ok' };
  /** Members that replace the discovery document's own (e.g. a `jwks_uri` on another host). */
  discovery: Record<string, unknown> = {};
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  url = '';

  /** Keys taken from the file's pool so far (rotation takes the next). */
  private keysUsed = 0;

  constructor(readonly options: { trailingSlash?: boolean; audience?: string; freshKeys?: boolean } = {}) {
    this.keys.push(this.nextKey('key-1'));
  }

  private nextKey(kid: string): TestKey {
    return this.options.freshKeys ? generateTestKey(kid) : pooledKey(this.keysUsed++, kid);
  }

  get issuer(): string {
    return this.options.trailingSlash === false ? this.url : `${this.url}/`;
  }

  get jwksUri(): string {
    return `${this.url}/.well-known/jwks.json`;
  }

  get audience(): string {
    return this.options.audience ?? 'https://api.test.local';
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** The key that signs by default: the newest (keys[0]). */
  get signingKey(): TestKey {
    const key = this.keys[0];
    if (key === undefined) throw new Error('TestIssuer has no key: keys was emptied');
    return key;
  }

  /** New signing key first; the old ones stay published unless dropped. */
  rotate(options: { keepOld: boolean }): TestKey {
    const key = this.nextKey(`key-${this.keys.length + 1}-${randomUUID().slice(0, 8)}`);
    if (!options.keepOld) this.keys.length = 0;
    this.keys.unshift(key);
    return key;
  }

  jwks() {
    return {
      keys: this.keys.map((k) => ({ ...(k.publicKey.export({ format: 'jwk' }) as object), kid: k.kid, use: 'sig', alg: k.alg })),
    };
  }

  /** Claims of a valid Auth0-style M2M token, with overrides. */
  claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: this.issuer,
      sub: 'caller-app@clients',
      aud: this.audience,
      azp: 'caller-app',
      gty: 'client-credentials',
      scope: 'read:documents',
      iat: now,
      exp: now + 3600,
      ...overrides,
    };
  }

  /** Signs with the current key (or `key`), any header and any claims. `undefined` values are removed. */
  sign(claims: Record<string, unknown> = this.claims(), header: Record<string, unknown> = {}, key: TestKey = this.signingKey): string {
    const h = clean({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header });
    const input = `${b64(h)}.${b64(clean(claims))}`;
    const alg = String(h.alg);
    // Any other `alg` (none, HS*, junk) gets an empty signature: hostile cases sign those by hand.
    const signature = SIGNING_ALGS.test(alg) ? this.signatureOf(input, alg, key) : '';
    return `${input}.${signature}`;
  }

  /** RFC 8725 §2.1 attack: HMAC "signed" with the public key's PEM as the secret. */
  signHmacWithPublicKey(claims = this.claims(), alg = 'HS256'): string {
    const key = this.signingKey;
    const input = `${b64({ alg, typ: 'JWT', kid: key.kid })}.${b64(claims)}`;
    const secret = key.publicKey.export({ format: 'pem', type: 'spki' });
    const sig = createHmac(`sha${alg.slice(2)}`, secret)
      .update(input)
      .digest('base64url');
    return `${input}.${sig}`;
  }

  /** Unsigned token (`alg` none and its case variants). */
  unsigned(alg = 'none', claims = this.claims()): string {
    return `${b64({ alg, typ: 'JWT' })}.${b64(claims)}.`;
  }

  /** Base64url of a string (as is) or of any value's JSON: for hand-built segments. */
  segment(value: unknown): string {
    return b64(value);
  }

  /** Base64url signature of any signing input by `key` under `alg` (RS256/384/512, PS256, ES256). */
  signatureOf(input: string, alg = 'RS256', key: TestKey = this.signingKey): string {
    let signature: Buffer;
    if (/^RS(256|384|512)$/.test(alg)) {
      signature = createSign(`sha${alg.slice(2)}`)
        .update(input)
        .sign(key.privateKey);
    } else if (alg === 'PS256') {
      signature = createSign('sha256').update(input).sign({ key: key.privateKey, padding: 6, saltLength: 32 });
    } else if (alg === 'ES256') {
      signature = createSign('sha256').update(input).sign({ key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    } else {
      throw new Error(`signatureOf: unsupported alg ${alg}`);
    }
    return signature.toString('base64url');
  }

  /**
   * A token from raw, already-encoded segments, genuinely signed by `key` under `alg`: headers and
   * payloads that no JSON encoder would produce (not JSON, arrays, `1e400`…) with a valid signature.
   */
  signSegments(headerSegment: string, payloadSegment: string, alg = 'RS256', key: TestKey = this.signingKey): string {
    const input = `${headerSegment}.${payloadSegment}`;
    return `${input}.${this.signatureOf(input, alg, key)}`;
  }

  /** Algorithm confusion with any secret (PEM, DER, JWK JSON, modulus bytes…): HMAC over header and claims. */
  signHmac(
    secret: string | Buffer,
    alg = 'HS256',
    claims: Record<string, unknown> = this.claims(),
    header: Record<string, unknown> = {},
  ): string {
    const input = `${b64(clean({ alg, typ: 'JWT', kid: this.signingKey.kid, ...header }))}.${b64(clean(claims))}`;
    return `${input}.${createHmac(`sha${alg.slice(2)}`, secret)
      .update(input)
      .digest('base64url')}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/.well-known/openid-configuration' || path === '/.well-known/oauth-authorization-server') {
      json(res, 200, { issuer: this.issuer, jwks_uri: this.jwksUri, token_endpoint: `${this.url}/oauth/token`, ...this.discovery });
      return;
    }
    if (path === '/.well-known/jwks.json') {
      this.jwksFetches++;
      const b = this.behaviour;
      if (b.kind === 'hang') return; // never answers; the socket is destroyed on close()
      if (b.kind === 'delay') return void setTimeout(() => json(res, 200, this.jwks()), b.ms); // a slow but good answer
      if (b.kind === 'gate') return void b.open.then(() => json(res, 200, this.jwks()));
      if (b.kind === 'status') {
        json(res, b.status, { error: 'injected' });
        return;
      }
      if (b.kind === 'json') {
        json(res, 200, b.body);
        return;
      }
      if (b.kind === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{not json');
      }
      json(res, 200, this.jwks());
      return;
    }
    json(res, 404, { error: 'not_found' });
  }
}

function clean(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
