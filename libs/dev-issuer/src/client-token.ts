import { request as httpsRequest } from 'node:https';
import { basicAuthorization } from './basic-credentials.js';
import type { DevIssuerConfig } from './config.js';

export interface GetTokenOptions {
  /** A configured client that authenticates with a secret (`client_secret_post`, `_basic` or `any`). */
  clientId: string;
  /** Default: the audience of the client's first grant. */
  audience?: string;
  /** Space-separated or a list; default: every scope granted (Auth0 ignores the parameter too). */
  scope?: string | string[];
}

/** The token endpoint's refusal, with the OAuth error fields (RFC 6749 §5.2). */
export class DevIssuerTokenError extends Error {
  override readonly name = 'DevIssuerTokenError';
  readonly code = 'ERR_DEV_ISSUER_TOKEN_REFUSED';
  constructor(
    readonly status: number,
    readonly error: string | undefined,
    readonly errorDescription: string | undefined,
    clientId: string,
  ) {
    super(
      `token request of client "${clientId}" refused: ${status}${error ? ` ${error}` : ''}${errorDescription ? `: ${errorDescription}` : ''}`,
    );
  }
}

/**
 * A real client-credentials request to the issuer's own token endpoint, as the client would send
 * it: counted, subject to injected faults and quotas. For a token that skips the endpoint (any
 * claims, expired, foreign audience) use `controls.issueToken`.
 */
export async function requestClientToken(
  tokenEndpoint: string,
  config: DevIssuerConfig,
  options: GetTokenOptions,
  caPem?: string,
): Promise<string> {
  const client = config.clients.find((c) => c.clientId === options.clientId);
  if (!client) {
    throw new TypeError(
      `getToken: no client "${options.clientId}"; configured clients: ${config.clients.map((c) => c.clientId).join(', ')}`,
    );
  }
  if (!client.clientSecret) {
    throw new TypeError(
      `getToken: client "${client.clientId}" authenticates with private_key_jwt; sign an assertion, or use controls.issueToken`,
    );
  }
  const audience = options.audience ?? client.grants[0]?.audience;
  const scope = Array.isArray(options.scope) ? options.scope.join(' ') : options.scope;
  const body: Record<string, string> = { grant_type: 'client_credentials', ...(audience && { audience }), ...(scope && { scope }) };
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (client.tokenEndpointAuthMethod === 'client_secret_basic') {
    headers.authorization = basicAuthorization(client.clientId, client.clientSecret);
  } else {
    Object.assign(body, { client_id: client.clientId, client_secret: client.clientSecret });
  }
  const response = await post(tokenEndpoint, headers, JSON.stringify(body), caPem);
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof json.access_token !== 'string') {
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    throw new DevIssuerTokenError(response.status, text(json.error), text(json.error_description), client.clientId);
  }
  return json.access_token;
}

/**
 * fetch, except over TLS with our own CA: the global fetch cannot be told to trust one more CA
 * (only the NODE_EXTRA_CA_CERTS of the whole process can), node:https can.
 */
async function post(url: string, headers: Record<string, string>, body: string, caPem: string | undefined): Promise<Response> {
  const signal = AbortSignal.timeout(10_000);
  if (!caPem || !url.startsWith('https:')) return fetch(url, { method: 'POST', headers, body, signal });
  return new Promise<Response>((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, ca: caPem, signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500 })));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
