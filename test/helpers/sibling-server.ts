/**
 * A sibling API for tests of outgoing M2M calls: a plain Node HTTP server on 127.0.0.1, port 0,
 * that records every request and answers like an RFC 6750 resource server would.
 *
 * Routes: any path answers 200 `{ ok: true, path }`, except
 * - `…/redirect?to=<url>`: 302 to `to`;
 * - `…/unauthorized`: 401 with a bare `WWW-Authenticate: Bearer realm="sibling"` whatever the token;
 * - a request bearing a token in `rejectedTokens`: 401 with `WWW-Authenticate: Bearer error="invalid_token"`;
 * - a request without a bearer token: 401 with `WWW-Authenticate: Bearer realm="sibling"`.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SiblingServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  requests: RecordedRequest[];
  /** Tokens this API now refuses as `invalid_token` (revoked, or signed with a retired key). */
  rejectedTokens: Set<string>;
  close(): Promise<void>;
}

export async function startSiblingServer(): Promise<SiblingServer> {
  const requests: RecordedRequest[] = [];
  const rejectedTokens = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (url.pathname.endsWith('/redirect')) {
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
        return;
      }
      if (!token || url.pathname.endsWith('/unauthorized')) {
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="sibling"', 'content-type': 'application/json' });
        res.end(JSON.stringify({ statusCode: 401, error: 'Unauthorized', message: 'token required' }));
        return;
      }
      if (rejectedTokens.has(token)) {
        res.writeHead(401, {
          'www-authenticate': 'Bearer realm="sibling", error="invalid_token", error_description="token revoked"',
          'content-type': 'application/json',
        });
        res.end(JSON.stringify({ statusCode: 401, error: 'Unauthorized', message: 'token revoked' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, path: url.pathname }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    rejectedTokens,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
