import { createHash, timingSafeEqual } from 'node:crypto';
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import type { DevIssuerApi, DevIssuerClient, DevIssuerConfig, DevIssuerOrganization } from './config.js';

export type ClientAuthMethod = 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt';

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** A configured client, prepared for authentication. */
export class RegisteredClient {
  readonly clientId: string;
  /** Only the hash is kept for comparison; see `secretMatches`. */
  private readonly secretHash: Buffer | undefined;
  readonly keySet: JWTVerifyGetKey | undefined;

  constructor(readonly config: DevIssuerClient) {
    this.clientId = config.clientId;
    this.secretHash = config.clientSecret === undefined ? undefined : sha256(config.clientSecret);
    this.keySet = config.jwks ? createLocalJWKSet(config.jwks) : undefined;
  }

  /**
   * Compares SHA-256 digests with timingSafeEqual: equal-length inputs (required by
   * timingSafeEqual) and no timing signal about how much of the secret was right.
   */
  secretMatches(secret: string): boolean {
    return this.secretHash !== undefined && timingSafeEqual(this.secretHash, sha256(secret));
  }

  /** 'any' allows every method the client holds credentials for. */
  allows(method: ClientAuthMethod): boolean {
    const registered = this.config.tokenEndpointAuthMethod ?? 'client_secret_post';
    if (method === 'private_key_jwt') return this.keySet !== undefined && (registered === 'private_key_jwt' || registered === 'any');
    return this.secretHash !== undefined && (registered === method || registered === 'any');
  }

  grantFor(audience: string) {
    return this.config.grants.find((grant) => grant.audience === audience);
  }

  /** Auth0 client `grant_types`; client credentials unless the config says otherwise. */
  allowsGrantType(grantType: string): boolean {
    return (this.config.grantTypes ?? ['client_credentials']).includes(grantType);
  }
}

/** Lookup tables over the resolved configuration. */
export class Registry {
  readonly apis: ReadonlyMap<string, DevIssuerApi>;
  readonly clients: ReadonlyMap<string, RegisteredClient>;
  private readonly organizations: readonly DevIssuerOrganization[];

  constructor(readonly config: DevIssuerConfig) {
    this.apis = new Map(config.apis.map((api) => [api.identifier, api]));
    this.clients = new Map(config.clients.map((client) => [client.clientId, new RegisteredClient(client)]));
    this.organizations = config.organizations ?? [];
  }

  /** By id, or by name when the tenant allows names in the Authentication API. */
  organization(idOrName: string): DevIssuerOrganization | undefined {
    const byName = this.config.tenant?.allowOrganizationNameInAuthenticationApi === true;
    return this.organizations.find((org) => org.id === idOrName || (byName && org.name === idOrName.toLowerCase()));
  }
}
