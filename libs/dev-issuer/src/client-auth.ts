import { decodeJwt } from 'jose';
import { accessDenied, BASIC_CHALLENGE, invalidClient, invalidRequest } from './errors.js';
import { ClientAssertionVerifier, JWT_BEARER_ASSERTION_TYPE } from './client-assertion.js';
import { single, type RequestParams } from './request-params.js';
import type { ClientAuthMethod, RegisteredClient, Registry } from './registry.js';
import type { DevIssuerClock } from './types.js';

export interface AuthenticatedClient {
  client: RegisteredClient;
  method: ClientAuthMethod;
}

/**
 * RFC 6749 §2.3.1: Basic credentials are the form-urlencoded client id and secret, so a ':' or
 * non-ASCII character in either survives. `undefined` when the header is not Basic.
 */
export function parseBasicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  if (!header || !/^Basic(\s|$)/i.test(header)) return undefined;
  const match = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!match) throw invalidRequest('Malformed Basic authorization header');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidRequest('Malformed Basic authorization header');
  const formDecode = (value: string) => {
    try {
      return decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      throw invalidRequest('Malformed Basic authorization header: bad percent-encoding');
    }
  };
  return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
}

/**
 * Authenticates the client by exactly one of client_secret_basic, client_secret_post or
 * private_key_jwt. Failures, chosen to match Auth0 (documented in README.md):
 * - more than one method, or a missing parameter: 400 invalid_request (RFC 6749 §2.3);
 * - unknown client, method not allowed for the client, bad assertion: 401 invalid_client;
 * - wrong secret of a known client: 401 access_denied "Unauthorized" (what Auth0 answers).
 */
export class ClientAuthenticator {
  private readonly assertions: ClientAssertionVerifier;

  constructor(
    private readonly registry: Registry,
    assertionAudiences: string[],
    clock: DevIssuerClock,
  ) {
    this.assertions = new ClientAssertionVerifier(registry, assertionAudiences, clock);
  }

  /** The client id the request claims, unverified: only for per-client counters. */
  static claimedClientId(params: RequestParams, authorization: string | undefined): string | undefined {
    try {
      const assertion = single(params, 'client_assertion');
      const fromAssertion = assertion ? decodeJwt(assertion).sub : undefined;
      return parseBasicCredentials(authorization)?.clientId ?? single(params, 'client_id') ?? fromAssertion;
    } catch {
      return undefined;
    }
  }

  async authenticate(params: RequestParams, authorization: string | undefined): Promise<AuthenticatedClient> {
    const basic = parseBasicCredentials(authorization);
    const bodyClientId = single(params, 'client_id');
    const bodySecret = single(params, 'client_secret');
    const assertion = single(params, 'client_assertion');
    const assertionType = single(params, 'client_assertion_type');

    const used = [
      basic && 'client_secret_basic',
      bodySecret !== undefined && 'client_secret_post',
      assertion !== undefined && 'private_key_jwt',
    ].filter(Boolean);
    if (used.length > 1) throw invalidRequest(`Only one client authentication method may be used, got ${used.join(' and ')}`);

    if (assertion !== undefined || assertionType !== undefined) {
      if (assertion === undefined) throw invalidRequest('Missing required parameter: client_assertion');
      if (assertionType !== JWT_BEARER_ASSERTION_TYPE) throw invalidRequest(`client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}`);
      return { client: await this.assertions.verify(assertion, bodyClientId), method: 'private_key_jwt' };
    }
    if (basic) {
      if (bodyClientId !== undefined && bodyClientId !== basic.clientId)
        throw invalidRequest('client_id does not match the Basic credentials');
      return { client: this.checkSecret(basic.clientId, basic.clientSecret, 'client_secret_basic'), method: 'client_secret_basic' };
    }
    if (bodyClientId === undefined) throw invalidRequest('Missing required parameter: client_id');
    if (bodySecret === undefined) {
      if (!this.registry.clients.has(bodyClientId)) throw invalidClient('Unknown client');
      throw invalidClient('Client authentication is required: send client_secret, Basic credentials or a client_assertion');
    }
    return { client: this.checkSecret(bodyClientId, bodySecret, 'client_secret_post'), method: 'client_secret_post' };
  }

  private checkSecret(clientId: string, secret: string, method: ClientAuthMethod): RegisteredClient {
    const usedBasic = method === 'client_secret_basic';
    const client = this.registry.clients.get(clientId);
    if (!client) throw invalidClient('Unknown client', usedBasic);
    if (!client.allows(method)) throw invalidClient(`Client is not allowed to authenticate with ${method}`, usedBasic);
    // RFC 6749 §5.2: a 401 after Basic carries the matching challenge.
    if (!client.secretMatches(secret)) throw accessDenied(401, 'Unauthorized', usedBasic ? BASIC_CHALLENGE : {});
    return client;
  }
}
