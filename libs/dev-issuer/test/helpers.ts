import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { JWT_BEARER_ASSERTION_TYPE, type DevIssuer } from '../src/index.js';

export interface TokenResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs to the token endpoint as JSON (default) or as a form, and returns the parsed answer. */
export async function postToken(
  issuer: Pick<DevIssuer, 'tokenEndpoint'>,
  params: Record<string, string | string[]>,
  options: { form?: boolean; headers?: Record<string, string> } = {},
): Promise<TokenResponse> {
  let body: string;
  if (options.form) {
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) for (const v of [value].flat()) form.append(name, v);
    body = form.toString();
  } else {
    body = JSON.stringify(params);
  }
  const response = await fetch(issuer.tokenEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': options.form ? 'application/x-www-form-urlencoded' : 'application/json', ...options.headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export function secretOf(issuer: DevIssuer, clientId: string): string {
  const secret = issuer.config.clients.find((c) => c.clientId === clientId)?.clientSecret;
  if (!secret) throw new Error(`no secret for ${clientId}`);
  return secret;
}

/** Client credentials by client_secret_post, for the common case. */
export function credentials(issuer: DevIssuer, clientId: string, audience?: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: secretOf(issuer, clientId),
    ...(audience ? { audience } : {}),
  };
}

/** RFC 6749 §2.3.1 Basic header, as the library's own clients (token CLI, getToken) build it. */
export { basicAuthorization as basicHeader } from '../src/basic-credentials.js';

export interface ClientKey {
  alg: 'RS256' | 'RS384' | 'PS256' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** A client's own key pair for private_key_jwt; only the public half goes into the issuer config. */
export async function generateClientKey(alg: ClientKey['alg'] = 'RS256', kid = `client-key-${randomUUID()}`): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** Signs an RFC 7523 client assertion; `claims` override the defaults, `undefined` removes one. */
export async function clientAssertion(
  key: ClientKey,
  clientId: string,
  audience: string,
  claims: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: clientId,
    sub: clientId,
    aud: audience,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    ...claims,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.publicJwk.kid as string }).sign(key.privateKey);
}

export function assertionParams(assertion: string, audience?: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
    client_assertion: assertion,
    ...(audience ? { audience } : {}),
  };
}
