import { decodeJwt } from 'jose';
import { ClientAssertionSigner } from './client-assertion.js';
import type { DpopClientKey } from './dpop-client.js';
import { readTextWithin } from '../limited-body.js';
import { isSecureUrl } from '../secure-url.js';
import { setActiveSpanAttributes, SpanKind, urlAttributes, withSpan } from '../tracing.js';
import {
  InsecureTokenEndpointError,
  InvalidTokenResponseError,
  TokenEndpointError,
  TokenEndpointTimeoutError,
  TokenEndpointUnreachableError,
  TokenResponseTooLargeError,
} from './m2m.errors.js';
import type { ClientAuthMethod, M2MModuleOptions, TokenEndpointDialect } from './m2m.options.js';

export interface TokenRequest {
  /** `audience` (Auth0 dialect) or `resource` (RFC 8707, standard dialect). */
  audience: string;
  scopes?: string[];
  /** Ask for a DPoP-bound token (RFC 9449 §5) bound to this key; `token_type` must come back `DPoP`. */
  dpop?: DpopClientKey;
}

/** A successful token response (RFC 6749 §5.1), normalised. */
export interface TokenEndpointResponse {
  accessToken: string;
  tokenType: string;
  expiresIn?: number;
  scope?: string;
}

/** Called with the headers of every answer, errors included (quota headers come on 429s too). */
export type TokenEndpointResponseListener = (headers: Headers, status: number) => void;

/** Token responses are a few KiB (a JWT and a handful of fields); counted while the body streams. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** `use_dpop_nonce` answers that brought a nonce not used yet: worth one retry. */
const withNewNonce = new WeakSet<Error>();

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * Builds and sends one client-credentials token request (RFC 6749 §4.4); no cache, no retry.
 *
 * Uses Node's global `fetch`, not axios: the application's axios instances (Nest's `HttpService`)
 * commonly carry logging and tracing interceptors that would see the client secret or assertion,
 * `fetch` takes an `AbortSignal` for the per-request timeout natively, and `redirect: 'manual'`
 * guarantees the credential-bearing request is never replayed to whatever a `Location` names.
 */
export class TokenEndpointClient {
  readonly dialect: TokenEndpointDialect;
  readonly clientAuth: ClientAuthMethod;
  private readonly timeoutMs: number;
  private readonly signer?: ClientAssertionSigner;
  private endpoint?: Promise<string>;

  constructor(
    private readonly options: M2MModuleOptions,
    private readonly onResponse: TokenEndpointResponseListener = () => {},
  ) {
    this.dialect = options.dialect ?? 'standard';
    this.clientAuth = options.clientAuth ?? (this.dialect === 'auth0' ? 'client_secret_post' : 'client_secret_basic');
    this.timeoutMs = options.requestTimeoutMs ?? 5000;
    if (this.clientAuth === 'private_key_jwt') {
      this.signer = new ClientAssertionSigner(options.clientId, {
        privateKey: options.privateKey ?? '',
        alg: options.privateKeyAlg,
        kid: options.privateKeyKid,
      });
    }
  }

  /** The token endpoint URL; a failed `resolveTokenEndpoint` is forgotten so the next call tries again. */
  tokenEndpoint(): Promise<string> {
    if (this.options.tokenEndpoint) return Promise.resolve(this.options.tokenEndpoint);
    if (!this.endpoint) {
      const resolve = this.options.resolveTokenEndpoint!;
      this.endpoint = Promise.resolve()
        .then(resolve)
        .catch((cause: unknown) => {
          this.endpoint = undefined;
          throw new TokenEndpointUnreachableError(
            `could not resolve the token endpoint (${cause instanceof Error ? cause.message : String(cause)})`,
          );
        });
    }
    return this.endpoint;
  }

  /** One token request, in an `m2m.token.request` span (client id, audience, scopes, endpoint; never a credential). */
  requestToken(request: TokenRequest): Promise<TokenEndpointResponse> {
    const attributes = {
      'http.request.method': 'POST',
      'nest_m2m.client_id': this.options.clientId,
      'nest_m2m.token.audience': request.audience,
      'nest_m2m.token.scopes': (request.scopes ?? []).join(' '),
    };
    return withSpan('m2m.token.request', SpanKind.CLIENT, attributes, () => this.sendTokenRequest(request));
  }

  private async sendTokenRequest(request: TokenRequest): Promise<TokenEndpointResponse> {
    const endpoint = await this.tokenEndpoint();
    setActiveSpanAttributes(urlAttributes(endpoint));
    // Configured endpoints are asserted at start-up; a resolved one gets the same rule before the
    // credentials are put on the wire.
    if (!isSecureUrl(endpoint)) throw new InsecureTokenEndpointError(endpoint);
    try {
      return await this.send(endpoint, request);
    } catch (error) {
      // RFC 9449 §8: the issuer wants a nonce in the proof; it came in DPoP-Nonce. One retry.
      if (request.dpop && error instanceof TokenEndpointError && error.error === 'use_dpop_nonce' && withNewNonce.has(error)) {
        return this.send(endpoint, request);
      }
      throw error;
    }
  }

  private async send(endpoint: string, request: TokenRequest): Promise<TokenEndpointResponse> {
    const { headers, body } = await this.buildRequest(endpoint, request);
    if (request.dpop) headers.dpop = await request.dpop.proof({ htm: 'POST', htu: endpoint });
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    let text: string | undefined;
    try {
      response = await fetch(endpoint, { method: 'POST', headers, body, signal, redirect: 'manual' });
      text = await readTextWithin(response, MAX_RESPONSE_BYTES);
    } catch (error) {
      throw this.transportError(error);
    }
    this.onResponse(response.headers, response.status);
    const newNonce = request.dpop?.rememberNonce(endpoint, response.headers.get('dpop-nonce')) ?? false;
    setActiveSpanAttributes({ 'http.response.status_code': response.status });
    if (text === undefined) throw new TokenResponseTooLargeError(MAX_RESPONSE_BYTES);
    let parsed: TokenEndpointResponse;
    try {
      parsed = parseTokenResponse(response, text);
    } catch (error) {
      if (error instanceof TokenEndpointError && newNonce) withNewNonce.add(error);
      throw error;
    }
    if (request.dpop) assertDpopBound(parsed, request.dpop);
    return parsed;
  }

  private async buildRequest(endpoint: string, request: TokenRequest) {
    const params: Record<string, string> = { grant_type: 'client_credentials' };
    // RFC 8707 §2: the standard name is `resource`; Auth0 calls the same thing `audience`.
    params[this.dialect === 'auth0' ? 'audience' : 'resource'] = request.audience;
    if (request.scopes && request.scopes.length > 0) params.scope = request.scopes.join(' ');

    const headers: Record<string, string> = { accept: 'application/json' };
    const { clientId, clientSecret = '' } = this.options;
    switch (this.clientAuth) {
      case 'client_secret_basic':
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64; secrets with ':' or '%'
        // would otherwise be split or decoded wrongly by the issuer.
        headers.authorization = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
        break;
      case 'client_secret_post':
        params.client_id = clientId;
        params.client_secret = clientSecret;
        break;
      case 'private_key_jwt':
        params.client_id = clientId;
        params.client_assertion_type = CLIENT_ASSERTION_TYPE;
        params.client_assertion = await this.signer!.sign(this.assertionAudience(endpoint));
        break;
    }
    if (this.dialect === 'auth0') {
      headers['content-type'] = 'application/json';
      return { headers, body: JSON.stringify(params) };
    }
    headers['content-type'] = 'application/x-www-form-urlencoded';
    return { headers, body: new URLSearchParams(params).toString() };
  }

  /** Auth0 wants its issuer `https://{domain}/`; RFC 7523 §3 names the token endpoint. */
  private assertionAudience(endpoint: string): string {
    if (this.options.clientAssertionAudience) return this.options.clientAssertionAudience;
    if (this.dialect === 'auth0') {
      const issuer = this.options.issuer!;
      return issuer.endsWith('/') ? issuer : `${issuer}/`;
    }
    return endpoint;
  }

  private transportError(error: unknown): Error {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      return new TokenEndpointTimeoutError(this.timeoutMs);
    }
    const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    return new TokenEndpointUnreachableError(cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : 'unknown error'));
  }
}

