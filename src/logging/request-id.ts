import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A caller's id is kept only if it cannot forge log structure or smuggle data: short, plain characters. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** The answer header and the log field (`reqId`) name the same id on Express and on Fastify. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** A sane incoming `x-request-id` (so a trace spans services), else a UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** pino-http's `genReqId` (Express): the id, echoed on the response. Fastify assigns it itself (http-platform.ts). */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const id = requestIdOf(req);
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** Longest part of a refused incoming id that is logged (JSON-escaped): enough to recognise it, never megabytes. */
const LOGGED_REFUSED_ID_CHARS = 64;

/**
 * Request headers as the access log shows them: a refused incoming `x-request-id` (too long or
 * unsafe, so replaced) is cut to its start and its length. Returns a copy only then: `headers` is
 * the live request's own object.
 */
export function loggedHeaders(headers: Record<string, unknown>, id: unknown): Record<string, unknown> {
  const incoming = headers[REQUEST_ID_HEADER];
  if (typeof incoming !== 'string' || incoming === id || incoming.length <= LOGGED_REFUSED_ID_CHARS) return headers;
  return { ...headers, [REQUEST_ID_HEADER]: `${incoming.slice(0, LOGGED_REFUSED_ID_CHARS)}…(replaced, ${incoming.length} chars)` };
}
