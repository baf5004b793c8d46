/**
 * X.509 certificates the dev issuer makes at start: a self-signed certificate per signing key (the
 * JWKS `x5c`/`x5t`, as Auth0 publishes), and for TLS mode a throw-away CA with a loopback server
 * certificate. Made with @peculiar/x509 over WebCrypto (no openssl binary at run time); that
 * library resolves its services with tsyringe, which needs the `reflect-metadata` polyfill loaded
 * first — the one every NestJS app loads anyway.
 */
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as never);

const DAY_MS = 86_400_000;
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function validity(days: number) {
  // A minute of back-dating absorbs clock differences between processes on one machine.
  return { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + days * DAY_MS) };
}

function serialNumber(): string {
  // Positive 16-byte serial (RFC 5280 §4.1.2.2): clear the top bit.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}

/**
 * A self-signed certificate for a signing key pair: `x5c` holds its DER in base64 (RFC 7517
 * §4.7), `x5t` the base64url SHA-1 thumbprint of that DER (§4.8).
 */
export async function signingKeyCertificate(
  keys: { publicKey: CryptoKey; privateKey: CryptoKey },
  subject: string,
): Promise<{ x5c: string[]; x5t: string }> {
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: subject,
    ...validity(3650),
    keys: keys as never,
    signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  const der = Buffer.from(cert.rawData);
  return { x5c: [der.toString('base64')], x5t: createHash('sha1').update(der).digest('base64url') };
}

export interface TlsMaterial {
  /** PEM of the CA that signed the server certificate: what clients trust (NODE_EXTRA_CA_CERTS). */
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * A CA (constrained to end-entity certificates: pathLen 0) and a server certificate for
 * `localhost`, 127.0.0.1 and ::1, both ECDSA P-256 (fast to make at every start). Fresh each start;
 * the CA key is never written anywhere, so the CA can sign nothing else.
 */
export async function createTlsMaterial(): Promise<TlsMaterial> {
  const [caKeys, serverKeys] = await Promise.all([
    webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']),
    webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']),
  ]);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'CN=nest-m2m dev issuer local CA',
    ...validity(30),
    keys: caKeys as never,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey as never),
    ],
  });
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: 'CN=localhost',
    issuer: ca.subject,
    ...validity(30),
    publicKey: serverKeys.publicKey as never,
    signingKey: caKeys.privateKey as never,
    signingAlgorithm: EC_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey as never),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', (serverKeys as webcrypto.CryptoKeyPair).privateKey)).toString(
    'base64',
  );
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { caPem: `${ca.toString('pem')}\n`, certPem: `${server.toString('pem')}\n`, keyPem };
}
