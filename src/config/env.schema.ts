import { isSecureUrl, SECURE_URL_RULE } from '@nest-m2m/auth';
import { z } from 'zod';

const ASYMMETRIC_ALG = /^(RS|PS|ES)(256|384|512)$|^EdDSA$/;
/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const opt = <T extends z.ZodType>(schema: T) => z.preprocess(emptyToUndefined, schema.optional());
const bool = (fallback: boolean) =>
  z
    .preprocess(emptyToUndefined, z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).optional())
    .transform((v) => (v === undefined ? fallback : v === 'true' || v === '1'));
const int = (fallback: number, min: number, max: number) =>
  z
    .preprocess(emptyToUndefined, z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(min).max(max).optional())
    .transform((v) => v ?? fallback);
/** The libraries' rule, the one the discovered URLs follow too: plain http only for loopback hosts. */
const httpsUrl = z.string().refine(isSecureUrl, SECURE_URL_RULE);

/** The environment contract of DESIGN.md; `.env.example` documents every variable. */
export const envSchema = z.object({
  NODE_ENV: z.preprocess(emptyToUndefined, z.enum(['development', 'production', 'test']).default('development')),
  PORT: int(3000, 0, 65535),
  // A second listener for /metrics, /docs and readiness details (unset: all on PORT; 0: any free port).
  MANAGEMENT_PORT: opt(z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0).max(65535)),
  HOST: z.preprocess(emptyToUndefined, z.string().default('0.0.0.0')),
  HTTP_PLATFORM: z.preprocess(emptyToUndefined, z.enum(['express', 'fastify']).default('fastify')),
  LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100, 600_000),
  HEALTH_CHECK_TIMEOUT_MS: int(1000, 50, 60_000),
  HTTP_HEADERS_TIMEOUT_MS: int(10_000, 100, 600_000),
  HTTP_REQUEST_TIMEOUT_MS: int(30_000, 100, 3_600_000),
  // Node reads 0 as "never time out", which is what this setting exists to prevent.
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(5_000, 100, 600_000),
  HTTP_MAX_CONNECTIONS: int(1024, 1, 1_000_000),
  HEALTH_TOKEN_ENDPOINT_CACHE_MS: int(30_000, 0, 3_600_000),

  AUTH0_DOMAIN: opt(
    z.string().regex(/^(?!https?:)[a-z0-9.-]+(:\d+)?$/i, 'must be a host name such as acme.us.auth0.com (no scheme, no path)'),
  ),
  AUTH_ISSUER_URL: opt(httpsUrl),
  AUTH0_AUDIENCE: opt(z.string()).transform((v) => list(v)),
  // Per-API audiences (@Audience): each API of this service accepts only its own tokens. Unset: any of AUTH0_AUDIENCE.
  DOCUMENTS_API_AUDIENCE: opt(z.string()).transform((v) => (v ? list(v) : undefined)),
  AUDIT_API_AUDIENCE: opt(z.string()).transform((v) => (v ? list(v) : undefined)),
  AUTH_JWKS_URI: opt(httpsUrl),
  AUTH_TOKEN_URL: opt(httpsUrl),
  AUTH_ALGORITHMS: opt(z.string())
    .transform((v) => (v ? list(v) : ['RS256']))
    .refine(
      (algs) => algs.length > 0 && algs.every((a) => ASYMMETRIC_ALG.test(a)),
      'must list asymmetric algorithms only (RS256, PS256, ES256, EdDSA…)',
    ),
  AUTH_CLOCK_TOLERANCE_SECONDS: int(5, 0, 300),
  AUTH_JWKS_TIMEOUT_MS: int(3000, 100, 60_000),
  AUTH_JWKS_COOLDOWN_MS: int(10_000, 0, 3_600_000),
  AUTH_REALM: z.preprocess(emptyToUndefined, z.string().default('nest-m2m')),
  AUTH_M2M_ONLY: bool(false),
  AUTH_ALLOWED_CLIENT_IDS: opt(z.string()).transform((v) => list(v)),
  AUTH_STRICT_RFC9068: bool(false),
  AUTH_DPOP: z.preprocess(emptyToUndefined, z.enum(['disabled', 'allowed', 'required']).default('allowed')),
  AUTH_DPOP_TRUST_FORWARDED_HEADERS: bool(false),
  AUTH_DPOP_PRIVATE_KEY_FILE: opt(z.string()),
  VERIFIED_TOKEN_CACHE_SIZE: int(10_000, 0, 1_000_000),
  VERIFIED_TOKEN_CACHE_MAX_BYTES: int(32 * 1024 * 1024, 0, 4 * 1024 ** 3),

  AUTH0_CLIENT_ID: opt(z.string()),
  AUTH0_CLIENT_SECRET: opt(z.string()),
  AUTH_CLIENT_AUTH: opt(z.enum(['client_secret_post', 'client_secret_basic', 'private_key_jwt'])),
  AUTH_CLIENT_PRIVATE_KEY_FILE: opt(z.string()),
  AUTH_TOKEN_DIALECT: opt(z.enum(['auth0', 'standard'])),
  TOKEN_CACHE_URL: opt(z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')),
  TOKEN_CACHE_KEY_PREFIX: opt(z.string().regex(/^[\x21-\x7E]{1,100}$/, 'must be 1-100 printable characters without spaces')),
  TOKEN_CACHE_ENCRYPTION_KEY: opt(z.string().regex(/^([0-9a-f]{64}|[A-Za-z0-9+/_-]{43}=?)$/i, 'must be 32 bytes, hex or base64')),
  TOKEN_REFRESH_BUFFER_SECONDS: int(60, 0, 3600),
  TOKEN_BACKGROUND_REFRESH: bool(false),
  TOKEN_REQUEST_TIMEOUT_MS: int(5000, 100, 60_000),

  AUDIT_SERVICE_URL: opt(httpsUrl),
  AUDIT_SERVICE_AUDIENCE: opt(z.string()),
  // Standards issuers grant only the scopes asked for (Auth0 grants every authorized one): without
  // `write:audit` in the request the audit API refuses the token and every deletion fails.
  AUDIT_SERVICE_SCOPES: opt(z.string())
    .transform((v) => (v === undefined ? ['write:audit'] : v.split(/[\s,]+/).filter(Boolean)))
    .refine((scopes) => scopes.every((s) => SCOPE_TOKEN.test(s)), 'must be OAuth scopes (RFC 6749 §3.3), space- or comma-separated'),

  // The audit API's own DPoP mode (default: AUTH_DPOP); `required` also makes this service call it with DPoP-bound tokens.
  AUDIT_DPOP: opt(z.enum(['disabled', 'allowed', 'required'])),

  DEV_ISSUER_PORT: int(0, 0, 65535),
});

