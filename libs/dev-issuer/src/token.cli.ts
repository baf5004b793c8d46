/**
 * Prints an access token: `TOKEN=$(npx nest-m2m-dev-issuer token --client documents-caller)`.
 *
 * By default it reads the state file of a running embedded dev issuer (the service in embedded
 * mode, or `npx nest-m2m-dev-issuer`) for the token endpoint and the client's secret. For any other
 * issuer pass --token-url or --issuer-url (or set AUTH_TOKEN_URL / AUTH_ISSUER_URL / AUTH0_DOMAIN)
 * and the secret in AUTH0_CLIENT_SECRET (a --client-secret flag is visible to `ps`).
 * Exit codes: 0 token printed, 1 the issuer refused or could not be reached, 2 usage or setup error.
 */
import { parseArgs } from 'node:util';
import { basicAuthorization } from './basic-credentials.js';
import { DEFAULT_STATE_FILE, readDevIssuerState } from './state-file.js';

const USAGE = `Usage: nest-m2m-dev-issuer token --client <id> [--audience <api>] [--resource <uri>] [--scope "<a b>"] [--json]
       [--state <file>] [--token-url <url> | --issuer-url <url>] [--client-secret <secret>] [--auth post|basic]`;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

interface TokenTarget {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  audience?: string;
  auth: 'post' | 'basic';
}

function authFlag(value: string | undefined, fallback: 'post' | 'basic'): 'post' | 'basic' {
  if (value === undefined) return fallback;
  if (value !== 'post' && value !== 'basic') throw new CliError(`--auth must be post or basic, got "${value}"`, 2);
  return value;
}

type Env = Record<string, string | undefined>;
type Flags = ReturnType<typeof parseFlags>['values'];

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      client: { type: 'string' },
      audience: { type: 'string' },
      resource: { type: 'string' },
      scope: { type: 'string' },
      json: { type: 'boolean', default: false },
      state: { type: 'string' },
      'token-url': { type: 'string' },
      'issuer-url': { type: 'string' },
      'client-secret': { type: 'string' },
      auth: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

/**
 * RFC 8414 §3 and OpenID Discovery: the token endpoint of any standards issuer. The document must
 * name exactly the issuer asked for (RFC 8414 §3.3, OIDC Discovery §4.3): otherwise whoever serves
 * it chooses where the client secret goes. Redirects are not followed, for the same reason.
 */
async function discoverTokenEndpoint(issuerUrl: string): Promise<string> {
  const base = issuerUrl.replace(/\/+$/, '');
  const { origin, pathname } = new URL(base);
  const candidates = [
    `${base}/.well-known/openid-configuration`,
    `${origin}/.well-known/oauth-authorization-server${pathname === '/' ? '' : pathname}`,
  ];
  const problems: string[] = [];
  for (const candidate of candidates) {
    const response = await fetch(candidate, { signal: AbortSignal.timeout(10_000), redirect: 'manual' }).catch(() => undefined);
    if (!response?.ok) continue;
    const metadata = (await response.json().catch(() => ({}))) as { issuer?: unknown; token_endpoint?: unknown };
    if (metadata.issuer !== issuerUrl) {
      problems.push(`${candidate} names issuer ${JSON.stringify(metadata.issuer)}, not ${JSON.stringify(issuerUrl)}`);
      continue;
    }
    if (typeof metadata.token_endpoint === 'string') return metadata.token_endpoint;
  }
  const reason = problems.length ? ` (${problems.join('; ')})` : '';
  throw new CliError(`cannot discover the token endpoint of ${issuerUrl}${reason}: pass the exact issuer, or --token-url`, 2);
}

async function remoteTarget(flags: Flags, env: Env): Promise<TokenTarget> {
  const clientId = flags.client ?? env.AUTH0_CLIENT_ID;
  const clientSecret = flags['client-secret'] ?? env.AUTH0_CLIENT_SECRET;
  if (!clientId) throw new CliError('no client: pass --client or set AUTH0_CLIENT_ID', 2);
  if (!clientSecret) throw new CliError('no client secret: set AUTH0_CLIENT_SECRET (or pass --client-secret)', 2);
  const issuerUrl = flags['issuer-url'] ?? env.AUTH_ISSUER_URL;
  const domain = env.AUTH0_DOMAIN?.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const tokenUrl =
    flags['token-url'] ??
    (flags['issuer-url'] ? undefined : env.AUTH_TOKEN_URL) ??
    (issuerUrl ? await discoverTokenEndpoint(issuerUrl) : `https://${domain}/oauth/token`);
  const audience = flags.audience ?? env.AUTH0_AUDIENCE?.split(',')[0]?.trim();
  return { tokenUrl, clientId, clientSecret, audience: audience || undefined, auth: authFlag(flags.auth, 'post') };
}

