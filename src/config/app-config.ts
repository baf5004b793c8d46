import { readFileSync } from 'node:fs';
import { auth0Tenant } from './auth0-tenant.js';
import { crossFieldProblems, envSchema, type Env } from './env.schema.js';

/** Thrown at boot with every configuration problem at once; names variables, never their values. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee .env.example for every variable.`);
    this.name = 'ConfigError';
  }
}

export interface AppConfig {
  env: Env;
  production: boolean;
  /** Incoming validation; undefined only while the embedded issuer is being set up. */
  issuer: { issuer: string; audience: string[]; jwksUri?: string; auth0: boolean };
  /** Outgoing M2M client, when credentials are configured. */
  client?: {
    clientId: string;
    clientSecret?: string;
    clientAuth: 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt';
    privateKey?: string;
    dialect: 'auth0' | 'standard';
    tokenEndpoint?: string;
  };
  /** The audit sibling, and the scopes its token is asked for (`AUDIT_SERVICE_SCOPES`). */
  audit?: { url: string; audience: string; scopes: string[] };
}

export function validateEnv(raw: Record<string, unknown>): Env {
  const parsed = envSchema.safeParse(raw);
  // zod messages describe the rule and never echo the input, so secrets stay out of the log.
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`);
  problems.push(...crossFieldProblems(raw).map(([name, message]) => `${name}: ${message}`));
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

/** DESIGN.md: no issuer configured and not production → run on the embedded dev issuer. */
export function isEmbeddedMode(env: Env): boolean {
  return !env.AUTH0_DOMAIN && !env.AUTH_ISSUER_URL && env.NODE_ENV !== 'production';
}

export function toAppConfig(env: Env): AppConfig {
  const tenant = auth0Tenant(env);
  const auth0 = tenant !== undefined;
  const issuer = env.AUTH_ISSUER_URL ?? tenant?.issuer;
  const problems: string[] = [];
  if (issuer === undefined) problems.push('AUTH0_DOMAIN: AUTH0_DOMAIN or AUTH_ISSUER_URL is required');

  let privateKey: string | undefined;
  if (env.AUTH_CLIENT_PRIVATE_KEY_FILE) {
    try {
      privateKey = readFileSync(env.AUTH_CLIENT_PRIVATE_KEY_FILE, 'utf8');
    } catch {
      problems.push('AUTH_CLIENT_PRIVATE_KEY_FILE: cannot be read');
    }
  }
  if (problems.length || issuer === undefined) throw new ConfigError(problems);

  const dialect = env.AUTH_TOKEN_DIALECT ?? (auth0 ? 'auth0' : 'standard');
  return {
    env,
    production: env.NODE_ENV === 'production',
    issuer: {
      issuer,
      audience: env.AUTH0_AUDIENCE,
      // Auth0 publishes its JWKS at a fixed path; other issuers are found by discovery.
      jwksUri: env.AUTH_JWKS_URI ?? tenant?.jwksUri,
      auth0,
    },
    client: env.AUTH0_CLIENT_ID
      ? {
          clientId: env.AUTH0_CLIENT_ID,
          clientSecret: env.AUTH0_CLIENT_SECRET,
          clientAuth: env.AUTH_CLIENT_AUTH ?? (dialect === 'auth0' ? 'client_secret_post' : 'client_secret_basic'),
          privateKey,
          dialect,
          tokenEndpoint: configuredTokenEndpoint(env),
        }
      : undefined,
    audit:
      env.AUDIT_SERVICE_URL && env.AUDIT_SERVICE_AUDIENCE
        ? { url: env.AUDIT_SERVICE_URL, audience: env.AUDIT_SERVICE_AUDIENCE, scopes: env.AUDIT_SERVICE_SCOPES }
        : undefined,
  };
}

/** `AUTH_TOKEN_URL`, or Auth0's fixed `/oauth/token`; undefined when only discovery can tell. */
export function configuredTokenEndpoint(env: Env): string | undefined {
  return env.AUTH_TOKEN_URL ?? auth0Tenant(env)?.tokenEndpoint;
}

/** Validates and resolves the environment: the one entry point main.ts and tests use. */
export function loadConfig(raw: Record<string, unknown> = process.env): AppConfig {
  return toAppConfig(validateEnv(raw));
}
