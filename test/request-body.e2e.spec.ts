/**
 * Request bodies are read alike on Express and Fastify: only once the caller is authenticated
 * (an unauthenticated client cannot make a replica read or parse anything), one size limit, and
 * the errors (too large, not JSON) answered with the contract's `{statusCode, error, message}` body.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { INTERCEPTORS_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../src/http-platform.js';
import { JsonBodyInterceptor } from '../src/json-body.interceptor.js';
import { appOnTestIssuer } from './helpers/app.js';

/** A JSON audit event of exactly `bytes` bytes (its `resource` padded). */
function eventOfSize(bytes: number): string {
  const empty = JSON.stringify({ action: 'a', resource: '' });
  return JSON.stringify({ action: 'a', resource: 'x'.repeat(bytes - empty.length) });
}

describe.each(['express', 'fastify'])('request bodies on %s', (platform) => {
  const running = appOnTestIssuer({ HTTP_PLATFORM: platform });
  const post = () => request(running.app.getHttpServer()).post('/internal/audit-events').set('content-type', 'application/json');
  const writer = () => `Bearer ${running.issuer.sign(running.issuer.claims({ scope: 'write:audit' }))}`;

  it('without_a_token_a_body_is_refused_401_before_it_is_read', async () => {
    // Headers announce 50 KB (under the limit) and only 10 bytes follow: an answer that does not
    // wait for the rest was given without reading the body (a server that waited would never answer,
    // and the test would time out).
    const { port } = running.app.getHttpServer().address() as { port: number };
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(
          'POST /internal/audit-events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50000\r\n\r\n{"action":',
        ),
      );
      socket.on('data', (d) => {
        text += d.toString();
        // The status line and headers are in: that is the answer to judge.
        if (text.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(text);
        }
      });
    });
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
  });

  it('without_a_token_an_oversized_or_malformed_body_is_a_401_not_a_413_or_400', async () => {
    await post()
      .send(eventOfSize(BODY_LIMIT_BYTES + 1))
      .expect(401);
    await post().send('{"action":').expect(401);
  });

  it('a_body_one_byte_over_the_limit_is_a_413_with_the_error_body', async () => {
    const res = await post()
      .set('Authorization', writer())
      .send(eventOfSize(BODY_LIMIT_BYTES + 1))
      .expect(413);
    expect(res.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: `Request body is larger than ${BODY_LIMIT_BYTES} bytes`,
    });
  });

  it('a_body_of_exactly_the_limit_is_read_and_reaches_validation', async () => {
    const body = eventOfSize(BODY_LIMIT_BYTES);
    expect(Buffer.byteLength(body)).toBe(BODY_LIMIT_BYTES);
    const res = await post().set('Authorization', writer()).send(body).expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringContaining('resource') });
  });

  it('malformed_json_is_a_400_with_the_error_body', async () => {
    const res = await post().set('Authorization', writer()).send('{"action":').expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Request body is not valid JSON' });
  });

  it('a_body_with_a_prototype_key_is_a_400_as_not_valid_json', async () => {
    for (const body of [
      '{"action":"a","resource":"r","__proto__":{"admin":true}}',
      '{"action":"a","resource":"r","constructor":{"prototype":{"admin":true}}}',
    ]) {
      const res = await post().set('Authorization', writer()).send(body).expect(400);
      expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Request body is not valid JSON' });
    }
  });

  it('every_route_with_a_body_method_reads_its_body_after_the_guards_and_get_routes_read_none', () => {
    // The body reader is per route (`@ReadsBody()`), not global: a route that forgets it would take
    // no body, and a DELETE would miss RFC 6750's form-body rule (auth.e2e.spec.ts).
    const routes: Array<{ name: string; method: RequestMethod; readsBody: boolean }> = [];
    for (const module of running.app.get(ModulesContainer).values()) {
      for (const { metatype } of module.controllers.values()) {
        const proto = (metatype as { prototype: Record<string, unknown> }).prototype;
        for (const key of Object.getOwnPropertyNames(proto)) {
          const handler = proto[key];
          if (typeof handler !== 'function') continue;
          const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
          if (method === undefined) continue;
          const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, handler) as unknown[] | undefined) ?? [];
          routes.push({
            name: `${(metatype as { name: string }).name}.${key}`,
            method,
            readsBody: interceptors.includes(JsonBodyInterceptor),
          });
        }
      }
    }
    const withBodies = routes.filter((r) => r.method !== RequestMethod.GET && r.method !== RequestMethod.HEAD);
    expect(withBodies.map((r) => r.name).sort()).toEqual([
      'AuditController.create',
      'DocumentsController.delete',
      'DocumentsController.put',
    ]);
    for (const r of withBodies) expect(r, r.name).toMatchObject({ readsBody: true });
    expect(routes.filter((r) => r.method === RequestMethod.GET && r.readsBody)).toEqual([]);
  });

  it('a_chunked_body_over_the_limit_is_a_413', async () => {
    // No Content-Length to check up front: the limit is counted while reading.
    const { port } = running.app.getHttpServer().address() as { port: number };
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/internal/audit-events',
          headers: { 'content-type': 'application/json', authorization: writer() },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      const body = eventOfSize(BODY_LIMIT_BYTES + 1);
      for (let i = 0; i < body.length; i += 8192) req.write(body.slice(i, i + 8192));
      req.end();
    });
    expect(status).toBe(413);
  });
});