async function embeddedTarget(flags: Flags): Promise<TokenTarget> {
  const file = flags.state ?? DEFAULT_STATE_FILE;
  const state = await readDevIssuerState(file).catch((caught: unknown) => {
    const error = caught as NodeJS.ErrnoException;
    const reason = error.code === 'ENOENT' ? `no dev issuer state at ${file}` : error.message;
    throw new CliError(
      `${reason}. Start the service without AUTH0_DOMAIN/AUTH_ISSUER_URL (npm start) or the standalone issuer ` +
        '(npx nest-m2m-dev-issuer); for another issuer pass --token-url or --issuer-url.',
      2,
    );
  });
  if (!flags.client)
    throw new CliError(`--client is required; clients of the dev issuer: ${state.clients.map((c) => c.clientId).join(', ')}`, 2);
  const client = state.clients.find((c) => c.clientId === flags.client);
  if (!client)
    throw new CliError(
      `unknown client "${flags.client}"; clients of the dev issuer: ${state.clients.map((c) => c.clientId).join(', ')}`,
      2,
    );
  const clientSecret = flags['client-secret'] ?? client.clientSecret;
  if (!clientSecret)
    throw new CliError(`client "${client.clientId}" has no secret (private_key_jwt); this CLI only does secret authentication`, 2);
  // Defaults from the state file: the client's first granted API, and Basic for a basic-only client.
  return {
    tokenUrl: state.tokenEndpoint,
    clientId: client.clientId,
    clientSecret,
    audience: flags.audience ?? client.audiences[0],
    auth: authFlag(flags.auth, client.tokenEndpointAuthMethod === 'client_secret_basic' ? 'basic' : 'post'),
  };
}

async function requestToken(target: TokenTarget, flags: Flags): Promise<Record<string, unknown>> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
  if (target.auth === 'basic') headers.Authorization = basicAuthorization(target.clientId, target.clientSecret);
  else {
    body.set('client_id', target.clientId);
    body.set('client_secret', target.clientSecret);
  }
  if (target.audience) body.set('audience', target.audience);
  if (flags.resource) body.set('resource', flags.resource);
  if (flags.scope) body.set('scope', flags.scope);

  let response: Response;
  try {
    // 'manual': a 307/308 would replay the request, client secret included, to whatever the
    // Location names; a redirect is reported instead.
    response = await fetch(target.tokenUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000), redirect: 'manual' });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new CliError(`cannot reach ${target.tokenUrl} (${cause}); is the issuer running?`, 1);
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    const location = response.headers.get('location');
    throw new CliError(
      `${target.tokenUrl} answered ${response.status}${location ? ` (a redirect to ${location})` : ''}, which is not followed with client credentials: pass the final token endpoint URL`,
      1,
    );
  }
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // A non-JSON body (proxy error page) is reported by status below.
  }
  if (!response.ok) {
    const detail =
      typeof json.error === 'string' ? `${json.error}: ${(json.error_description as string | undefined) ?? ''}` : text.slice(0, 200);
    throw new CliError(`${target.tokenUrl} refused client "${target.clientId}": ${response.status} ${detail}`, 1);
  }
  if (typeof json.access_token !== 'string')
    throw new CliError(`${target.tokenUrl} answered ${response.status} without an access_token`, 1);
  return json;
}

export async function runTokenCli(argv: string[], env: Env, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  try {
    let flags: Flags;
    try {
      flags = parseFlags(argv).values;
    } catch (error) {
      throw new CliError(`${(error as Error).message}\n${USAGE}`, 2);
    }
    if (flags.help) {
      out(USAGE);
      return 0;
    }
    const remote =
      flags['token-url'] || flags['issuer-url'] || (!flags.state && (env.AUTH_TOKEN_URL || env.AUTH_ISSUER_URL || env.AUTH0_DOMAIN));
    const target = remote ? await remoteTarget(flags, env) : await embeddedTarget(flags);
    const response = await requestToken(target, flags);
    out(flags.json ? JSON.stringify(response, null, 2) : String(response.access_token));
    return 0;
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    err(`token: ${error.message}`);
    return error.exitCode;
  }
}
