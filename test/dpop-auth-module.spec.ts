/**
 * The AuthModule as a library with DPoP options: server nonces (RFC 9449 §9) on an injected clock,
 * and the `@Dpop()` route override read by JwtAuthGuard.
 */
import { Controller, Get, type INestApplication, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthModule, type AuthModuleOptions, type AuthPrincipal, Dpop, JwtAuthGuard, Principal, VerifiedTokenCache } from '@nest-m2m/auth';
import { dpopTestKey, type DpopTestKey, proof } from './helpers/dpop.js';
import { listenTestApp } from '../libs/auth/test/nest-app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

const ALGS = 'ES256 ES384 EdDSA Ed25519 PS256 RS256';

@Controller('things')
class ThingsController {
  @Get()
  list() {
    return { ok: true };
  }

  @Get('strict')
  @Dpop('required')
  strict() {
    return { ok: true };
  }

  @Get('legacy')
  @Dpop('disabled')
  legacy() {
    return { ok: true };
  }
}

async function boot(issuer: TestIssuer, options: Partial<AuthModuleOptions> = {}): Promise<INestApplication> {
  return listenTestApp({
    imports: [AuthModule.forRoot({ issuer: issuer.issuer, audience: [issuer.audience], realm: 'things', ...options, globalGuards: true })],
    controllers: [ThingsController],
  });
}

describe('AuthModule with DPoP server nonces', () => {
  let issuer: TestIssuer;
  let key: DpopTestKey;
  let app: INestApplication | undefined;
  let now = Date.now();
  const clock = { now: () => now };
  const secret = 'a-nonce-secret-shared-by-the-fleet-0123456789';

  const call = async (nonce?: string, iat = Math.floor(now / 1000)) => {
    const token = issuer.sign(issuer.claims({ cnf: { jkt: key.jkt }, iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 3600 }));
    const port = (app!.getHttpServer().address() as { port: number }).port;
    const dpop = await proof(key, { htm: 'GET', htu: `http://127.0.0.1:${port}/things`, token, claims: { nonce, iat } });
    return request(app!.getHttpServer()).get('/things').set('Authorization', `DPoP ${token}`).set('DPoP', dpop);
  };

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    key = await dpopTestKey();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await issuer?.close();
  });

  it('a_proof_without_nonce_gets_use_dpop_nonce_and_a_nonce_that_then_works', async () => {
    app = await boot(issuer, { clock, dpopProof: { nonce: { secret, rotationSeconds: 60 } } });
    const first = await call();
    expect(first.status).toBe(401);
    expect(first.headers['www-authenticate']).toBe(
      `DPoP algs="${ALGS}", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", Bearer realm="things"`,
    );
    const nonce = first.headers['dpop-nonce'];
    expect(nonce).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]+$/);
    expect((await call(nonce)).status).toBe(200);
  });

  it('a_nonce_two_rotations_old_is_stale', async () => {
    app = await boot(issuer, { clock, dpopProof: { nonce: { secret, rotationSeconds: 60 } } });
    const nonce = (await call()).headers['dpop-nonce'];
    now += 121_000;
    const res = await call(nonce);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error="use_dpop_nonce", error_description="Stale DPoP nonce"');
    expect(res.headers['dpop-nonce']).not.toBe(nonce);
    expect((await call(res.headers['dpop-nonce'])).status).toBe(200);
  });

  it('a_nonce_from_a_replica_with_another_secret_is_stale', async () => {
    app = await boot(issuer, {
      clock,
      dpopProof: { nonce: { secret: 'another-secret-another-fleet-0123456789abcdef', rotationSeconds: 60 } },
    });
    const foreign = (await call()).headers['dpop-nonce'];
    await app.close();
    app = await boot(issuer, { clock, dpopProof: { nonce: { secret, rotationSeconds: 60 } } });
    expect((await call(foreign)).status).toBe(401);
  });

  it('a_proof_whose_iat_left_the_window_on_the_injected_clock_is_refused', async () => {
    app = await boot(issuer, { clock });
    const res = await call(undefined, Math.floor(now / 1000) - 66);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error_description="DPoP proof iat outside the accepted window"');
    expect((await call(undefined, Math.floor(now / 1000) - 30)).status).toBe(200);
  });
});

