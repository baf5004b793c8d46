import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createTlsMaterial } from './certificates.js';
import { ClientAuthenticator } from './client-auth.js';
import { requestClientToken } from './client-token.js';
import { loadDevIssuerConfig } from './config.js';
import type { IssuerContext } from './context.js';
import { createControls } from './controls.js';
import { Counters } from './counters.js';
import { DEFAULT_TOKEN_LIFETIME_SECONDS } from './defaults.js';
import { Faults, type FaultEndpoint } from './faults.js';
import { sendJson, sendText } from './http.js';
import { SigningKeys } from './keys.js';
import { isLoopback } from './loopback.js';
import { Quotas, type QuotaLimits } from './quota.js';
import { DEFAULT_RATE_LIMIT, RateLimiter } from './rate-limit.js';
import { Registry } from './registry.js';
import { handleTestControl, TEST_CONTROLS_PREFIX } from './test-controls.endpoint.js';
import { handleTokenRequest } from './token.endpoint.js';
import type { DevIssuer, DevIssuerOptions } from './types.js';
import { DpopTokenEndpoint } from './dpop.js';
import { handleDiscovery, handleJwks } from './well-known.endpoints.js';

function assertStartable(options: DevIssuerOptions): void {
  if (process.env.NODE_ENV === 'production' && !options.allowProduction) {
    throw new Error(
      'Refusing to start the dev issuer: NODE_ENV is "production". It issues tokens from a local config with dev secrets; ' +
        'configure a real issuer (AUTH0_DOMAIN or AUTH_ISSUER_URL), or pass allowProduction: true if you really mean it.',
    );
  }
  // The issuer mints tokens for whoever reaches it, so it never listens beyond this machine.
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`The dev issuer only listens on loopback addresses (127.0.0.0/8, ::1, localhost), not "${host}"`);
  if (options.clock !== undefined && typeof options.clock.now !== 'function')
    throw new TypeError("'clock' must have a now() method returning epoch milliseconds");
  const lifetime = options.tokenLifetimeSeconds;
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime <= 0)) {
    throw new TypeError(`tokenLifetimeSeconds must be a positive integer, got ${lifetime}`);
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Writes the CA certificate where `NODE_EXTRA_CA_CERTS` can point; `cleanup` removes what we created. */
async function writeCaFile(tls: DevIssuerOptions['tls'], pem: string): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const configured = typeof tls === 'object' ? tls.caFile : undefined;
  if (configured) {
    await mkdir(dirname(configured), { recursive: true });
    await writeFile(configured, pem);
    return { file: configured, cleanup: async () => undefined };
  }
  const directory = await mkdtemp(join(tmpdir(), 'nest-m2m-dev-issuer-'));
  const file = join(directory, 'ca.pem');
  await writeFile(file, pem);
  return { file, cleanup: () => rm(directory, { recursive: true, force: true }) };
}

