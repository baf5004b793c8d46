import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A client-credentials token endpoint for the M2M specs, on 127.0.0.1:0: every request gets a new
 * opaque token (`token-1`, `token-2`…, so expiry is `expires_in` alone), after `delayMs`; `failNext`
 * turns the next answers into OAuth errors.
 */
export class TokenEndpointStub {
  /** Token requests received, answered or not. */
  requests = 0;
  /** Parameters of the last token request (JSON body, as the auth0 dialect sends, or form-encoded). */
  lastBody: Record<string, unknown> = {};
  delayMs = 0;
  expiresIn = 3600;
  /** `token_type` of the answers (`DPoP` for DPoP-bound tokens). */
  tokenType = 'Bearer';
  /** `scope` of the answers, if any (RFC 6749 §5.1: the scope granted). */
  scope?: string;
  /** Extra headers on every answer (e.g. Auth0's quota headers). */
  headers: Record<string, string> = {};
  private failures: Array<{ status: number; retryAfterSeconds?: number }> = [];
  private server?: Server;

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}/oauth/token`;
  }

  /** Forgets the failures still queued by `failNext`, and restores `tokenType` and `headers`. */
  reset(): void {
    this.failures = [];
    this.tokenType = 'Bearer';
    this.headers = {};
    this.scope = undefined;
  }

  /** The next `count` requests are answered `status` with an RFC 6749 §5.2 error body (and `Retry-After`, if given). */
  failNext(count: number, status = 503, retryAfterSeconds?: number): void {
    this.failures.push(...Array.from({ length: count }, () => ({ status, retryAfterSeconds })));
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const n = ++this.requests;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      // The answer's work is async; nothing awaits an 'end' listener, so the promise is dropped on purpose.
      req.on(
        'end',
        () =>
          void (async () => {
            const text = Buffer.concat(chunks).toString();
            this.lastBody = text.startsWith('{')
              ? (JSON.parse(text) as Record<string, unknown>)
              : Object.fromEntries(new URLSearchParams(text));
            await sleep(this.delayMs);
            const failure = this.failures.shift();
            const status = failure?.status;
            const body = status
              ? { error: status >= 500 ? 'temporarily_unavailable' : 'invalid_client', error_description: `stub answered ${status}` }
              : { access_token: `token-${n}`, token_type: this.tokenType, expires_in: this.expiresIn, scope: this.scope };
            const retryAfter = failure?.retryAfterSeconds !== undefined ? { 'retry-after': String(failure.retryAfterSeconds) } : {};
            res.writeHead(status ?? 200, { 'content-type': 'application/json', ...this.headers, ...retryAfter }).end(JSON.stringify(body));
          })(),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** A clock that moves only when told to. */
export function manualClock(start = 1_800_000_000_000): { now(): number; advance(ms: number): void; set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    set: (ms) => {
      now = ms;
    },
  };
}
