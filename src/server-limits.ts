import type { Server } from 'node:http';
import type { Env } from './config/env.schema.js';

/**
 * Timeouts and a connection cap on the listening server, for both platforms (Express and Fastify
 * both serve from a Node `http.Server`). Node's defaults let a slow client hold a socket for a long
 * time — headers 60 s, request 300 s (Fastify: never), keep-alive 5 s (Fastify: 72 s) — and accept
 * connections until file descriptors run out.
 *
 * Must run before `listen()`: Node starts its timeout sweep when the server starts listening.
 */
export function applyServerLimits(server: Server, env: Env): void {
  server.headersTimeout = env.HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = env.HTTP_REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = env.HTTP_KEEP_ALIVE_TIMEOUT_MS;
  // Past the cap Node closes a new connection at once, before reading it.
  server.maxConnections = env.HTTP_MAX_CONNECTIONS;
  // Node checks the headers and request timeouts on a sweep every 30 s by default, so a 10 s headers
  // timeout could take 40 s to fire; a 1 s sweep keeps each timeout within a second of its value.
  // (A `createServer` option that Node reads from the server when it starts listening; untyped there.)
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(1000, env.HTTP_HEADERS_TIMEOUT_MS);
}