describe('@Dpop() overrides the module mode per route', () => {
  let issuer: TestIssuer;
  let key: DpopTestKey;
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    key = await dpopTestKey();
    app = await boot(issuer);
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it('a_bearer_token_passes_on_an_allowed_route', async () => {
    await http().get('/things').set('Authorization', `Bearer ${issuer.sign()}`).expect(200);
  });

  it('a_bearer_token_is_refused_on_a_required_route_even_when_cached', async () => {
    const token = issuer.sign();
    await http().get('/things').set('Authorization', `Bearer ${token}`).expect(200);
    const res = await http().get('/things/strict').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      `DPoP algs="${ALGS}", error="invalid_token", error_description="DPoP-bound token required"`,
    );
  });

  it('a_dpop_request_passes_on_a_required_route', async () => {
    const token = issuer.sign(issuer.claims({ cnf: { jkt: key.jkt } }));
    const port = (app.getHttpServer().address() as { port: number }).port;
    const dpop = await proof(key, { htm: 'GET', htu: `http://127.0.0.1:${port}/things/strict`, token });
    await http().get('/things/strict').set('Authorization', `DPoP ${token}`).set('DPoP', dpop).expect(200);
  });

  it('the_dpop_scheme_is_no_credentials_on_a_disabled_route', async () => {
    const res = await http()
      .get('/things/legacy')
      .set('Authorization', `DPoP ${issuer.sign(issuer.claims({ cnf: { jkt: key.jkt } }))}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="things"');
  });
});

/** The same route behind JwtAuthGuard and behind passport's own AuthGuard('jwt') (no fast path). */
@Controller('bound')
class BoundController {
  @Get('fast')
  @UseGuards(JwtAuthGuard)
  fast(@Principal() caller: AuthPrincipal) {
    return { clientId: caller.clientId };
  }

  /** No @Principal(): nothing in the handler waits for the principal, so the guard must. */
  @Get('bare')
  @UseGuards(JwtAuthGuard)
  bare() {
    return { ok: true };
  }

  @Get('passport')
  @UseGuards(AuthGuard('jwt'))
  passport(@Principal() caller: AuthPrincipal) {
    return { clientId: caller.clientId };
  }
}

describe('a DPoP-bound token answered from the verified-token cache', () => {
  let issuer: TestIssuer;
  let key: DpopTestKey;
  let app: INestApplication;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    key = await dpopTestKey();
    app = await listenTestApp({
      imports: [AuthModule.forRoot({ issuer: issuer.issuer, audience: [issuer.audience], realm: 'things' })],
      controllers: [BoundController],
    });
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  it.each(['fast', 'passport'])('on_the_%s_guard_a_cached_token_still_needs_a_good_proof_on_every_request', async (guard) => {
    const token = issuer.sign(issuer.claims({ cnf: { jkt: key.jkt }, jti: guard }));
    const port = (app.getHttpServer().address() as { port: number }).port;
    const url = `http://127.0.0.1:${port}/bound/${guard}`;
    const call = async (htu = url) => {
      const dpop = await proof(key, { htm: 'GET', htu, token });
      return request(app.getHttpServer()).get(`/bound/${guard}`).set('Authorization', `DPoP ${token}`).set('DPoP', dpop);
    };
    const cache = app.get(VerifiedTokenCache);
    const before = cache.size;
    expect(await call()).toMatchObject({ status: 200, body: { clientId: 'caller-app' } });
    expect(cache.size).toBe(before + 1);
    expect(await call()).toMatchObject({ status: 200, body: { clientId: 'caller-app' } });
    const wrongUrl = await call(`http://127.0.0.1:${port}/bound/other`);
    expect(wrongUrl.status).toBe(401);
    expect(wrongUrl.headers['www-authenticate']).toContain('error="invalid_dpop_proof"');
  });

  it('a_handler_that_never_reads_the_principal_still_gets_a_cached_token_with_a_bad_proof_refused', async () => {
    const token = issuer.sign(issuer.claims({ cnf: { jkt: key.jkt }, jti: 'bare' }));
    const port = (app.getHttpServer().address() as { port: number }).port;
    const call = async (htu: string) => {
      const dpop = await proof(key, { htm: 'GET', htu, token });
      return request(app.getHttpServer()).get('/bound/bare').set('Authorization', `DPoP ${token}`).set('DPoP', dpop);
    };
    expect(await call(`http://127.0.0.1:${port}/bound/bare`)).toMatchObject({ status: 200, body: { ok: true } });
    const wrongUrl = await call(`http://127.0.0.1:${port}/bound/other`);
    expect(wrongUrl.status).toBe(401);
    expect(wrongUrl.headers['www-authenticate']).toContain('error="invalid_dpop_proof"');
  });
});

describe('DPoP option assertions', () => {
  it('a_symmetric_proof_algorithm_is_a_startup_error', async () => {
    const issuer = await new TestIssuer().start();
    try {
      await expect(boot(issuer, { dpopProof: { algorithms: ['ES256', 'HS256'] } })).rejects.toThrow(
        "'dpopProof.algorithms' accepts only asymmetric JWS algorithms, not HS256",
      );
      await expect(boot(issuer, { dpop: 'sometimes' as never })).rejects.toThrow("'dpop' must be one of disabled, allowed, required");
    } finally {
      await issuer.close();
    }
  });
});
