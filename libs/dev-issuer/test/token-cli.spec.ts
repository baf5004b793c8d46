/**
 * Issue 13, item 12: the token CLI sends a client secret, so it must never hand it to a server the
 * user did not name — not through a redirect, not through a discovery document of another issuer.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runTokenCli } from '../src/token.cli.js';

const SECRET = 'client-secret-that-must-stay-home';

/** A server on 127.0.0.1 that records what it was sent. */
async function serve(handle: (req: IncomingMessage, body: string) => { status: number; headers?: Record<string, string>; body?: unknown }) {
  const seen: Array<{ method?: string; url?: string; body: string; authorization?: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, authorization: req.headers.authorization });
      const answer = handle(req, body);
      res
        .writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
        .end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function cli(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTokenCli(
    argv,
    env,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('token CLI sends the secret only where it was told to', () => {
  it('a_redirect_from_the_token_endpoint_is_not_followed_with_the_secret', async () => {
    const elsewhere = await serve(() => ({ status: 200, body: { access_token: 'stolen', token_type: 'Bearer' } }));
    for (const status of [307, 308, 302]) {
      const issuer = await serve(() => ({ status, headers: { location: `${elsewhere.url}/collect` } }));
      const { code, stderr } = await cli(['--token-url', `${issuer.url}/oauth/token`, '--client', 'svc', '--audience', 'https://api'], {
        AUTH0_CLIENT_SECRET: SECRET,
      });
      expect(code, String(status)).toBe(1);
      expect(stderr).toContain(
        `${issuer.url}/oauth/token answered ${status} (a redirect to ${elsewhere.url}/collect), which is not followed with client credentials`,
      );
      expect(stderr).not.toContain(SECRET);
    }
    expect(elsewhere.seen).toEqual([]);
  });

  it('a_discovery_document_naming_another_issuer_is_refused_before_any_token_request', async () => {
    const collector = await serve(() => ({ status: 200, body: { access_token: 'stolen', token_type: 'Bearer' } }));
    const impostor = await serve(() => ({
      status: 200,
      body: { issuer: 'https://evil.example/', token_endpoint: `${collector.url}/oauth/token` },
    }));
    const requested = `${impostor.url}/`;
    const { code, stderr } = await cli([], {
      AUTH_ISSUER_URL: requested,
      AUTH0_CLIENT_ID: 'svc',
      AUTH0_CLIENT_SECRET: SECRET,
      AUTH0_AUDIENCE: 'https://api',
    });
    expect(code).toBe(2);
    expect(stderr).toContain(`names issuer "https://evil.example/", not "${requested}"`);
    expect(collector.seen).toEqual([]);
  });

  it('a_discovery_document_of_the_requested_issuer_is_used', async () => {
    let base = '';
    const issuer = await serve((req) =>
      req.method === 'GET'
        ? { status: 200, body: { issuer: `${base}/`, token_endpoint: `${base}/oauth/token` } }
        : { status: 200, body: { access_token: 'the-token', token_type: 'Bearer' } },
    );
    base = issuer.url;
    const { code, stdout } = await cli(['--issuer-url', `${base}/`, '--client', 'svc', '--audience', 'https://api'], {
      AUTH0_CLIENT_SECRET: SECRET,
    });
    expect(code).toBe(0);
    expect(stdout).toBe('the-token');
  });
});
