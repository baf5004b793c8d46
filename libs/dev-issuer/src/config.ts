import { createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { importJWK, type JWK } from 'jose';
import { z } from 'zod';
import { DEFAULT_DEV_ISSUER_CONFIG } from './defaults.js';

export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_post', 'client_secret_basic', 'private_key_jwt', 'any'] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** Algorithms accepted for `private_key_jwt` assertions (RFC 7523 §3; Auth0 accepts RS256, PS256, ES256). */
export const CLIENT_ASSERTION_ALGORITHMS = ['RS256', 'PS256', 'ES256'] as const;

export interface DevIssuerApi {
  /** The audience, as in Auth0's API "Identifier"; usually a URL but any string is allowed. */
  identifier: string;
  name?: string;
  scopes: string[];
  /** Auth0 "Enable RBAC" + "Add Permissions in the Access Token": tokens get a `permissions` array. */
  rbac?: boolean;
  /** Auth0 API "Token Expiration"; falls back to the issuer's `tokenLifetimeSeconds`. */
  tokenLifetimeSeconds?: number;
}

/** Auth0 "client grant": which API a client may call and with which scopes. */
export interface DevIssuerClientGrant {
  audience: string;
  scopes: string[];
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
  quotaPerHour?: number;
}

export interface DevIssuerConfig {
  apis: DevIssuerApi[];
  clients: DevIssuerClient[];
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
  grants: z.array(z.strictObject({ audience: nonEmpty, scopes: z.array(scopeToken) })),
  quotaPerHour: z.number().int().positive().optional(),
});

const configSchema = z.strictObject({ apis: z.array(apiSchema), clients: z.array(clientSchema) });

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '') || '(root)';
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
  return issues;
}

/** Why a registered client key cannot verify assertions, or undefined when it can. */
async function publicKeyProblem(jwk: JWK, alg: string): Promise<string | undefined> {
  try {
    await importJWK(jwk, alg);
    // WebCrypto imports degenerate RSA keys; RFC 7518 §3.3 requires at least 2048 bits for RS/PS.
    const details = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).asymmetricKeyDetails;
    if (jwk.kty === 'RSA' && (details?.modulusLength ?? 0) < 2048) return `RSA modulus of ${details?.modulusLength ?? 0} bits, at least 2048 needed`;
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
    throw new DevIssuerConfigError(parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`), source);
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
