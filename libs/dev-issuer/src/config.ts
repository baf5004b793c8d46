import { createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { importJWK, type JWK } from 'jose';
import { z } from 'zod';
import { DEFAULT_DEV_ISSUER_CONFIG } from './defaults.js';

export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_post', 'client_secret_basic', 'private_key_jwt', 'any'] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/**
 * Algorithms accepted for `private_key_jwt` assertions: Auth0's credential algorithms (RSA keys
 * only; "Configure Private Key JWT Authentication" offers RS256, RS384 and PS256).
 */
export const CLIENT_ASSERTION_ALGORITHMS = ['RS256', 'RS384', 'PS256'] as const;

/** Auth0's access token profiles ("token dialects"): its own default, or RFC 9068. */
export const ACCESS_TOKEN_PROFILES = ['auth0', 'rfc9068'] as const;
export type AccessTokenProfile = (typeof ACCESS_TOKEN_PROFILES)[number];

/** Auth0 client grant `organization_usage`: whether a token request may (or must) name an organization. */
export const ORGANIZATION_USAGES = ['deny', 'allow', 'require'] as const;
export type OrganizationUsage = (typeof ORGANIZATION_USAGES)[number];

export interface DevIssuerApi {
  /** The audience, as in Auth0's API "Identifier"; usually a URL but any string is allowed. */
  identifier: string;
  name?: string;
  scopes: string[];
  /** Auth0 "Enable RBAC" + "Add Permissions in the Access Token": tokens get a `permissions` array. */
  rbac?: boolean;
  /** Auth0 API "Token Expiration"; falls back to the issuer's `tokenLifetimeSeconds`. */
  tokenLifetimeSeconds?: number;
  /**
   * Auth0 API "JSON Web Token (JWT) Profile". Default 'auth0' (Auth0's default: `typ: JWT`, `gty`,
   * `azp`, no `jti`); 'rfc9068' gives `typ: at+jwt`, `client_id` and `jti`, no `gty`.
   */
  accessTokenProfile?: AccessTokenProfile;
}

/** Auth0 "client grant": which API a client may call and with which scopes. */
export interface DevIssuerClientGrant {
  audience: string;
  scopes: string[];
  /** Auth0 `organization_usage`. Default 'deny': a request that names an organization is refused. */
  organizationUsage?: OrganizationUsage;
  /** Auth0 `allow_any_organization`: any configured organization, not only those listing this grant. */
  allowAnyOrganization?: boolean;
}

/** An Auth0 organization, and the client grants associated with it ("Machine-to-Machine Access"). */
export interface DevIssuerOrganization {
  /** Auth0 ids look like `org_…`; any non-empty string is accepted here. */
  id: string;
  /** Lower-case, as Auth0 requires for organization names. */
  name: string;
  /** The client grants this organization may be used with. */
  clientGrants?: Array<{ clientId: string; audience: string }>;
}

/** Tenant-wide settings, named after Auth0's tenant settings. */
export interface DevIssuerTenantSettings {
  /**
   * Auth0 `resource_parameter_profile`. 'audience' (Auth0's default): the RFC 8707 `resource`
   * parameter is ignored. 'compatibility' ("Resource Parameter Compatibility Profile"): `resource`
   * names the API when there is no `audience`; `audience` wins when both are sent.
   */
  resourceParameterProfile?: 'audience' | 'compatibility';
  /**
   * Auth0 `allow_organization_name_in_authentication_api`: `organization` may be a name, and tokens
   * carry `org_name` beside `org_id`. Default false.
   */
  allowOrganizationNameInAuthenticationApi?: boolean;
}

export interface DevIssuerClient {
  clientId: string;
  /** Generated (32 random bytes, base64url) when omitted for a client that may use a secret. */
  clientSecret?: string;
  name?: string;
  /** Default 'client_secret_post' (Auth0's default for M2M applications). */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /** Public keys for `private_key_jwt`. */
  jwks?: { keys: JWK[] };
  grants: DevIssuerClientGrant[];
  /**
   * Auth0 client `grant_types`. Default `['client_credentials']`; without it a token request is
   * refused with 403 `unauthorized_client`, as Auth0 refuses it.
   */
  grantTypes?: string[];
  /** Auth0 client credentials quota per UTC clock hour. */
  quotaPerHour?: number;
  /** Auth0 client credentials quota per UTC day. */
  quotaPerDay?: number;
}

