import { InvalidRequestError } from './bearer.errors.js';

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  /** Node keeps only the first `Authorization` in `headers` and drops the others; they show here. */
  rawHeaders?: string[];
  /** Fastify: the Node request, whose `rawHeaders` show the repeated headers. */
  raw?: { rawHeaders?: string[] };
  query?: unknown;
  body?: unknown;
}

/**
 * RFC 6750 §2: one method per request, and only the header method is supported (§2.2/§2.3 tokens end
 * up in logs and caches). Throws `InvalidRequestError` when a query or a parsed body carries
 * `access_token`. The guard applies it to what is parsed before it runs; an app that parses bodies
 * after the guards (to read nothing for unauthenticated clients) applies it to the body then.
 */
export function assertNoAccessTokenParameter(source: unknown): void {
  if (typeof source === 'object' && source !== null && Object.prototype.hasOwnProperty.call(source, 'access_token')) {
    throw new InvalidRequestError('Access tokens are accepted only in the Authorization header');
  }
}

function authorizationHeaderCount(req: RequestLike): number {
  let count = 0;
  const raw = req.rawHeaders ?? req.raw?.rawHeaders ?? [];
  // Length first: most header names are not 13 characters, and toLowerCase allocates.
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') count++;
  return count;
}

/** The credentials of an Authorization header: the scheme (Bearer, or DPoP per RFC 9449 §7.1) and the token. */
export interface AccessCredentials {
  scheme: 'Bearer' | 'DPoP';
  token: string;
}

/**
 * The credentials of a request's `Authorization: Bearer` header (RFC 6750 §2.1) — or `DPoP` (RFC
 * 9449 §7.1) when `dpop` is true — the only place a token is read from. Returns undefined when the
 * request carries no such credentials; throws `InvalidRequestError` for several Authorization
 * headers or for a token offered in the query or body (§2.2/§2.3 are not supported: query tokens end
 * up in logs and caches, and §2 forbids more than one method in one request). The token's syntax is
 * left to `assertB64Token`, which callers run only on a verified-token cache miss: a hit is a token
 * already checked.
 */
export function accessCredentials(req: RequestLike, dpop: boolean): AccessCredentials | undefined {
  assertNoAccessTokenParameter(req.query);
  assertNoAccessTokenParameter(req.body);
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  if (Array.isArray(header) || authorizationHeaderCount(req) > 1) throw new InvalidRequestError('More than one Authorization header');
  const space = header.indexOf(' ');
  const scheme = space === -1 ? header : header.slice(0, space);
  // RFC 7235 §2.1: the auth-scheme is case-insensitive.
  let name: AccessCredentials['scheme'];
  if (scheme.length === 6 && scheme.toLowerCase() === 'bearer') name = 'Bearer';
  else if (dpop && scheme.length === 4 && scheme.toLowerCase() === 'dpop') name = 'DPoP';
  // Another scheme (Basic, or DPoP when disabled) carries no bearer token: answered as "no credentials" (§3).
  else return undefined;
  return { scheme: name, token: space === -1 ? '' : header.slice(space + 1) };
}

/** RFC 6750 §2.1: exactly one b64token after the scheme (two tokens, or none, are a malformed request). */
export function assertB64Token(token: string): void {
  if (!token || !B64TOKEN.test(token)) {
    throw new InvalidRequestError('Malformed Authorization header: expected exactly one bearer token');
  }
}
