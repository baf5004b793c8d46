/**
 * The `clock` option drives every time decision of the incoming side: specs move time instead of
 * waiting for it.
 */
import { Controller, Get, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestIssuer } from '../test/test-issuer.js';
import { assertAuthOptions } from './auth.options.assert.js';
import type { AuthModuleOptions } from './auth.options.js';
import type { Clock } from './clock.js';
import { listenTestApp } from '../test/nest-app.js';
import { AuthModule } from './auth.module.js';

@Controller('r')
class RoutesController {
  @Get()
  read() {
    return { ok: true };
  }
}

describe('AuthModule with an injected clock', () => {
  let issuer: TestIssuer;
  let app: INestApplication;
  let now: number;
  const clock: Clock = { now: () => now };
  const seconds = () => Math.floor(now / 1000);
  const call = (token: string) => request(app.getHttpServer()).get('/r').set('Authorization', `Bearer ${token}`);

  async function boot(options: Partial<AuthModuleOptions> = {}): Promise<void> {
    app = await listenTestApp({
      imports: [
        AuthModule.forRoot({
          issuer: issuer.issuer,
          audience: issuer.audience,
          jwksUri: issuer.jwksUri,
          clockToleranceSeconds: 0,
          clock,
          globalGuards: true,
          ...options,
        }),
      ],
      controllers: [RoutesController],
    });
  }

  beforeEach(async () => {
    now = Date.now();
    issuer = await new TestIssuer().start();
  });
  afterEach(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('a_token_is_expired_once_the_clock_passes_its_exp', async () => {
    await boot();
    const token = issuer.sign(issuer.claims({ iat: seconds(), exp: seconds() + 60 }));
    now += 61_000;
    const res = await call(token).expect(401);
    expect(res.headers['www-authenticate']).toContain('error_description="Token expired"');
  });

  it('a_cached_token_is_refused_once_the_clock_passes_its_exp', async () => {
    await boot();
    const token = issuer.sign(issuer.claims({ iat: seconds(), exp: seconds() + 60 }));
    await call(token).expect(200);
    await call(token).expect(200); // a verified-token cache hit
    now += 61_000;
    const res = await call(token).expect(401);
    expect(res.headers['www-authenticate']).toContain('error_description="Token expired"');
  });

  it('a_token_becomes_valid_once_the_clock_reaches_its_nbf', async () => {
    await boot();
    const token = issuer.sign(issuer.claims({ iat: seconds(), nbf: seconds() + 600, exp: seconds() + 3600 }));
    const early = await call(token).expect(401);
    expect(early.headers['www-authenticate']).toContain('error_description="Token not yet valid"');
    now += 600_000;
    await call(token).expect(200);
  });

  it('signing_keys_stop_serving_once_the_clock_passes_the_stale_if_error_window', async () => {
    await boot({ jwksStaleIfErrorMs: 60_000, jwksMaxAgeMs: 30_000 });
    await call(issuer.sign(issuer.claims({ iat: seconds(), exp: seconds() + 3600 }))).expect(200);
    issuer.behaviour = { kind: 'status', status: 500 };
    now += 61_000;
    const res = await call(issuer.sign(issuer.claims({ iat: seconds(), exp: seconds() + 3600 }))).expect(503);
    expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  });

  it('a_cached_token_is_not_served_once_the_keys_are_past_the_stale_if_error_window', async () => {
    await boot({ jwksStaleIfErrorMs: 60_000, jwksMaxAgeMs: 30_000 });
    const token = issuer.sign(issuer.claims({ iat: seconds(), exp: seconds() + 3600 }));
    await call(token).expect(200);
    await call(token).expect(200); // a verified-token cache hit
    issuer.behaviour = { kind: 'status', status: 500 };
    now += 61_000;
    await call(token).expect(503);
  });

  it('an_unknown_kid_of_a_token_issued_before_the_last_jwks_fetch_costs_no_fetch', async () => {
    await boot();
    await call(issuer.sign(issuer.claims({ iat: seconds(), exp: seconds() + 3600 }))).expect(200);
    const fetches = issuer.jwksFetches;
    now += 10_000;
    const issuedBefore = issuer.sign(issuer.claims({ iat: seconds() - 20, exp: seconds() + 3600 }), { kid: 'not-in-the-jwks' });
    const res = await call(issuedBefore).expect(401);
    expect(res.headers['www-authenticate']).toContain('error_description="Unknown signing key"');
    expect(issuer.jwksFetches).toBe(fetches);
  });

  it('a_clock_without_now_is_a_startup_error', () => {
    expect(() => assertAuthOptions({ issuer: issuer.issuer, audience: issuer.audience, clock: {} as Clock })).toThrow(TypeError);
    expect(() => assertAuthOptions({ issuer: issuer.issuer, audience: issuer.audience, clock })).not.toThrow();
  });
});
