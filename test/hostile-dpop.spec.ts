/**
 * Hostile DPoP proofs (RFC 9449 §4.3, §7, §11.1) against the real AppModule on both HTTP platforms:
 * each case states the exact answer, and the process must still accept a valid DPoP request after it.
 * Replay across replicas sharing Redis and the replay store's outage live in dpop-replay-redis.spec.ts.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { challenge, startApp } from './helpers/app.js';
import { ath, dpopTestKey, type DpopTestKey, handMadeProof, hmacSigner, proof } from './helpers/dpop.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

const ALGS = 'ES256 ES384 EdDSA Ed25519 PS256 RS256';
const REALM = 'nest-m2m';

interface Outcome {
  status: number;
  challenge?: string;
  label: string;
}
const accepted: Outcome = { status: 200, label: '200 (positive control)' };
/** RFC 9449 §7.1 in `allowed` mode: the DPoP challenge, then the Bearer one. */
const dpopRefusal = (error: string, description: string): Outcome => ({
  status: 401,
  challenge: `DPoP algs="${ALGS}", error="${error}", error_description="${description}", Bearer realm="${REALM}"`,
  label: `401 ${error} "${description}"`,
});
const badProof = (description: string) => dpopRefusal('invalid_dpop_proof', description);

interface World {
  issuer: TestIssuer;
  key: DpopTestKey;
  otherKey: DpopTestKey;
  /** http://127.0.0.1:<port> of the app. */
  origin: string;
  port: number;
}

interface Request {
  method?: 'get' | 'delete';
  path?: string;
  authorization: string;
  dpop?: string | string[];
}

interface Case {
  name: string;
  request: (w: World) => Promise<Request>;
  outcome: Outcome;
}

const boundToken = (w: World, key = w.key) => w.issuer.sign(w.issuer.claims({ cnf: { jkt: key.jkt } }));
const htu = (w: World, path = '/internal/data') => `${w.origin}${path}`;
/** A DPoP request whose proof is valid except for what `edit` changes. */
const dpopRequest =
  (
    edit: {
      claims?: Record<string, unknown>;
      header?: Record<string, unknown>;
      htm?: string;
      htu?: (w: World) => string;
      path?: string;
      key?: (w: World) => DpopTestKey;
    } = {},
  ) =>
  async (w: World): Promise<Request> => {
    const token = boundToken(w);
    const dpop = await proof(edit.key?.(w) ?? w.key, {
      htm: edit.htm ?? 'GET',
      htu: edit.htu?.(w) ?? htu(w),
      token,
      claims: edit.claims,
      header: edit.header,
    });
    return { path: edit.path, authorization: `DPoP ${token}`, dpop };
  };
const now = () => Math.floor(Date.now() / 1000);

