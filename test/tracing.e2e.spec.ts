import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_API_AUDIENCE, DOCUMENTS_API_AUDIENCE, type DevIssuer, startDevIssuer } from '@nest-m2m/dev-issuer';
import { devIssuerServiceEnv } from '../src/embedded.js';
import { freePort, type RunningApp, spawnApp, stopApp, waitForHealth } from './helpers/built-app.js';

/** One span as OTLP/HTTP JSON carries it (ids in hex, kind as the enum's number). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number };
  scope: string;
  service: string;
}
const SERVER = 2;
const CLIENT = 3;

/**
 * A real OTLP/HTTP receiver on 127.0.0.1 (what a collector's otlphttp receiver does with JSON):
 * POST /v1/traces, keeps every span it is sent.
 */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; bodies: string[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415).end();
        return;
      }
      bodies.push(body);
      const message = JSON.parse(body) as {
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
          scopeSpans: Array<{ scope: { name: string }; spans: Array<Omit<OtlpSpan, 'scope' | 'service'>> }>;
        }>;
      };
      for (const rs of message.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, scope: ss.scope.name, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    bodies,
    close: () => new Promise((res) => server.close(() => res())),
  };
}

const attr = (span: OtlpSpan, key: string) => {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : (v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue)));
};

describe.each(['express', 'fastify'])(
  'OpenTelemetry traces of the built service on %s, exported to a real OTLP/HTTP receiver',
  (platform) => {
    let issuer: DevIssuer;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let app: RunningApp | undefined;
    let token: string;

    beforeAll(async () => {
      issuer = await startDevIssuer();
      receiver = await startReceiver();
      const port = await freePort();
      app = await spawnApp({
        PORT: String(port),
        HTTP_PLATFORM: platform,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        // The audit sibling is the service itself over HTTP: the trace crosses a real hop.
        ...devIssuerServiceEnv(issuer, `http://127.0.0.1:${port}`),
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: 'documents',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      });
      await waitForHealth(app);
      token = await issuer.getToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
    }, 60_000);

    afterAll(async () => {
      await stopApp(app);
      await receiver?.close();
      await issuer?.close();
    });

    /** Waits (hang guard only) until `found` holds for the spans received so far. */
    const poll = async <T>(found: (spans: OtlpSpan[]) => T | undefined): Promise<T> => {
      let result: T | undefined;
      await expect.poll(() => (result = found(receiver.spans)), { timeout: 15_000, interval: 100 }).toBeTruthy();
      return result!;
    };

    it('one_delete_is_one_trace_spanning_documents_token_request_and_the_audit_call', async () => {
      const auth = { authorization: `Bearer ${token}` };
      const put = await fetch(`${app!.url}/internal/documents/traced`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Traced', body: 'to be deleted' }),
      });
      expect(put.status).toBe(201);
      const deleted = await fetch(`${app!.url}/internal/documents/traced`, { method: 'DELETE', headers: auth });
      expect(deleted.status).toBe(200);

      const root = await poll((spans) => spans.find((s) => s.kind === SERVER && s.name === 'DELETE /internal/documents/:id'));
      const inTrace = (name: string) => receiver.spans.filter((s) => s.traceId === root.traceId && s.name === name);
      const trace = await poll((spans) => {
        const t = spans.filter((s) => s.traceId === root.traceId);
        return t.some((s) => s.kind === SERVER && s.name === 'POST /internal/audit-events') ? t : undefined;
      });

      expect(root.parentSpanId ?? '').toBe('');
      expect(root.service).toBe('documents');
      expect(attr(root, 'http.request.method')).toBe('DELETE');
      expect(attr(root, 'http.route')).toBe('/internal/documents/:id');
      expect(attr(root, 'http.response.status_code')).toBe(200);

      // documents → the service's own token request (the first call to the audit API needs one).
      const [tokenRequest] = inTrace('m2m.token.request');
      assert(tokenRequest, `no m2m.token.request span in ${JSON.stringify(trace.map((s) => s.name))}`);
      expect(tokenRequest.kind).toBe(CLIENT);
      expect(tokenRequest.parentSpanId).toBe(root.spanId);
      expect(tokenRequest.scope).toBe('@nest-m2m/auth');
      expect(attr(tokenRequest, 'url.full')).toBe(issuer.tokenEndpoint);
      expect(attr(tokenRequest, 'nest_m2m.client_id')).toBe('nest-m2m-service');
      expect(attr(tokenRequest, 'nest_m2m.token.audience')).toBe(AUDIT_API_AUDIENCE);
      expect(attr(tokenRequest, 'http.response.status_code')).toBe(200);

      // documents → audit: the sibling call, and the audit API's own server span as its child
      // (traceparent crossed the HTTP hop), with the token verification inside it.
      const [siblingCall] = inTrace('POST audit');
      assert(siblingCall, 'no POST audit span in the trace');
      expect(siblingCall.kind).toBe(CLIENT);
      expect(siblingCall.parentSpanId).toBe(root.spanId);
      expect(attr(siblingCall, 'url.full')).toBe(`${app!.url}/internal/audit-events`);
      expect(attr(siblingCall, 'http.response.status_code')).toBe(201);
      const [auditServer] = inTrace('POST /internal/audit-events');
      assert(auditServer, 'no POST /internal/audit-events span in the trace');
      expect(auditServer.parentSpanId).toBe(siblingCall.spanId);
      // The audit API verifies the service's new token in full; the caller's token, verified by the
      // PUT, is a verified-token cache hit on the DELETE (no span: hits cost microseconds).
      const verifications = inTrace('auth.token.verify');
      expect(verifications.map((v) => v.parentSpanId)).toEqual([auditServer.spanId]);

      // No credential in any exported byte.
      const exported = receiver.bodies.join('\n');
      const secret = issuer.config.clients.find((c) => c.clientId === 'nest-m2m-service')!.clientSecret!;
      for (const credential of [token, secret, 'Bearer ', 'client_secret']) expect(exported).not.toContain(credential);
    });

    it('an_incoming_traceparent_is_the_parent_of_the_request_span', async () => {
      const traceId = randomBytes(16).toString('hex');
      const parentId = randomBytes(8).toString('hex');
      const res = await fetch(`${app!.url}/internal/documents/1`, {
        headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${parentId}-01` },
      });
      expect(res.status).toBe(200);
      const span = await poll((spans) => spans.find((s) => s.traceId === traceId && s.kind === SERVER));
      expect(span.name).toBe('GET /internal/documents/:id');
      expect(span.parentSpanId).toBe(parentId);
    });

    it('health_probes_and_metrics_scrapes_make_no_span', async () => {
      for (const path of ['/health', '/health/ready', '/metrics']) expect((await fetch(`${app!.url}${path}`)).status).toBe(200);
      // A traced request after them: once its span is in, theirs would have been too.
      const marker = randomBytes(16).toString('hex');
      await fetch(`${app!.url}/internal/documents/1`, {
        headers: { authorization: `Bearer ${token}`, traceparent: `00-${marker}-${randomBytes(8).toString('hex')}-01` },
      });
      await poll((spans) => spans.find((s) => s.traceId === marker));
      expect(receiver.spans.filter((s) => s.kind === SERVER && /health|metrics/.test(String(attr(s, 'url.path'))))).toEqual([]);
    });

    it('the_jwks_fetch_is_a_client_span_with_its_url', async () => {
      const fetchSpan = await poll((spans) => spans.find((s) => s.name === 'auth.jwks.fetch'));
      expect(fetchSpan.kind).toBe(CLIENT);
      expect(attr(fetchSpan, 'url.full')).toBe(issuer.jwksUri);
      expect(attr(fetchSpan, 'http.request.method')).toBe('GET');
      expect(attr(fetchSpan, 'nest_m2m.jwks.keys')).toBeGreaterThan(0);
    });
  },
);