const present = (v: unknown) => typeof v === 'string' && v.trim() !== '';

/**
 * Rules across variables. They read the raw values, so they are reported together with every
 * per-variable problem (zod skips refinements once a field fails).
 */
export function crossFieldProblems(raw: Record<string, unknown>): Array<[variable: string, message: string]> {
  const problems: Array<[string, string]> = [];
  const production = raw.NODE_ENV === 'production';
  const issuerSet = present(raw.AUTH0_DOMAIN) || present(raw.AUTH_ISSUER_URL);
  if (!issuerSet && production) {
    problems.push(['AUTH0_DOMAIN', 'AUTH0_DOMAIN or AUTH_ISSUER_URL is required in production (the embedded dev issuer never runs there)']);
  }
  if ((issuerSet || production) && !present(raw.AUTH0_AUDIENCE))
    problems.push(['AUTH0_AUDIENCE', 'is required when an issuer is configured']);
  const privateKeyJwt = raw.AUTH_CLIENT_AUTH === 'private_key_jwt';
  if (present(raw.AUTH0_CLIENT_ID) && !privateKeyJwt && !present(raw.AUTH0_CLIENT_SECRET)) {
    problems.push(['AUTH0_CLIENT_SECRET', 'is required with AUTH0_CLIENT_ID (or set AUTH_CLIENT_AUTH=private_key_jwt)']);
  }
  if (present(raw.AUTH0_CLIENT_SECRET) && !present(raw.AUTH0_CLIENT_ID))
    problems.push(['AUTH0_CLIENT_ID', 'is required with AUTH0_CLIENT_SECRET']);
  if (privateKeyJwt && !present(raw.AUTH_CLIENT_PRIVATE_KEY_FILE)) {
    problems.push(['AUTH_CLIENT_PRIVATE_KEY_FILE', 'is required with AUTH_CLIENT_AUTH=private_key_jwt']);
  }
  if (present(raw.AUDIT_SERVICE_URL)) {
    if (!present(raw.AUDIT_SERVICE_AUDIENCE)) problems.push(['AUDIT_SERVICE_AUDIENCE', 'is required with AUDIT_SERVICE_URL']);
    if (!present(raw.AUTH0_CLIENT_ID))
      problems.push(['AUTH0_CLIENT_ID', 'is required with AUDIT_SERVICE_URL (the service calls it with its own M2M token)']);
  }
  const port = (v: unknown) => (typeof v === 'string' ? v.trim() : undefined);
  if (present(raw.MANAGEMENT_PORT) && port(raw.MANAGEMENT_PORT) !== '0' && port(raw.MANAGEMENT_PORT) === (port(raw.PORT) ?? '3000')) {
    problems.push(['MANAGEMENT_PORT', 'must differ from PORT (unset it to serve everything on PORT)']);
  }
  // Cached tokens are bearer credentials: in plain text, whoever reads Redis can use them and whoever
  // writes it can make this service present a token of their choosing (AES-GCM bound to the key refuses both).
  if (production && present(raw.TOKEN_CACHE_URL) && !present(raw.TOKEN_CACHE_ENCRYPTION_KEY)) {
    problems.push([
      'TOKEN_CACHE_ENCRYPTION_KEY',
      'is required with TOKEN_CACHE_URL in production (tokens in Redis are bearer credentials; generate one with `openssl rand -hex 32`)',
    ]);
  }
  const headersTimeout = Number(raw.HTTP_HEADERS_TIMEOUT_MS ?? 10_000);
  const requestTimeout = Number(raw.HTTP_REQUEST_TIMEOUT_MS ?? 30_000);
  if (present(raw.HTTP_HEADERS_TIMEOUT_MS) || present(raw.HTTP_REQUEST_TIMEOUT_MS)) {
    // Node refuses a headers timeout longer than the request timeout (the request includes its headers).
    if (headersTimeout > requestTimeout) problems.push(['HTTP_HEADERS_TIMEOUT_MS', 'must not exceed HTTP_REQUEST_TIMEOUT_MS']);
  }
  // Replicas share the audit token through Redis: it is bound to one DPoP key, which all must hold.
  if (
    raw.AUDIT_DPOP === 'required' &&
    present(raw.AUDIT_SERVICE_URL) &&
    present(raw.TOKEN_CACHE_URL) &&
    !present(raw.AUTH_DPOP_PRIVATE_KEY_FILE)
  ) {
    problems.push([
      'AUTH_DPOP_PRIVATE_KEY_FILE',
      'is required with AUDIT_DPOP=required and TOKEN_CACHE_URL (every replica must present the DPoP key the shared token is bound to)',
    ]);
  }
  for (const name of ['TOKEN_CACHE_KEY_PREFIX', 'TOKEN_CACHE_ENCRYPTION_KEY']) {
    if (present(raw[name]) && !present(raw.TOKEN_CACHE_URL)) problems.push([name, 'is only used with TOKEN_CACHE_URL']);
  }
  return problems;
}

export type Env = z.output<typeof envSchema>;