const cases: Case[] = [
  { name: 'a valid DPoP-bound token with a valid proof', request: dpopRequest(), outcome: accepted },
  {
    name: 'a DPoP-bound token without a DPoP header',
    request: async (w) => ({ authorization: `DPoP ${boundToken(w)}` }),
    outcome: badProof('Missing DPoP proof'),
  },
  {
    name: 'two DPoP headers',
    request: async (w) => {
      const token = boundToken(w);
      const one = () => proof(w.key, { htm: 'GET', htu: htu(w), token });
      return { authorization: `DPoP ${token}`, dpop: [await one(), await one()] };
    },
    outcome: badProof('More than one DPoP proof'),
  },
  { name: 'a proof with typ JWT', request: dpopRequest({ header: { typ: 'JWT' } }), outcome: badProof('Invalid DPoP proof typ') },
  { name: 'a proof without typ', request: dpopRequest({ header: { typ: undefined } }), outcome: badProof('Invalid DPoP proof typ') },
  {
    name: 'a proof with alg none and no signature',
    request: async (w) => {
      const token = boundToken(w);
      const dpop = handMadeProof(
        { alg: 'none', typ: 'dpop+jwt', jwk: w.key.publicJwk },
        { jti: 'n1', htm: 'GET', htu: htu(w), iat: now(), ath: ath(token) },
      );
      return { authorization: `DPoP ${token}`, dpop };
    },
    outcome: badProof('Unsupported DPoP proof algorithm'),
  },
  {
    name: 'a proof with alg HS256 keyed with the public key',
    request: async (w) => {
      const token = boundToken(w);
      const dpop = handMadeProof(
        { alg: 'HS256', typ: 'dpop+jwt', jwk: w.key.publicJwk },
        { jti: 'h1', htm: 'GET', htu: htu(w), iat: now(), ath: ath(token) },
        hmacSigner(JSON.stringify(w.key.publicJwk)),
      );
      return { authorization: `DPoP ${token}`, dpop };
    },
    outcome: badProof('Unsupported DPoP proof algorithm'),
  },
  {
    name: 'a proof carrying the private key in jwk',
    request: async (w) => {
      const token = boundToken(w);
      const dpop = await proof(w.key, { htm: 'GET', htu: htu(w), token, header: { jwk: w.key.privateJwk } });
      return { authorization: `DPoP ${token}`, dpop };
    },
    outcome: badProof('DPoP proof jwk must be a public key'),
  },
  { name: 'a proof without jwk', request: dpopRequest({ header: { jwk: undefined } }), outcome: badProof('DPoP proof has no jwk') },
  {
    name: 'a proof whose signature was altered',
    request: async (w) => {
      const r = await dpopRequest()(w);
      const d = r.dpop as string;
      const i = d.lastIndexOf('.') + 5;
      return { ...r, dpop: d.slice(0, i) + (d[i] === 'A' ? 'B' : 'A') + d.slice(i + 1) };
    },
    outcome: badProof('Invalid DPoP proof signature'),
  },
  {
    name: 'a proof signed by another key than its jwk',
    request: dpopRequest({ key: (w) => ({ ...w.otherKey, publicJwk: w.key.publicJwk }) }),
    outcome: badProof('Invalid DPoP proof signature'),
  },
  { name: 'a proof whose htm is POST on a GET', request: dpopRequest({ htm: 'POST' }), outcome: badProof('DPoP proof htm mismatch') },
  { name: 'a proof whose htm is get in lower case', request: dpopRequest({ htm: 'get' }), outcome: badProof('DPoP proof htm mismatch') },
  {
    name: 'a proof whose htu names another path',
    request: dpopRequest({ htu: (w) => htu(w, '/internal/documents/1') }),
    outcome: badProof('DPoP proof htu mismatch'),
  },
  {
    name: 'a proof whose htu adds a trailing slash',
    request: dpopRequest({ htu: (w) => htu(w, '/internal/data/') }),
    outcome: badProof('DPoP proof htu mismatch'),
  },
  {
    name: 'a proof whose htu path differs in case',
    request: dpopRequest({ htu: (w) => htu(w, '/internal/DATA') }),
    outcome: badProof('DPoP proof htu mismatch'),
  },
  {
    name: 'a proof whose htu has the https scheme',
    request: dpopRequest({ htu: (w) => `https://127.0.0.1:${w.port}/internal/data` }),
    outcome: badProof('DPoP proof htu mismatch'),
  },
  {
    name: 'a proof whose htu drops the port (the default port is another one)',
    request: dpopRequest({ htu: () => 'http://127.0.0.1/internal/data' }),
    outcome: badProof('DPoP proof htu mismatch'),
  },
  {
    name: 'a proof whose htu names another host',
    request: dpopRequest({ htu: (w) => `http://localhost:${w.port}/internal/data` }),
    outcome: badProof('DPoP proof htu mismatch'),
  },
  {
    name: 'a proof whose htu is not a URL',
    request: dpopRequest({ htu: () => 'internal/data' }),
    outcome: badProof('DPoP proof htu mismatch'),
  },
  {
    name: 'a proof whose htu has an upper-case scheme (normalised)',
    request: dpopRequest({ htu: (w) => `HTTP://127.0.0.1:${w.port}/internal/data` }),
    outcome: accepted,
  },
  {
    name: 'a proof whose htu carries a query and a fragment (ignored)',
    request: dpopRequest({ htu: (w) => htu(w, '/internal/data?x=1#f') }),
    outcome: accepted,
  },
  { name: 'a request with a query and a proof htu without it', request: dpopRequest({ path: '/internal/data?x=1' }), outcome: accepted },
  {
    name: 'a proof with iat 5 minutes old',
    request: dpopRequest({ claims: { iat: now() - 300 } }),
    outcome: badProof('DPoP proof iat outside the accepted window'),
  },
  {
    name: 'a proof with iat 5 minutes ahead',
    request: dpopRequest({ claims: { iat: now() + 300 } }),
    outcome: badProof('DPoP proof iat outside the accepted window'),
  },
  {
    name: 'a proof with iat as a string',
    request: dpopRequest({ claims: { iat: String(now()) } }),
    outcome: badProof('DPoP proof iat outside the accepted window'),
  },
  {
    name: 'a proof without jti',
    request: dpopRequest({ claims: { jti: undefined } }),
    outcome: badProof('DPoP proof jti missing or invalid'),
  },
  {
    name: 'a proof whose ath hashes another token',
    request: dpopRequest({ claims: { ath: ath('another-token') } }),
    outcome: badProof('DPoP proof ath mismatch'),
  },
  { name: 'a proof without ath', request: dpopRequest({ claims: { ath: undefined } }), outcome: badProof('DPoP proof ath mismatch') },
  {
    name: 'a valid proof by a key other than the one in cnf.jkt',
    request: dpopRequest({ key: (w) => w.otherKey }),
    outcome: dpopRefusal('invalid_token', 'Invalid DPoP key binding'),
  },
  {
    name: 'a replayed proof (same jti) on the same replica',
    request: async (w) => {
      const r = await dpopRequest()(w);
      const first = await send(w, r);
      expect(first.status).toBe(200);
      return r;
    },
    outcome: badProof('DPoP proof replayed'),
  },
  {
    name: 'a DPoP-bound token sent as Bearer',
    request: async (w) => ({ authorization: `Bearer ${boundToken(w)}` }),
    outcome: {
      status: 401,
      challenge: challenge({ error: 'invalid_token', description: 'DPoP-bound token presented as Bearer' }),
      label: '401 invalid_token (Bearer challenge)',
    },
  },
  {
    name: 'a DPoP-bound token sent as Bearer after it was cached by a DPoP request',
    request: async (w) => {
      const r = await dpopRequest()(w);
      expect((await send(w, r)).status).toBe(200);
      return { authorization: r.authorization.replace(/^DPoP /, 'Bearer ') };
    },
    outcome: {
      status: 401,
      challenge: challenge({ error: 'invalid_token', description: 'DPoP-bound token presented as Bearer' }),
      label: '401 invalid_token (Bearer challenge)',
    },
  },
  {
    name: 'a cached DPoP-bound token sent again without a proof',
    request: async (w) => {
      const r = await dpopRequest()(w);
      expect((await send(w, r)).status).toBe(200);
      return { authorization: r.authorization };
    },
    outcome: badProof('Missing DPoP proof'),
  },
  {
    name: 'a cached DPoP-bound token with a proof by another key',
    request: async (w) => {
      const r = await dpopRequest()(w);
      expect((await send(w, r)).status).toBe(200);
      const token = r.authorization.slice(5);
      return { authorization: r.authorization, dpop: await proof(w.otherKey, { htm: 'GET', htu: htu(w), token }) };
    },
    outcome: dpopRefusal('invalid_token', 'Invalid DPoP key binding'),
  },
  {
    name: 'an unbound token sent with the DPoP scheme',
    request: async (w) => {
      const token = w.issuer.sign();
      return { authorization: `DPoP ${token}`, dpop: await proof(w.key, { htm: 'GET', htu: htu(w), token }) };
    },
    outcome: dpopRefusal('invalid_token', 'Token is not DPoP-bound'),
  },
  {
    name: 'an unbound Bearer token (allowed mode)',
    request: async (w) => ({ authorization: `Bearer ${w.issuer.sign()}` }),
    outcome: accepted,
  },
];

