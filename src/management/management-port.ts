import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { Env } from '../config/env.schema.js';
import { applyServerLimits } from '../server-limits.js';

/** Set on requests that arrived on the management port (Express: on `req`; Fastify: on `request.raw`). */
const MANAGEMENT_REQUEST = Symbol.for('nest-m2m.management-request');

/** What only the management port serves when `MANAGEMENT_PORT` is set: metrics and the API documentation. */
const MANAGEMENT_ONLY = /^\/(?:metrics|docs(?:-json|-yaml)?)(?:[/?#]|$)/;
/** What the management port serves: the above, and the health routes (readiness with its details). */
const ON_MANAGEMENT_PORT = /^\/(?:metrics|docs(?:-json|-yaml)?|health(?:\/ready)?)(?:[/?#]|$)/;

const listeners = new WeakMap<INestApplication, { server: Server; port: number }>();

/** True for a request that came in on the management port (the raw Node request, or Fastify's wrapper). */
export function isManagementRequest(request: object): boolean {
  const raw = (request as { raw?: object }).raw ?? request;
  return (raw as Record<symbol, unknown>)[MANAGEMENT_REQUEST] === true;
}

/**
 * Starts the management listener (after `app.listen`, on the API's host) when `MANAGEMENT_PORT` is
 * set; resolves with its address, or undefined without one. A port in use rejects (a start-up error).
 */
export async function listenManagement(app: INestApplication): Promise<AddressInfo | undefined> {
  const listener = listeners.get(app);
  if (!listener) return undefined;
  const { server, port } = listener;
  const { address } = (app.getHttpServer() as Server).address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

/**
 * `MANAGEMENT_PORT` (Spring Boot's actuator pattern): a second listener, on the same host, for what
 * only operators need — `/metrics`, `/docs*` and readiness with its details — so the API port, the
 * one exposed to callers, answers `404` for metrics and docs and gives readiness as a bare status.
 *
 * Both listeners feed the one application: the management server hands its requests to the API
 * server's own request handler (Express and Fastify both serve from a Node `http.Server`), marked so
 * that handlers can tell the ports apart, after a path filter on each side. Same limits, same
 * shutdown: the management server closes when the application does.
 */
export function attachManagementPort(app: INestApplication, env: Env): void {
  if (env.MANAGEMENT_PORT === undefined) return;
  const api = app.getHttpServer() as Server;
  const handlers = api.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  const dispatch = (req: IncomingMessage, res: ServerResponse) => {
    for (const handler of handlers) handler.call(api, req, res);
  };
  api.removeAllListeners('request');
  api.on('request', (req: IncomingMessage, res: ServerResponse) =>
    MANAGEMENT_ONLY.test(req.url ?? '/') ? notFound(req, res) : dispatch(req, res),
  );

  const management = createServer((req, res) => {
    if (!ON_MANAGEMENT_PORT.test(req.url ?? '/')) {
      notFound(req, res);
      return;
    }
    (req as unknown as Record<symbol, unknown>)[MANAGEMENT_REQUEST] = true;
    dispatch(req, res);
  });
  applyServerLimits(management, env);
  listeners.set(app, { server: management, port: env.MANAGEMENT_PORT });
  // Stops with the application.
  api.once('close', () => {
    management.close();
    management.closeAllConnections();
  });
}

function notFound(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff' });
  res.end(JSON.stringify({ statusCode: 404, error: 'Not Found', message: `Cannot ${req.method} ${path}` }));
}
