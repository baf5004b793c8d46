/**
 * Hostile ways of carrying a token: duplicate and odd Authorization headers, scheme spelling,
 * whitespace, and sizes up to and beyond Node's header limit. Every case states the exact answer,
 * and the process must stay healthy after each one.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { challenge, startApp } from './helpers/app.js';
import { invalidRequest, invalidToken, type Outcome } from './helpers/outcomes.js';
import { generateTestKey, TestIssuer } from '../libs/auth/test/test-issuer.js';

/** RFC 6750 §3: no credentials at all, a challenge without error code. */
const noCredentials: Outcome = {
  status: 401,
  challenge: challenge({}),
  body: { statusCode: 401, error: 'Unauthorized', message: 'Missing bearer token' },
  label: '401 without error code (no credentials)',
};
/** Node's own header limit answers before any application code runs. */
// Node answers 431 and closes at once; on Node 24 the client may see the reset before the answer
// while it is still writing the large header. Either way no application code ran.
const headersTooLarge: Outcome = { status: 431, label: '431 by Node (headers too large)', mayResetConnection: true };
const accepted: Outcome = { status: 200, label: '200 (positive control)' };

const NOT_ONE_TOKEN = invalidRequest('Malformed Authorization header: expected exactly one bearer token');
const TWO_HEADERS = invalidRequest('More than one Authorization header');

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const attacker = generateTestKey('attacker-rsa-key-not-published');

interface Case {
  name: string;
  /** The Authorization header value(s); an array sends the header once per value. */
  authorization: (issuer: TestIssuer) => string | string[];
  headers?: Record<string, string>;
  outcome: Outcome;
}

const duplicates: Case[] = [
  {
    name: 'two Authorization headers carrying the same valid token',
    authorization: (i) => {
      const t = i.sign();
      return [`Bearer ${t}`, `Bearer ${t}`];
    },
    outcome: TWO_HEADERS,
  },
  {
    name: 'two Authorization headers, a valid token first and a forged one second',
    authorization: (i) => [`Bearer ${i.sign()}`, `Bearer ${i.sign(i.claims(), {}, attacker)}`],
    outcome: TWO_HEADERS,
  },
  {
    name: 'two Authorization headers, a forged token first and a valid one second',
    authorization: (i) => [`Bearer ${i.sign(i.claims(), {}, attacker)}`, `Bearer ${i.sign()}`],
    outcome: TWO_HEADERS,
  },
  {
    name: 'two Authorization headers, Basic credentials first and a valid bearer token second',
    authorization: (i) => ['Basic dXNlcjpwYXNz', `Bearer ${i.sign()}`],
    outcome: TWO_HEADERS,
  },
];

const schemes: Case[] = [
  { name: 'a valid token under the lowercase scheme "bearer"', authorization: (i) => `bearer ${i.sign()}`, outcome: accepted },
  { name: 'a valid token under the uppercase scheme "BEARER"', authorization: (i) => `BEARER ${i.sign()}`, outcome: accepted },
  {
    name: 'an alg "none" token under the lowercase scheme "bearer"',
    authorization: (i) => `bearer ${b64({ alg: 'none', kid: i.signingKey.kid })}.${b64(i.claims())}.${b64('x')}`,
    outcome: invalidToken('Unexpected signing algorithm'),
  },
  {
    name: 'a forged token under the uppercase scheme "BEARER"',
    authorization: (i) => `BEARER ${i.sign(i.claims(), { kid: i.signingKey.kid }, attacker)}`,
    outcome: invalidToken('Invalid signature'),
  },
  { name: 'the scheme "Bearer" with no token', authorization: () => 'Bearer', outcome: NOT_ONE_TOKEN },
  { name: 'the scheme "Bearer" followed by a space and no token', authorization: () => 'Bearer ', outcome: NOT_ONE_TOKEN },
  { name: 'a valid token after two spaces', authorization: (i) => `Bearer  ${i.sign()}`, outcome: NOT_ONE_TOKEN },
  { name: 'a valid token followed by a second word', authorization: (i) => `Bearer ${i.sign()} extra`, outcome: NOT_ONE_TOKEN },
  { name: 'a valid token separated from the scheme by a tab', authorization: (i) => `Bearer\t${i.sign()}`, outcome: noCredentials },
  { name: 'a valid token glued to the scheme without a space', authorization: (i) => `Bearer${i.sign()}`, outcome: noCredentials },
  { name: 'an empty Authorization header', authorization: () => '', outcome: noCredentials },
];

const sizes: Case[] = [
  {
    name: "a genuinely signed 10 KB token (over the 8 KB token limit, under Node's header limit)",
    authorization: (i) => `Bearer ${i.sign(i.claims({ padding: 'p'.repeat(10_000) }))}`,
    outcome: invalidToken('Token too large'),
  },
  {
    name: 'a 100 KB token',
    authorization: (i) => `Bearer ${i.sign(i.claims({ padding: 'p'.repeat(100_000) }))}`,
    outcome: headersTooLarge,
  },
  {
    name: 'a valid token next to a 20 KB extra header',
    authorization: (i) => `Bearer ${i.sign()}`,
    headers: { 'X-Padding': 'p'.repeat(20_000) },
    outcome: headersTooLarge,
  },
  {
    name: 'a valid token next to 200 extra headers of 100 bytes',
    authorization: (i) => `Bearer ${i.sign()}`,
    headers: Object.fromEntries(Array.from({ length: 200 }, (_, n) => [`X-Pad-${n}`, 'p'.repeat(100)])),
    outcome: headersTooLarge,
  },
];

const families: Array<[family: string, cases: Case[]]> = [
  ['duplicate Authorization headers (RFC 6750 §2: one method, one token)', duplicates],
  ['scheme spelling and whitespace (RFC 6750 §2.1, RFC 7235 §2.1)', schemes],
  ['oversized tokens and headers', sizes],
];

describe('hostile Authorization headers against the real AppModule', () => {
  let issuer: TestIssuer;
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    app = await startApp(issuer);
  });
  afterAll(async () => {
    await app?.close();
    await issuer?.close();
  });

  afterEach(async () => {
    await http().get('/health').timeout(3000).expect(200);
    await http().get('/internal/data').set('Authorization', `Bearer ${issuer.sign()}`).timeout(3000).expect(200);
  });

  for (const [family, cases] of families) {
    describe(family, () => {
      for (const c of cases) {
        it(`${c.name} is answered ${c.outcome.label}`, async () => {
          let res;
          try {
            res = await http()
              .get('/internal/data')
              .set({ ...(c.headers ?? {}), Authorization: c.authorization(issuer) as string })
              .timeout(3000);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? '';
            if (c.outcome.mayResetConnection && ['ECONNRESET', 'EPIPE'].includes(code)) return;
            throw err;
          }
          expect(res.status).toBe(c.outcome.status);
          if (c.outcome.challenge !== undefined) expect(res.headers['www-authenticate']).toBe(c.outcome.challenge);
          if (c.outcome.body !== undefined) expect(res.body).toEqual(c.outcome.body);
        });
      }
    });
  }
});