function send(w: World & { app?: INestApplication }, r: Request) {
  const req = request((w as { app: INestApplication }).app.getHttpServer())
    [r.method ?? 'get'](r.path ?? '/internal/data')
    .set('Authorization', r.authorization);
  if (r.dpop !== undefined) req.set('DPoP', r.dpop as string);
  return req.timeout(5000);
}

describe.each(['express', 'fastify'])('hostile DPoP proofs against the real AppModule on %s (AUTH_DPOP=allowed)', (platform) => {
  const w = {} as World & { app: INestApplication };

  beforeAll(async () => {
    w.issuer = await new TestIssuer().start();
    w.key = await dpopTestKey();
    w.otherKey = await dpopTestKey();
    w.app = await startApp(w.issuer, { HTTP_PLATFORM: platform });
    w.port = (w.app.getHttpServer().address() as { port: number }).port;
    w.origin = `http://127.0.0.1:${w.port}`;
  });
  afterAll(async () => {
    await w.app?.close();
    await w.issuer?.close();
  });

  afterEach(async () => {
    expect((await send(w, await dpopRequest()(w))).status).toBe(200);
  });

  it('runs_on_the_platform', () => {
    expect(w.app.getHttpAdapter().getType()).toBe(platform);
  });

  for (const c of cases) {
    it(`${c.name} is answered ${c.outcome.label}`, async () => {
      const res = await send(w, await c.request(w));
      expect(res.status).toBe(c.outcome.status);
      if (c.outcome.challenge !== undefined) expect(res.headers['www-authenticate']).toBe(c.outcome.challenge);
      if (res.status >= 400) {
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.body).toMatchObject({ statusCode: res.status });
      }
    });
  }
});

