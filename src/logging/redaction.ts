/**
 * What never reaches a log line: credentials in headers, and tokens, client secrets, client
 * assertions and private keys wherever an object carrying them is logged (request bodies, errors,
 * option objects). pino replaces each path's value before serialising.
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

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'err.config.headers.Authorization',
  'err.config.headers.authorization',
  'err.config.data',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `req.body.${f}`, `req.query.${f}`, `*.headers.${f}`]),
];

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