export interface DevIssuerConfig {
  apis: DevIssuerApi[];
  clients: DevIssuerClient[];
  organizations?: DevIssuerOrganization[];
  tenant?: DevIssuerTenantSettings;
}

/** Thrown for an invalid configuration; `issues` lists every problem, not just the first. */
export class DevIssuerConfigError extends Error {
  readonly code = 'ERR_DEV_ISSUER_CONFIG';
  constructor(
    readonly issues: string[],
    source: string,
  ) {
    super(`Invalid dev issuer config (${source}):\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'DevIssuerConfigError';
  }
}

const nonEmpty = z.string().trim().min(1, 'must not be empty');
const scopeToken = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token (RFC 6749 §3.3: no spaces or quotes)');

// Strict objects: a misspelt key ("clientSecrett") is an error, not a silently ignored setting.
const apiSchema = z.strictObject({
  identifier: nonEmpty,
  name: z.string().optional(),
  scopes: z.array(scopeToken),
  rbac: z.boolean().optional(),
  // Auth0 caps API token lifetime at 30 days.
  tokenLifetimeSeconds: z.number().int().positive().max(2_592_000).optional(),
  accessTokenProfile: z.enum(ACCESS_TOKEN_PROFILES).optional(),
});

const jwkSchema = z.looseObject({ kty: z.string() }).refine((jwk) => !('d' in jwk) && !('k' in jwk), {
  error: 'must be a public key (the private part belongs to the client, never in this file)',
});

const clientSchema = z.strictObject({
  clientId: nonEmpty,
  clientSecret: z.string().min(16, 'must be at least 16 characters').optional(),
  name: z.string().optional(),
  tokenEndpointAuthMethod: z.enum(TOKEN_ENDPOINT_AUTH_METHODS).optional(),
  jwks: z.strictObject({ keys: z.array(jwkSchema).min(1, 'must hold at least one key') }).optional(),
  grants: z.array(
    z.strictObject({
      audience: nonEmpty,
      scopes: z.array(scopeToken),
      organizationUsage: z.enum(ORGANIZATION_USAGES).optional(),
      allowAnyOrganization: z.boolean().optional(),
    }),
  ),
  grantTypes: z.array(nonEmpty).optional(),
  quotaPerHour: z.number().int().positive().optional(),
  quotaPerDay: z.number().int().positive().optional(),
});

const organizationSchema = z.strictObject({
  id: nonEmpty,
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lower-case letters, digits, "-" or "_" (Auth0 organization names)'),
  clientGrants: z.array(z.strictObject({ clientId: nonEmpty, audience: nonEmpty })).optional(),
});

const tenantSchema = z.strictObject({
  resourceParameterProfile: z.enum(['audience', 'compatibility']).optional(),
  allowOrganizationNameInAuthenticationApi: z.boolean().optional(),
});

const configSchema = z.strictObject({
  apis: z.array(apiSchema),
  clients: z.array(clientSchema),
  organizations: z.array(organizationSchema).optional(),
  tenant: tenantSchema.optional(),
});

function formatPath(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>(
      (out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)),
      '',
    ) || '(root)'
  );
}

/** Rules between entries that a per-field schema cannot see. */
async function crossCheck(config: DevIssuerConfig): Promise<string[]> {
  const issues: string[] = [];
  const apis = new Map<string, DevIssuerApi>();
  config.apis.forEach((api, i) => {
    if (apis.has(api.identifier)) issues.push(`apis[${i}].identifier: duplicate API "${api.identifier}"`);
    apis.set(api.identifier, api);
  });
  const clientIds = new Set<string>();
  for (const [i, client] of config.clients.entries()) {
    const at = `clients[${i}]`;
    if (clientIds.has(client.clientId)) issues.push(`${at}.clientId: duplicate client "${client.clientId}"`);
    clientIds.add(client.clientId);
    if (client.tokenEndpointAuthMethod === 'private_key_jwt' && !client.jwks) {
      issues.push(`${at}.jwks: required when tokenEndpointAuthMethod is "private_key_jwt"`);
    }
    if (client.tokenEndpointAuthMethod === 'private_key_jwt' && client.clientSecret) {
      issues.push(`${at}.clientSecret: a "private_key_jwt" client has no secret; remove it`);
    }
    const granted = new Set<string>();
    client.grants.forEach((grant, g) => {
      const api = apis.get(grant.audience);
      if (!api) {
        issues.push(`${at}.grants[${g}].audience: no API with identifier "${grant.audience}"`);
        return;
      }
      if (granted.has(grant.audience)) issues.push(`${at}.grants[${g}].audience: duplicate grant for "${grant.audience}"`);
      granted.add(grant.audience);
      for (const scope of grant.scopes) {
        if (!api.scopes.includes(scope)) issues.push(`${at}.grants[${g}].scopes: "${scope}" is not a scope of "${api.identifier}"`);
      }
    });
    for (const [k, jwk] of (client.jwks?.keys ?? []).entries()) {
      // Import now so a broken key is a start-up error, not a 401 on the first assertion.
      const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : 'RS256');
      if (!(CLIENT_ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) {
        issues.push(`${at}.jwks.keys[${k}].alg: "${alg}" is not one of ${CLIENT_ASSERTION_ALGORITHMS.join(', ')}`);
        continue;
      }
      const problem = await publicKeyProblem(jwk, alg);
      if (problem) issues.push(`${at}.jwks.keys[${k}]: not a usable ${alg} public key (${problem})`);
    }
  }
  const orgKeys = new Set<string>();
  for (const [i, org] of (config.organizations ?? []).entries()) {
    const at = `organizations[${i}]`;
    if (orgKeys.has(org.id)) issues.push(`${at}.id: duplicate organization "${org.id}"`);
    if (orgKeys.has(org.name)) issues.push(`${at}.name: duplicate organization "${org.name}"`);
    orgKeys.add(org.id).add(org.name);
    for (const [g, link] of (org.clientGrants ?? []).entries()) {
      const client = config.clients.find((c) => c.clientId === link.clientId);
      if (!client?.grants.some((grant) => grant.audience === link.audience)) {
        issues.push(`${at}.clientGrants[${g}]: client "${link.clientId}" has no grant for "${link.audience}"`);
      }
    }
  }
  return issues;
}

/** Why a registered client key cannot verify assertions, or undefined when it can. */
async function publicKeyProblem(jwk: JWK, alg: string): Promise<string | undefined> {
  try {
    await importJWK(jwk, alg);
    // WebCrypto imports degenerate RSA keys; RFC 7518 §3.3 requires at least 2048 bits for RS/PS.
    const details = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).asymmetricKeyDetails;
    if (jwk.kty === 'RSA' && (details?.modulusLength ?? 0) < 2048)
      return `RSA modulus of ${details?.modulusLength ?? 0} bits, at least 2048 needed`;
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Fills what the file may omit: the default auth method and, where a secret can be used, a random secret. */
function complete(config: DevIssuerConfig): DevIssuerConfig {
  return {
    ...config,
    apis: config.apis,
    clients: config.clients.map((client) => {
      const tokenEndpointAuthMethod = client.tokenEndpointAuthMethod ?? 'client_secret_post';
      const usesSecret = tokenEndpointAuthMethod !== 'private_key_jwt';
      return { ...client, tokenEndpointAuthMethod, ...(usesSecret ? { clientSecret: client.clientSecret ?? generateSecret() } : {}) };
    }),
  };
}

/** Validates a config object (every problem listed) and returns a resolved deep copy. */
export async function resolveDevIssuerConfig(input: unknown, source = 'config object'): Promise<DevIssuerConfig> {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new DevIssuerConfigError(
      parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`),
      source,
    );
  }
  const config = structuredClone(parsed.data) as DevIssuerConfig;
  const issues = await crossCheck(config);
  if (issues.length > 0) throw new DevIssuerConfigError(issues, source);
  return complete(config);
}

/** Loads the configuration from an object, a JSON file path, or the defaults. */
export async function loadDevIssuerConfig(config: DevIssuerConfig | string | undefined): Promise<DevIssuerConfig> {
  if (config === undefined) return resolveDevIssuerConfig(DEFAULT_DEV_ISSUER_CONFIG, 'defaults');
  if (typeof config !== 'string') return resolveDevIssuerConfig(config);
  let text: string;
  try {
    text = await readFile(config, 'utf8');
  } catch (error) {
    throw new DevIssuerConfigError([`cannot read file: ${(error as NodeJS.ErrnoException).code ?? String(error)}`], config);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DevIssuerConfigError([`not valid JSON: ${(error as Error).message}`], config);
  }
  return resolveDevIssuerConfig(json, config);
}
