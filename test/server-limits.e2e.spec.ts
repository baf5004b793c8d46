/**
 * Timeouts and a connection cap on the listening server, the same on Express and Fastify: a client
 * that trickles its headers or its body, or idles on a keep-alive connection, or opens connection
 * after connection, cannot hold a replica's sockets for minutes.
 */
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from './helpers/app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

const sockets: Socket[] = [];

/**
 * Opens a raw connection, writes `text`, and resolves with what the server sent and when it closed:
 * once it closed, once `until(answer)` holds, or after `waitMs` (a hang guard, not a measurement).
 */
function rawExchange(
  port: number,
  text: string,
  waitMs: number,
  until: (answer: string) => boolean = () => false,
): Promise<{ answer: string; closedAfterMs?: number; socket: Socket }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let answer = '';
    let closedAfterMs: number | undefined;
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    sockets.push(socket);
    socket.on('data', (d) => {
      answer += d.toString();
      if (until(answer)) resolve({ answer, closedAfterMs, socket });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closedAfterMs = Date.now() - started;
      resolve({ answer, closedAfterMs, socket });
    });
    setTimeout(() => resolve({ answer, closedAfterMs, socket }), waitMs);
  });
}

/** A complete HTTP/1.1 answer with a Content-Length body. */
const complete = (answer: string) => {
  const end = answer.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length: (\d+)/i.exec(answer);
  return end >= 0 && length !== null && answer.length >= end + 4 + Number(length[1]);
};

describe.each(['express', 'fastify'])('server timeouts and connection cap on %s', (platform) => {
  let issuer: TestIssuer;
  const apps: INestApplication[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const app = await startApp(issuer, { HTTP_PLATFORM: platform, ...env });
    apps.push(app);
    return { app, port: (app.getHttpServer().address() as { port: number }).port, server: app.getHttpServer() as Server };
  };

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    for (const app of apps) await app.close();
    await issuer?.close();
  });

  it('defaults_are_10s_for_headers_30s_for_the_request_5s_keep_alive_and_a_connection_cap', async () => {
    const { server, port } = await start();
    expect({
      headers: server.headersTimeout,
      request: server.requestTimeout,
      keepAlive: server.keepAliveTimeout,
      max: server.maxConnections,
    }).toEqual({
      headers: 10_000,
      request: 30_000,
      keepAlive: 5_000,
      max: 1024,
    });
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.headers.get('keep-alive')).toBe('timeout=5');
  });

  it('the_keep_alive_timeout_is_configurable_and_announced', async () => {
    const { port } = await start({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '7000' });
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.headers.get('keep-alive')).toBe('timeout=7');
  });

  it('a_client_that_never_finishes_its_headers_gets_a_408_and_is_closed_within_the_headers_timeout', async () => {
    const { port } = await start({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000' });
    // Closed long before the 10 s default: the configured 500 ms (swept every 500 ms) applies.
    const { answer, closedAfterMs } = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 9000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeLessThan(8000);
  });

  it('a_body_that_never_finishes_gets_a_408_and_is_closed_within_the_request_timeout', async () => {
    const { port } = await start({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000' });
    // An authorised caller: a body is read only after the guards (an unauthenticated one gets its 401 at once).
    const token = issuer.sign(issuer.claims({ scope: 'write:documents' }));
    const head = `PUT /internal/documents/7 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"title":`;
    // Closed long before the 30 s default: the configured 1 s applies.
    const { answer, closedAfterMs } = await rawExchange(port, head, 15_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfterMs).toBeLessThan(14_000);
  });

  it('connections_past_the_cap_are_closed_without_an_answer', async () => {
    // Kept alive for longer than any slow machine takes to get to the third connection.
    const { port } = await start({ HTTP_MAX_CONNECTIONS: '2', HTTP_KEEP_ALIVE_TIMEOUT_MS: '60000' });
    const keepAlive = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    // Two kept-alive connections, each with its answer (waited for, however slow the machine is).
    const held = await Promise.all([rawExchange(port, keepAlive, 10_000, complete), rawExchange(port, keepAlive, 10_000, complete)]);
    for (const h of held) expect(h.answer).toMatch(/^HTTP\/1\.1 200 /);
    const third = await rawExchange(port, keepAlive, 10_000);
    expect(third.answer).toBe('');
    expect(third.closedAfterMs).toBeDefined();
  });
});