describe.each(['express', 'fastify'])('AUTH_DPOP=required on %s', (platform) => {
  const w = {} as World & { app: INestApplication };

  beforeAll(async () => {
    w.issuer = await new TestIssuer().start();
    w.key = await dpopTestKey();
    w.otherKey = await dpopTestKey();
    w.app = await startApp(w.issuer, { HTTP_PLATFORM: platform, AUTH_DPOP: 'required' });
    w.port = (w.app.getHttpServer().address() as { port: number }).port;
    w.origin = `http://127.0.0.1:${w.port}`;
  });
  afterAll(async () => {
    await w.app?.close();
    await w.issuer?.close();
  });

  it('a_valid_dpop_request_is_accepted', async () => {
    expect((await send(w, await dpopRequest()(w))).status).toBe(200);
  });

  it('a_bearer_token_is_refused_with_the_dpop_challenge_only', async () => {
    const res = await send(w, { authorization: `Bearer ${w.issuer.sign()}` });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      `DPoP algs="${ALGS}", error="invalid_token", error_description="DPoP-bound token required"`,
    );
  });

  it('a_request_without_credentials_gets_the_dpop_challenge', async () => {
    const res = await request(w.app.getHttpServer()).get('/internal/data');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(`DPoP algs="${ALGS}"`);
  });

  it('a_bad_proof_gets_the_dpop_challenge_without_bearer', async () => {
    const res = await send(w, await dpopRequest({ htm: 'POST' })(w));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      `DPoP algs="${ALGS}", error="invalid_dpop_proof", error_description="DPoP proof htm mismatch"`,
    );
  });
});

describe('AUTH_DPOP=disabled', () => {
  const w = {} as World & { app: INestApplication };

  beforeAll(async () => {
    w.issuer = await new TestIssuer().start();
    w.key = await dpopTestKey();
    w.app = await startApp(w.issuer, { AUTH_DPOP: 'disabled' });
    w.port = (w.app.getHttpServer().address() as { port: number }).port;
    w.origin = `http://127.0.0.1:${w.port}`;
  });
  afterAll(async () => {
    await w.app?.close();
    await w.issuer?.close();
  });

  it('the_dpop_scheme_carries_no_credentials', async () => {
    const res = await send(w, await dpopRequest()(w));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(challenge({}));
  });

  it('a_dpop_bound_token_is_still_refused_as_bearer', async () => {
    const res = await send(w, { authorization: `Bearer ${boundToken(w)}` });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      challenge({ error: 'invalid_token', description: 'DPoP-bound token presented as Bearer' }),
    );
  });
});
