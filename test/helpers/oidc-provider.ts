/**
 * A certified standards issuer for tests: `oidc-provider` 9 on 127.0.0.1, port 0.
 *
 * Client-credentials grant, RFC 8707 resource indicators, RFC 9068 JWT access tokens signed with a
 * freshly generated RS256 key (the first key in `jwks` signs; all are published at `jwksUri`).
 * Facts behind the configuration: /work/shared/notes/oidc-provider-peer.md.
 *
 * Faults (`failNext`) are answered by a thin front in this process, before `oidc-provider` sees the
 * request, so the provider itself stays unmodified.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { errors } from 'oidc-provider';

export interface OidcResourceServer {
  /** Absolute URI used as the `resource` parameter and as the token's `aud`. */
  identifier: string;
  scopes: string[];
  /** Defaults to 3600 s. */
  accessTokenTtlSeconds?: number;
}

export interface OidcClient {
  clientId: string;
  clientSecret?: string;
  /** Defaults to `client_secret_basic` (with a secret) or `private_key_jwt` (with `jwks`). */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** Public keys for `private_key_jwt`. */
  jwks?: { keys: JWK[] };
  /** Scopes the client may request (space-separated list in the client's `scope` metadata). */
  scopes?: string[];
}

export interface OidcFault {
  count?: number;
  status?: number;
  retryAfterSeconds?: number;
  /** Never answer (the client must time out). */
  hang?: boolean;
}

export interface OidcProviderOptions {
  clients: OidcClient[];
  resources: OidcResourceServer[];
  /** Signing keys (private JWKs, first signs). Default: one new RS256 key. */
  signingKeys?: JWK[];
  /** DPoP (RFC 9449, on by default in oidc-provider 9): require server nonces at the token endpoint. */
  dpopNonces?: boolean;
}

export interface StartedOidcProvider {
  issuer: string;
  tokenEndpoint: string;
  jwksUri: string;
  discoveryUrl: string;
  /** Public signing keys as published. */
  publicJwks: { keys: JWK[] };
  /** POSTs that reached the token endpoint (including faulted ones). */
  tokenRequests(): number;
  resetCounters(): void;
  failNext(fault: OidcFault): void;
  clearFaults(): void;
  provider: Provider;
  close(): Promise<void>;
}

export async function generateRs256Jwk(kid = `k-${Math.random().toString(36).slice(2, 10)}`): Promise<{
  privateJwk: JWK;
  publicJwk: JWK;
}> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { privateJwk, publicJwk };
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<StartedOidcProvider> {
  const signingKeys = options.signingKeys ?? [(await generateRs256Jwk()).privateJwk];
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const allScopes = [...new Set(options.resources.flatMap((r) => r.scopes))];
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      ...(c.clientSecret ? { client_secret: c.clientSecret } : {}),
      ...(c.jwks ? { jwks: c.jwks } : {}),
      token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? (c.jwks ? 'private_key_jwt' : 'client_secret_basic'),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      ...(c.scopes ? { scope: c.scopes.join(' ') } : {}),
    })),
    jwks: { keys: signingKeys as never },
    // Listing every API scope makes a disallowed scope an `invalid_scope` error instead of a silent drop.
    scopes: allScopes,
    ttl: {
      // The resource's lifetime wins; opaque tokens (no resource) live 10 minutes.
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: {
        enabled: true,
        ...(options.dpopNonces ? { nonceSecret: randomBytes(32), requireNonce: () => true } : {}),
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined as unknown as string,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator) => {
          const resource = options.resources.find((r) => r.identifier === resourceIndicator);
          if (!resource) throw new errors.InvalidTarget();
          return {
            scope: resource.scopes.join(' '),
            audience: resource.identifier,
            accessTokenTTL: resource.accessTokenTtlSeconds ?? 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  // oidc-provider logs server errors through its event emitter; keep test output quiet.
  provider.on('server_error', () => {});

  const callback = provider.callback();
  const tokenPath = '/token';
  const faults: Array<{ count: number; status: number; hang: boolean; retryAfterSeconds?: number }> = [];
  let tokenRequests = 0;
  const hanging = new Set<ServerResponse>();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const isToken = req.method === 'POST' && req.url?.split('?')[0] === tokenPath;
    if (isToken) {
      tokenRequests++;
      const fault = faults[0];
      if (fault) {
        if (--fault.count <= 0) faults.shift();
        if (fault.hang) {
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        }
        res.statusCode = fault.status;
        res.setHeader('content-type', 'application/json');
        if (fault.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(fault.retryAfterSeconds));
        res.end(JSON.stringify({ error: fault.status === 429 ? 'too_many_requests' : 'server_error' }));
        return;
      }
    }
    void callback(req, res);
  });

  const publicJwks = {
    keys: signingKeys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub),
  };

  return {
    issuer,
    tokenEndpoint: `${issuer}${tokenPath}`,
    jwksUri: `${issuer}/jwks`,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    publicJwks,
    tokenRequests: () => tokenRequests,
    resetCounters: () => {
      tokenRequests = 0;
    },
    failNext: (fault) => {
      faults.push({
        count: fault.count ?? 1,
        status: fault.status ?? 500,
        hang: fault.hang ?? false,
        retryAfterSeconds: fault.retryAfterSeconds,
      });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    provider,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
