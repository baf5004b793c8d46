/**
 * What never reaches a log line: credentials in headers, and tokens, client secrets, client
 * assertions and private keys in the objects that are logged.
 *
 * The access line's request and response are built by our serializers (logging.module.ts), which
 * censor secret headers and query values themselves; pino's path redaction is kept for the objects
 * app code logs, by name. No wildcard paths: one `*.field` path costs pino about as much per line as
 * a whole bare Nest request on Fastify (the previous 72 paths, half of them wildcards, added ~40 µs
 * to every access line — bench/README.md); app code logs strings, errors and the few objects below.
 */
const SECRET_FIELDS = [
  'authorization',
  'client_secret',
  'clientSecret',
  'client_assertion',
  'clientAssertion',
  'access_token',
  'accessToken',
  'refresh_token',
  'id_token',
  'private_key',
  'privateKey',
  'password',
];

export const CENSOR = '[Redacted]';

export const REDACT_PATHS = [
  // An axios error (outgoing token and sibling calls) carries the request it sent.
  'err.config.headers.Authorization',
  'err.config.headers.authorization',
  'err.config.data',
  // An object logged with a secret at its top level (`logger.info({ client_secret })`).
  ...SECRET_FIELDS,
];

/** Request headers whose values are credentials: logged as `[Redacted]`, so their presence still shows. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'dpop']);

/**
 * Headers as logged: a copy with credential values censored (the request's own object is live and
 * must not change), or the object itself when it holds none.
 */
export function redactHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const name in headers) {
    if (SECRET_HEADERS.has(name) || name === 'set-cookie') (copy ??= { ...headers })[name] = CENSOR;
  }
  return copy ?? headers;
}

/** Query parameters whose values are credentials (RFC 6750 §2.3 `access_token`, OAuth client fields). */
const SECRET_QUERY = /^(access_token|token|id_token|refresh_token|client_secret|client_assertion|code|password)$/i;

/** The URL as logged: secret query values replaced, so a token sent in the query string is never written. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return SECRET_QUERY.test(decoded) ? `${name}=[Redacted]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}