/** Starts the embedded Auth0-compatible authorization server. */
export async function startDevIssuer(options: DevIssuerOptions = {}): Promise<DevIssuer> {
  assertStartable(options);
  const rateLimiter = options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);
  const [config, keys, tlsMaterial] = await Promise.all([
    loadDevIssuerConfig(options.config),
    SigningKeys.create(options.keysFile),
    options.tls ? createTlsMaterial() : Promise.resolve(undefined),
  ]);
  // Before listening: a CA file that cannot be written is a start-up error, not a server left open.
  const caFile = tlsMaterial ? await writeCaFile(options.tls, tlsMaterial.caPem) : undefined;

  const sockets = new Set<Socket>();
  // Aborted on close(): wakes every delayed response so nothing outlives the issuer.
  const closing = new AbortController();
  const server: Server = tlsMaterial
    ? createHttpsServer({ key: tlsMaterial.keyPem, cert: tlsMaterial.certPem, keepAliveTimeout: 5_000 })
    : createServer({ keepAliveTimeout: 5_000 });
  // For https too: 'connection' gives the TCP socket, so close() also ends unfinished handshakes.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    await caFile?.cleanup();
    throw error;
  });
  const { address, port } = server.address() as AddressInfo;
  const authority = `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
  const url = `${tlsMaterial ? 'https' : 'http'}://${authority}`;
  const issuer = `${url}/`;
  const tokenEndpoint = `${url}/oauth/token`;
  const registry = new Registry(config);
  const clock = options.clock ?? { now: () => Date.now() };
  const quotaLimits = new Map<string, QuotaLimits>(
    config.clients
      .filter((c) => c.quotaPerHour !== undefined || c.quotaPerDay !== undefined)
      .map((c) => [c.clientId, { perHour: c.quotaPerHour, perDay: c.quotaPerDay }]),
  );

  const ctx: IssuerContext = {
    url,
    issuer,
    jwksUri: `${url}/.well-known/jwks.json`,
    tokenEndpoint,
    registry,
    keys,
    // RFC 7523 §3 item 3: the assertion's audience identifies this server, by issuer or token
    // endpoint. Auth0's SDKs sign `aud` = `https://<domain>/` whatever the transport, so the https
    // form of the issuer is accepted over plain HTTP too.
    authenticator: new ClientAuthenticator(registry, [...new Set([issuer, url, tokenEndpoint, `https://${authority}/`])], clock),
    faults: new Faults(),
    quotas: new Quotas(quotaLimits),
    rateLimiter,
    counters: new Counters(registry.clients.keys()),
    defaultLifetimeSeconds: options.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
    dpop: new DpopTokenEndpoint(tokenEndpoint, options.dpopNonces ?? false, clock),
    logger: options.logger,
    clock,
    runFaults: (endpoint, res, headers) => runFaults(endpoint, res, headers),
  };
  const controls = createControls(ctx);

  async function runFaults(endpoint: FaultEndpoint, res: ServerResponse, headers: Record<string, string> = {}): Promise<boolean> {
    const plan = ctx.faults.plan(endpoint);
    if (plan.delayMs > 0) await sleep(plan.delayMs, closing.signal);
    if (closing.signal.aborted) return true;
    if (plan.hang) {
      ctx.logger?.warn(`dev issuer: injected fault, ${endpoint} request left hanging`);
      return true; // No answer at all: only close() (or the client giving up) ends it.
    }
    if (!plan.failure) return false;
    const { status, body } = plan.failure;
    // An injected 429 looks like Auth0's rate-limit answer: headers of an empty bucket.
    const retryAfter = Number(plan.failure.headers['Retry-After'] ?? 1);
    const faultHeaders =
      status === 429 && rateLimiter
        ? { ...rateLimiter.exhaustedHeaders(retryAfter, clock.now() / 1000), ...plan.failure.headers }
        : plan.failure.headers;
    ctx.logger?.warn(`dev issuer: injected fault, ${endpoint} answered ${status}`);
    if (typeof body === 'string') sendText(res, status, body, { ...headers, ...faultHeaders });
    else sendJson(res, status, body, { ...headers, ...faultHeaders });
    return true;
  }

  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/oauth/token': { POST: (req, res) => handleTokenRequest(ctx, req, res) },
    '/.well-known/jwks.json': { GET: (_req, res) => handleJwks(ctx, res) },
    '/.well-known/openid-configuration': { GET: (_req, res) => handleDiscovery(ctx, res) },
    '/.well-known/oauth-authorization-server': { GET: (_req, res) => handleDiscovery(ctx, res) },
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', url).pathname;
    const methods = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (methods) {
      const handler = methods[req.method ?? ''];
      if (handler) return handler(req, res);
      const allow = Object.keys(methods).join(', ');
      sendJson(
        res,
        405,
        { error: 'method_not_allowed', error_description: `${req.method} ${path} is not allowed; use ${allow}` },
        { Allow: allow },
      );
      return;
    }
    // Without enableTestControls the control routes do not exist at all: a plain 404.
    if (options.enableTestControls && path.startsWith(TEST_CONTROLS_PREFIX)) {
      if (await handleTestControl(controls, path.slice(TEST_CONTROLS_PREFIX.length), req, res)) return;
    }
    sendJson(res, 404, { error: 'not_found', error_description: `No route for ${req.method} ${path}` });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((error: unknown) => {
      ctx.logger?.warn(`dev issuer: ${req.method} ${req.url} failed: ${error instanceof Error ? error.message : String(error)}`);
      sendJson(res, 500, { error: 'server_error', error_description: 'Internal error in the dev issuer' });
    });
  });

  options.logger?.log(`dev issuer listening on ${issuer}${caFile ? ` (CA certificate: ${caFile.file})` : ''}`);
  let closed: Promise<void> | undefined;
  const ca = tlsMaterial && caFile ? { pem: tlsMaterial.caPem, file: caFile.file } : undefined;
  return {
    url,
    issuer,
    ...(ca ? { ca } : {}),
    jwksUri: ctx.jwksUri,
    tokenEndpoint,
    config,
    controls,
    getToken: (options) => requestClientToken(tokenEndpoint, config, options, ca?.pem),
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        // Hung and keep-alive connections would hold server.close() open forever.
        for (const socket of sockets) socket.destroy();
      }).then(() => caFile?.cleanup())),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
