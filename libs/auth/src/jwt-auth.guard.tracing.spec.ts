/**
 * JwtAuthGuard's span: a full verification (a verified-token cache miss) runs inside one internal
 * `auth.token.verify` span, failed with the refusal's code when the token is refused; a cache hit
 * makes none. An application's OpenTelemetry SDK sees them (here an in-memory exporter).
 */
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestIssuer } from '../test/test-issuer.js';
import { listenTestApp } from '../test/nest-app.js';
import { AuthModule } from './auth.module.js';

@Controller('r')
class RoutesController {
  @Get()
  read() {
    return { ok: true };
  }
}

describe('JwtAuthGuard tracing', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  let issuer: TestIssuer;
  let app: INestApplication;
  const call = (token: string) => request(app.getHttpServer()).get('/r').set('Authorization', `Bearer ${token}`);
  const verifications = () => exporter.getFinishedSpans().filter((s) => s.name === 'auth.token.verify');

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    issuer = await new TestIssuer().start();
    app = await listenTestApp({
      imports: [AuthModule.forRoot({ issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri, globalGuards: true })],
      controllers: [RoutesController],
    });
  });
  beforeEach(() => exporter.reset());
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
    await provider.shutdown();
    trace.disable();
  });

  it('a_cache_miss_is_verified_in_one_internal_span_and_a_hit_makes_none', async () => {
    const token = issuer.sign();
    await call(token).expect(200);
    expect(verifications().map((s) => [s.kind, s.status.code])).toEqual([[SpanKind.INTERNAL, SpanStatusCode.UNSET]]);
    await call(token).expect(200);
    expect(verifications()).toHaveLength(1);
  });

  it('a_refused_token_fails_its_span_with_the_refusal_code', async () => {
    await call(issuer.sign(issuer.claims({ aud: 'https://elsewhere.test.local' }))).expect(401);
    const [span] = verifications();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe('ERR_AUTH_AUDIENCE_INVALID');
  });
});