/**
 * RFC 9449 §5: a DPoP token request is answered with `token_type` DPoP; a Bearer answer would be
 * a token anyone could use, and a JWT bound to another key (`cnf.jkt`) one no proof of ours opens.
 */
function assertDpopBound(response: TokenEndpointResponse, key: DpopClientKey): void {
  if (response.tokenType.toLowerCase() !== 'dpop') {
    throw new InvalidTokenResponseError(`Token endpoint answered token_type ${response.tokenType} to a DPoP token request`);
  }
  let jkt: unknown;
  try {
    jkt = (decodeJwt(response.accessToken).cnf as { jkt?: unknown } | undefined)?.jkt;
  } catch {
    return; // an opaque token: the issuer's binding cannot be read here
  }
  if (jkt !== undefined && jkt !== key.jkt)
    throw new InvalidTokenResponseError('Token endpoint bound the token to another DPoP key (cnf.jkt)');
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

function parseTokenResponse(response: Response, text: string): TokenEndpointResponse {
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  if (response.status < 200 || response.status >= 300) {
    const error = typeof body?.error === 'string' ? body.error : defaultErrorCode(response.status);
    const description = typeof body?.error_description === 'string' ? body.error_description : undefined;
    throw new TokenEndpointError(response.status, error, description, parseRetryAfter(response.headers.get('retry-after')));
  }
  if (!body || typeof body.access_token !== 'string' || body.access_token.length === 0) {
    throw new InvalidTokenResponseError('Token endpoint answered without an access_token');
  }
  const expiresIn = body.expires_in === undefined ? undefined : Number(body.expires_in);
  return {
    accessToken: body.access_token,
    tokenType: typeof body.token_type === 'string' ? body.token_type : 'Bearer',
    expiresIn: expiresIn !== undefined && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
    scope: typeof body.scope === 'string' ? body.scope : undefined,
  };
}

function defaultErrorCode(status: number): string {
  if (status >= 300 && status < 400) return 'unexpected_redirect';
  if (status === 429) return 'too_many_requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request';
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
